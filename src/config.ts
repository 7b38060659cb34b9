// The typed configuration of one pass, its defaults, the exit-code table and the value parsers the CLI uses.
import type { Policy } from "./decide/planner.js";
import { DEFAULT_MATCH } from "./decide/planner.js";
import type { GatewaySpec } from "./proc/gateway.js";

/** One exit-code table: --help prints EXIT_TABLE, the README gives the same codes with the cases spelled out. */
export const EXIT = {
  /** Done: everything planned was carried out (or, in a dry run, shown). */
  OK: 0,
  /** Some reaps failed (EPERM, a process that survived SIGKILL); the report says which. */
  REAP_FAILED: 1,
  /** Usage error: bad option or value, or an untrusted lock directory. Nothing was signalled. */
  USAGE: 2,
  /** The gateway was not found, is ambiguous, or /proc could not be read. Nothing was signalled. */
  GATEWAY: 3,
  /** With --check: the plan would reap at least one instance (duplicates exist). Nothing was signalled. */
  DUPLICATES: 4,
  /** Another mcp-reaper holds this gateway process's lock (a loop, or a one-shot run in progress), however it named the gateway. Nothing was signalled. */
  LOCKED: 5,
} as const;

export const EXIT_TABLE: readonly [number, string][] = [
  [EXIT.OK, "done (in a dry run: the plan was shown)"],
  [EXIT.REAP_FAILED, "some reaps failed (EPERM, survived SIGKILL; see the report), an internal error, or stdout could not be written"],
  [EXIT.USAGE, "usage error: bad option or value, or an untrusted lock directory or MCP_REAPER_LOCK_DIR; nothing was signalled"],
  [EXIT.GATEWAY, "gateway not found, ambiguous, not readable or refused; nothing was signalled"],
  [EXIT.DUPLICATES, "with --check: the plan would reap at least one instance; nothing was signalled"],
  [EXIT.LOCKED, "another mcp-reaper already watches this gateway process (its lock is held); nothing was signalled"],
];

/** Everything one pass needs. */
export interface PassConfig {
  gateway: GatewaySpec;
  policy: Policy;
  /** Wait between SIGTERM and SIGKILL. Default 5 000 ms (uv forwards TERM to python and waits for it). */
  graceMs: number;
  /** Show the plan, signal nobody. Default false. */
  dryRun: boolean;
  /** Root of the proc filesystem. Default "/proc". Anything else implies dryRun: a fake tree names no real process. */
  procRoot: string;
  /** Where the activity history persists between runs (with policy.idleMs). Default: defaultStateFile(); null: memory only. */
  stateFile: string | null;
  /** --mcp-config files naming server types. Default [] (none). */
  mcpConfigs?: string[];
  /** Read the OpenClaw gateway's own config (OPENCLAW_CONFIG_PATH, $OPENCLAW_STATE_DIR, ~/.openclaw). Default true; --no-config: false. */
  discoverConfig?: boolean;
  /** Read the host's sessions (OpenClaw: its session store) to attribute instances to sessions. Default true; --no-sessions: false. */
  sessions?: boolean;
  /** Read each instance's smaps_rollup after the plan (private memory and PSS). Default true; false only to measure the pass without it. */
  readMemory?: boolean;
  /**
   * --release-sessions: ask an OpenClaw gateway to release the runtime slots of the ended one-shot sessions
   * whose servers this pass reaps (src/hosts/openclaw/release.ts). Default false.
   */
  releaseSessions?: boolean;
}

export const DEFAULTS = {
  keep: 1,
  minAgeMs: 60_000,
  graceMs: 5_000,
  match: DEFAULT_MATCH,
  procRoot: "/proc",
} as const;

/** A bad value on the command line: exit code 2, one line. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Reads `500ms`, `5s`, `10m`, `1h`, `1d`, or a bare number of seconds (`0` is valid), into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw new UsageError(`not a duration: ${JSON.stringify(text)} (use 500ms, 5s, 10m, 1h or a number of seconds)`);
  const ms = Number(m[1]) * (UNIT_MS[m[2] ?? "s"] as number);
  if (!Number.isFinite(ms) || ms > 365 * 86_400_000) throw new UsageError(`duration out of range: ${JSON.stringify(text)}`);
  return Math.round(ms);
}

/**
 * --idle: a duration, or off. "off", 0 (any unit) and an empty value are off, so an options file can turn
 * off the guard the units switch on (`MCP_REAPER_IDLE=0`); idle for 0 ms would call everything idle anyway.
 */
export function parseIdle(text: string): number | null {
  if (/^\s*(off)?\s*$/i.test(text)) return null;
  const ms = parseDuration(text);
  return ms === 0 ? null : ms;
}

/** A whole number >= 1 written in plain digits (no `1e3`, no `+5`, no `0x10`). */
export function parsePositiveInt(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${what} must be a whole number >= 1, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** `KEY=VALUE` for --orphan-env: an environment variable name, `=`, and a non-empty value. */
export function parseEnvMarker(text: string): [string, string] {
  const eq = text.indexOf("=");
  const key = eq < 0 ? text : text.slice(0, eq);
  if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || eq === text.length - 1) {
    throw new UsageError(`--orphan-env must be KEY=VALUE with a non-empty value, got ${JSON.stringify(text)}`);
  }
  return [key, text.slice(eq + 1)];
}

/** An environment variable name for --signature-env. */
export function parseEnvName(text: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(text)) throw new UsageError(`--signature-env must be an environment variable name, got ${JSON.stringify(text)}`);
  return text;
}

/** A case-insensitive regular expression, or a usage error naming what is wrong with it. */
export function parseRegex(text: string, what: string): RegExp {
  if (text === "") throw new UsageError(`${what} must not be empty`);
  try {
    return new RegExp(text, "i");
  } catch (err) {
    throw new UsageError(`${what} is not a valid regular expression: ${(err as Error).message}`);
  }
}
