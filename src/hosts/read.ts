// Sense: read host config files (--mcp-config, and the OpenClaw gateway's own config) into server entries.
import { errorCode, readEnviron, readLink } from "../proc/read.js";
import { ConfigSyntaxError } from "./json5.js";
import { looksLikeOpenclaw, openclawConfigPath, parseConfigText, parsePasswdHome, type OpenclawConfigHow, type ServerEntry } from "./parse.js";
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
  /** Default "/etc/passwd"; tests point it at a fixture. */
  passwdPath?: string;
}

function readFile(path: string, ownerUid?: number): { text: string } | { error: string } {
  try {
    return { text: readSmallFile(path, undefined, { ownerUid }) };
  } catch (err) {
    return { error: errorCode(err) ?? String(err) };
  }
}

function load(path: string, how: ConfigSource["how"], ownerUid?: number): { source: ConfigSource; entries: ServerEntry[] } {
  const read = readFile(path, ownerUid);
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
  const g = options.gateway;
  const environ = readEnviron(options.procRoot, g.pid);
  if (!looksLikeOpenclaw(environ, g.comm, g.argv)) return result;
  let home: string | null = null;
  if (g.uid !== null) {
    const passwd = readFile(options.passwdPath ?? "/etc/passwd");
    if ("text" in passwd) home = parsePasswdHome(passwd.text, g.uid);
  }
  const found = openclawConfigPath(environ, home, readLink(`${options.procRoot}/${g.pid}/cwd`));
  if (found === null || options.paths.includes(found.path)) return result;
  // The path comes from the gateway's environment or home: only a file its own user owns is its config
  // (a reaper running as root must not be pointed at another user's or root's files).
  const { source, entries } = load(found.path, found.how, g.uid ?? -1);
  result.sources.push(source);
  result.entries.push(...entries);
  return result;
}
