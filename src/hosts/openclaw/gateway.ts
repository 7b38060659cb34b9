// Sense: what an OpenClaw gateway says of its MCP runtimes: its RPC port and token, mcp.sessionIdleTtlMs
// (from its config), and the live-runtime limit its installed package defines (from the package's dist/).
// Parsing is pure; the reads go through /proc/PID/root, as the gateway sees its files.
import { readdirSync } from "node:fs";
import { readSmallFile } from "../../files.js";
import type { Snapshot } from "../../proc/snapshot.js";
import { inGateway, why, type GatewayView } from "../adapter.js";
import { parseJson5 } from "../json5.js";
import { openclawConfigPath } from "./config.js";

/** openclaw's default gateway port (2026.4.9 and 2026.9.6: DEFAULT_GATEWAY_PORT). */
export const DEFAULT_GATEWAY_PORT = 18789;
/**
 * The live MCP runtime limit of openclaw 2026.9.6 (dist/agent-bundle-mcp-manager-api-*.mjs:
 * `liveRuntimeSlots.size >= 256`), used when the installed package's own number cannot be read.
 */
export const DEFAULT_RUNTIME_LIMIT = 256;

export interface GatewayFacts {
  /** The config file read (as the gateway names it), or null when none was found. */
  configPath: string | null;
  /** Why the config could not be read, or null. */
  configError: string | null;
  port: number;
  /** The shared token the gateway's RPC accepts, or why it cannot be had. */
  token: { value: string } | { why: string };
  /** mcp.sessionIdleTtlMs as the gateway resolves it (a finite number >= 0, floored; else 0 = off). */
  idleTtlMs: number;
  /**
   * The package's session MCP runtime manager: its live-runtime limit and where the number came from;
   * null when the gateway has none (openclaw 2026.4.x, whose runtimes have no limit and no idle TTL).
   */
  runtimes: { limit: number; source: string; packageDir: string; version: string | null } | null;
}

function get(doc: unknown, ...path: string[]): unknown {
  let v = doc;
  for (const k of path) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** `${VAR}` (OpenClaw's env substitution in config strings) from the gateway's environment. */
function substitute(text: string, environ: ReadonlyMap<string, string> | null): string | null {
  let missing = false;
  const out = text.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_, name: string) => {
    const v = environ?.get(name);
    if (v === undefined) missing = true;
    return v ?? "";
  });
  return missing ? null : out;
}

/** Port, token and TTL from the parsed config and the gateway's environment. Pure. */
export function gatewaySettings(doc: unknown, environ: ReadonlyMap<string, string> | null): Pick<GatewayFacts, "port" | "token" | "idleTtlMs"> {
  const envPort = Number(environ?.get("OPENCLAW_GATEWAY_PORT"));
  const cfgPort = get(doc, "gateway", "port");
  const port = Number.isInteger(cfgPort) && (cfgPort as number) > 0 ? (cfgPort as number) : Number.isInteger(envPort) && envPort > 0 ? envPort : DEFAULT_GATEWAY_PORT;
  const mode = get(doc, "gateway", "auth", "mode");
  const raw = get(doc, "gateway", "auth", "token");
  let token: GatewayFacts["token"];
  if (mode !== undefined && mode !== "token") token = { why: `gateway.auth.mode is ${JSON.stringify(mode)}, not "token"` };
  else if (typeof raw === "string" && raw !== "") {
    const value = substitute(raw, environ);
    token = value ? { value } : { why: "gateway.auth.token names an environment variable the gateway does not have" };
  } else if (raw !== undefined && raw !== null && typeof raw !== "string") token = { why: "gateway.auth.token is a secret reference, not a plain token" };
  else {
    const env = environ?.get("OPENCLAW_GATEWAY_TOKEN");
    token = env ? { value: env } : { why: "no gateway.auth.token in its config and no OPENCLAW_GATEWAY_TOKEN in its environment" };
  }
  const ttl = get(doc, "mcp", "sessionIdleTtlMs");
  const idleTtlMs = typeof ttl === "number" && Number.isFinite(ttl) && ttl >= 0 ? Math.floor(ttl) : 0;
  return { port, token, idleTtlMs };
}

/** The live-runtime limit in the text of dist/agent-bundle-mcp-manager-api-*.mjs, or null. Pure. */
export function parseRuntimeLimit(text: string): number | null {
  const m = /live runtime limit \((\d+)\)/.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * The openclaw package directory of a 2026.9-style tree: the spawn broker or a relay runs
 * `<pkg>/dist/process/spawn-broker/worker.js` or `<pkg>/dist/process/supervisor/service-child-relay.js`.
 */
export function packageDirOf(snapshot: Snapshot): string | null {
  for (const p of snapshot.procs.values()) {
    for (const word of p.argv.slice(0, 3)) {
      const m = /^(\/.*)\/dist\/process\/(?:spawn-broker\/worker|supervisor\/service-child-relay)\.[cm]?js$/.exec(word);
      if (m) return m[1] as string;
    }
  }
  return null;
}

/** Bytes read of one dist file at most (the 2026.9.6 manager file is ~40 KB). */
const MAX_DIST_FILE = 1 << 20;

function readRuntimes(view: GatewayView, snapshot: Snapshot): GatewayFacts["runtimes"] {
  const pkg = packageDirOf(snapshot);
  if (pkg === null) return null;
  let version: string | null = null;
  try {
    const v = (JSON.parse(readSmallFile(inGateway(view, `${pkg}/package.json`), MAX_DIST_FILE)) as { version?: unknown }).version;
    version = typeof v === "string" ? v : null;
  } catch {
    version = null;
  }
  try {
    const dist = inGateway(view, `${pkg}/dist`);
    for (const name of readdirSync(dist)) {
      if (!/^agent-bundle-mcp-manager-api-.*\.mjs$/.test(name)) continue;
      const limit = parseRuntimeLimit(readSmallFile(`${dist}/${name}`, MAX_DIST_FILE));
      if (limit !== null) return { limit, source: `${pkg}/dist/${name}`, packageDir: pkg, version };
    }
  } catch {
    // fall through to the default below
  }
  return { limit: DEFAULT_RUNTIME_LIMIT, source: `openclaw 2026.9.6's (not found in ${pkg}/dist)`, packageDir: pkg, version };
}

/**
 * Reads the gateway's facts. Never throws: what cannot be read is said in the result. `readConfig` false
 * (--no-config): the config is not read (the token can still come from the gateway's environment).
 */
export function readGatewayFacts(view: GatewayView, snapshot: Snapshot, readConfig = true): GatewayFacts {
  const found = readConfig ? openclawConfigPath(view.environ, view.home, view.cwd) : null;
  let doc: unknown = {};
  let configError: string | null = null;
  if (!readConfig) configError = "its config is not read (--no-config)";
  else if (found === null) configError = "its config path is not known (no OPENCLAW_CONFIG_PATH, OPENCLAW_STATE_DIR or home)";
  else {
    try {
      // Same rule as config discovery: only a file the gateway's own user owns is its config.
      doc = parseJson5(readSmallFile(inGateway(view, found.path), undefined, { ownerUid: view.uid ?? -1 }));
    } catch (err) {
      configError = `cannot read ${found.path}: ${why(err)}`;
    }
  }
  const settings = gatewaySettings(doc, view.environ);
  const token = "value" in settings.token ? settings.token : { why: configError ? `${configError}, and no OPENCLAW_GATEWAY_TOKEN in its environment` : settings.token.why };
  return { configPath: found?.path ?? null, configError, ...settings, token, runtimes: readRuntimes(view, snapshot) };
}
