// Sense: read host config files (--mcp-config, and the OpenClaw gateway's own config) into server entries.
import { errorCode } from "../proc/read.js";
import { gatewayView, inGateway, type GatewayView } from "./adapter.js";
import { ConfigSyntaxError } from "./json5.js";
import { looksLikeOpenclaw, openclawConfigPath, type OpenclawConfigHow } from "./openclaw/config.js";
import { parseConfigText, type ServerEntry } from "./parse.js";
import { readSmallFile } from "../files.js";

/** An --mcp-config file that cannot be read or parsed: a usage error (exit 2), nothing is signalled. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** One config file the pass looked at, for the report. */
export interface ConfigSource {
  path: string;
  /** "option": given with --mcp-config; else how OpenClaw discovery found the path. */
  how: "option" | OpenclawConfigHow;
  /** Stdio servers it defines. */
  servers: number;
  /** Entries left out (remote, disabled, malformed), and why. */
  skipped: { name: string; why: string }[];
  /** Why a discovered file gave nothing (missing, unreadable, not parseable); null when it was read. */
  error: string | null;
}

export interface LoadedConfigs {
  entries: ServerEntry[];
  sources: ConfigSource[];
}

export interface LoadConfigsOptions {
  /** --mcp-config paths, in order. Default []. */
  paths: readonly string[];
  /** OpenClaw discovery from the gateway's environment and user (off with --no-config). Default true. */
  discover: boolean;
  procRoot: string;
  gateway: { pid: number; uid: number | null; comm: string; argv: readonly string[] };
  /** Default: the gateway's own /etc/passwd (through /proc/PID/root); tests point it at a fixture. */
  passwdPath?: string;
  /** The gateway as already read this pass (environment, home, root); read here when absent. */
  view?: GatewayView;
}

function readFile(path: string, ownerUid?: number): { text: string } | { error: string } {
  try {
    return { text: readSmallFile(path, undefined, { ownerUid }) };
  } catch (err) {
    return { error: errorCode(err) ?? String(err) };
  }
}

/** `readPath`: where the file is opened (a discovered one through the gateway's root); `path` is what the report names. */
function load(path: string, how: ConfigSource["how"], ownerUid?: number, readPath = path): { source: ConfigSource; entries: ServerEntry[] } {
  const read = readFile(readPath, ownerUid);
  if ("error" in read) return { source: { path, how, servers: 0, skipped: [], error: `cannot read: ${read.error}` }, entries: [] };
  try {
    const parsed = parseConfigText(read.text, path);
    return { source: { path, how, servers: parsed.entries.length, skipped: parsed.skipped, error: null }, entries: parsed.entries };
  } catch (err) {
    if (!(err instanceof ConfigSyntaxError)) throw err;
    return { source: { path, how, servers: 0, skipped: [], error: `not valid JSON5: ${err.message}` }, entries: [] };
  }
}

/**
 * Reads every --mcp-config file (a missing or broken one is a ConfigError) and, when discovery is on
 * and the gateway looks like OpenClaw, the config it reads itself (a missing one is only noted).
 */
export function loadConfigs(options: LoadConfigsOptions): LoadedConfigs {
  const result: LoadedConfigs = { entries: [], sources: [] };
  for (const path of options.paths) {
    const { source, entries } = load(path, "option");
    if (source.error !== null) throw new ConfigError(`--mcp-config ${path}: ${source.error}`);
    result.sources.push(source);
    result.entries.push(...entries);
  }
  if (!options.discover) return result;
  const view = options.view ?? gatewayView(options.procRoot, options.gateway, options.passwdPath);
  if (!looksLikeOpenclaw(view.environ, view.comm, view.argv)) return result;
  const found = openclawConfigPath(view.environ, view.home, view.cwd);
  if (found === null || options.paths.includes(found.path)) return result;
  // The path comes from the gateway's environment or home: only a file its own user owns is its config
  // (a reaper running as root must not be pointed at another user's or root's files).
  // Read as the gateway sees it (through /proc/PID/root): a gateway in a container has its own files.
  const { source, entries } = load(found.path, found.how, view.uid ?? -1, inGateway(view, found.path));
  result.sources.push(source);
  result.entries.push(...entries);
  return result;
}
