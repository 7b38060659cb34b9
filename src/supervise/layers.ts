// Option precedence for the loop and the options file: command line > options file > environment > default.
// Computed from commander's own option list, so every option with an MCP_REAPER_* variable takes part.
import type { Command, Option } from "commander";
import { UsageError } from "../config.js";

/** Variables that are not options but may sit in the same file. */
const NOT_OPTIONS = new Set(["MCP_REAPER_DEBUG"]);

function parseBool(text: string, origin: string): boolean {
  if (/^(1|true|yes|on)$/i.test(text.trim())) return true;
  if (/^(0|false|no|off|)$/i.test(text.trim())) return false;
  throw new UsageError(`${origin}: expected 1/true/yes/on or 0/false/no/off, got ${JSON.stringify(text)}`);
}

function valueOf(opt: Option, raw: string, origin: string): unknown {
  // A negated switch (--no-sessions from MCP_REAPER_NO_SESSIONS=1) sets its attribute to false
  // (commander's isBoolean() is false for negated options).
  if (opt.negate) return !parseBool(raw, origin);
  if (opt.isBoolean()) return parseBool(raw, origin);
  if (!opt.parseArg) return raw;
  try {
    return opt.parseArg(raw, undefined);
  } catch (err) {
    throw new UsageError(`${origin}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The options as they stand with `file` (KEY=VALUE from the options file, or null) and `env`: a value
 * given on the command line wins; else the file's; else the environment's; else the default. Called at
 * start and on every reload (the command line is parsed once and stays). Unknown MCP_REAPER_* keys in
 * the file are usage errors: a misspelt setting must not be ignored silently.
 */
export function layerOptions<T extends object>(cmd: Command, file: Map<string, string> | null, env: NodeJS.ProcessEnv, where: string): T {
  const out: Record<string, unknown> = { ...cmd.opts() };
  const known = new Set<string>();
  for (const opt of cmd.options) {
    if (!opt.envVar) continue;
    known.add(opt.envVar);
    const key = opt.attributeName();
    if (cmd.getOptionValueSource(key) === "cli") continue;
    const fromFile = file?.get(opt.envVar);
    if (fromFile !== undefined) out[key] = valueOf(opt, fromFile, `${where}: ${opt.envVar}`);
    else if (env[opt.envVar] !== undefined) out[key] = valueOf(opt, env[opt.envVar] as string, `environment: ${opt.envVar}`);
    else out[key] = opt.negate && opt.defaultValue === undefined ? true : opt.defaultValue;
  }
  for (const key of file?.keys() ?? []) {
    if (key.startsWith("MCP_REAPER_") && !known.has(key) && !NOT_OPTIONS.has(key)) {
      throw new UsageError(`${where}: unknown setting ${key} (known: ${[...known].sort().join(", ")})`);
    }
  }
  return out as T;
}
