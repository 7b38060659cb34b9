// Sense (pure): MCP server definitions out of host config documents (where each host keeps its own: src/hosts/<host>/).
import { parseJson5 } from "./json5.js";

/** Which document shape an entry was read from. */
export type ConfigShape = "mcp.servers" | "mcpServers" | "servers" | "projects.*.mcpServers";

/** One stdio MCP server as a host config defines it. */
export interface ServerEntry {
  /** The key it is defined under: the type label the report uses. */
  name: string;
  command: string;
  args: string[];
  /** Environment the host adds when it starts the server. */
  env: Record<string, string>;
  /** Working directory (`cwd` or `workingDirectory`), or null when the host's own is used. */
  cwd: string | null;
  /** The config file that defined it. */
  source: string;
  shape: ConfigShape;
}

export interface ConfigServers {
  entries: ServerEntry[];
  /** Entries that are not stdio servers (remote `url`, no `command`) or are malformed, and why. */
  skipped: { name: string; why: string }[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Numbers and booleans in args/env are what the user meant as text; anything else is malformed. */
function asText(v: unknown): string | null {
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : null;
}

function entryOf(name: string, def: unknown, source: string, shape: ConfigShape, skipped: ConfigServers["skipped"]): ServerEntry | null {
  if (!isObject(def)) {
    skipped.push({ name, why: "not an object" });
    return null;
  }
  if (def.disabled === true || def.enabled === false) {
    skipped.push({ name, why: "disabled" });
    return null;
  }
  // OpenClaw: stdio when it has `command` and no `url`. VS Code: `type` "http"/"sse" are remote.
  if (def.url !== undefined || def.serverUrl !== undefined || (typeof def.type === "string" && def.type !== "stdio")) {
    skipped.push({ name, why: "remote server (url), not a stdio process" });
    return null;
  }
  if (typeof def.command !== "string" || def.command.trim() === "") {
    skipped.push({ name, why: "no command" });
    return null;
  }
  const args: string[] = [];
  if (def.args !== undefined) {
    if (!Array.isArray(def.args)) {
      skipped.push({ name, why: "args is not a list" });
      return null;
    }
    for (const a of def.args) {
      const t = asText(a);
      if (t === null) {
        skipped.push({ name, why: "args holds a non-text value" });
        return null;
      }
      args.push(t);
    }
  }
  const env: Record<string, string> = {};
  if (isObject(def.env)) {
    for (const [k, v] of Object.entries(def.env)) {
      const t = asText(v);
      if (t !== null) env[k] = t;
    }
  }
  const cwd = typeof def.cwd === "string" ? def.cwd : typeof def.workingDirectory === "string" ? def.workingDirectory : null;
  return { name, command: def.command, args, env, cwd, source, shape };
}

function collect(map: unknown, source: string, shape: ConfigShape, out: ConfigServers): void {
  if (!isObject(map)) return;
  for (const [name, def] of Object.entries(map)) {
    const entry = entryOf(name, def, source, shape, out.skipped);
    if (entry) out.entries.push(entry);
  }
}

/**
 * Every stdio server a host config document defines: OpenClaw's openclaw.json and VS Code's settings
 * (`mcp.servers`), Claude Desktop / Claude Code / Cursor (`mcpServers`, and Claude Code's per-project
 * `projects.<dir>.mcpServers`), VS Code's .vscode/mcp.json (`servers`).
 */
export function serversInConfig(doc: unknown, source: string): ConfigServers {
  const out: ConfigServers = { entries: [], skipped: [] };
  if (!isObject(doc)) return out;
  if (isObject(doc.mcp)) collect(doc.mcp.servers, source, "mcp.servers", out);
  collect(doc.mcpServers, source, "mcpServers", out);
  collect(doc.servers, source, "servers", out);
  if (isObject(doc.projects)) for (const project of Object.values(doc.projects)) if (isObject(project)) collect(project.mcpServers, source, "projects.*.mcpServers", out);
  return out;
}

/** Reads a config's text (JSON with the comments and trailing commas hosts accept). Throws ConfigSyntaxError. */
export function parseConfigText(text: string, source: string): ConfigServers {
  return serversInConfig(parseJson5(text), source);
}

/** The home directory of `uid` in /etc/passwd text, or null. */
export function parsePasswdHome(text: string, uid: number): string | null {
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length >= 7 && f[2] === String(uid) && f[5]) return f[5];
  }
  return null;
}
