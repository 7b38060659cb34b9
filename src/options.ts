// Parsed command-line options -> the typed config of one pass. Shared by the one-shot run, the
// supervisor and the systemd subcommands, so none of them imports the CLI module itself.
import { InvalidArgumentError } from "commander";
import { UsageError, type PassConfig } from "./config.js";
import type { GatewaySpec } from "./proc/gateway.js";
import { defaultStateFile } from "./state.js";

/** The options commander hands a pass (after the options file and environment are layered in). */
export interface PassOpts {
  gatewayPid?: number;
  gatewayName?: string;
  gatewayPidfile?: string;
  gatewayUnit?: string;
  user?: boolean;
  schedule?: string;
  tz?: string;
  optionsFile?: string;
  metricsFile?: string;
  keep: number;
  minAge: number;
  match: RegExp;
  ignore?: RegExp;
  idle?: number | null;
  stateFile?: string;
  grace: number;
  dryRun?: boolean;
  check?: boolean;
  json?: boolean;
  color: boolean;
  procRoot: string;
  mcpConfig?: string[];
  config: boolean;
  signatureEnv?: string[];
  orphans?: boolean;
  orphanEnv?: [string, string][];
  /** false with --no-sessions (commander's negated switch; undefined counts as on). */
  sessions?: boolean;
  sessionIdle?: number;
  /** --all: with --gateway-name, every matching process is a gateway of its own. */
  all?: boolean;
  releaseSessions?: boolean;
}

function gatewaySpec(o: PassOpts): GatewaySpec {
  const given: GatewaySpec[] = [];
  if (o.gatewayPid !== undefined) given.push({ kind: "pid", pid: o.gatewayPid });
  if (o.gatewayName !== undefined) {
    if (o.gatewayName.trim() === "") throw new UsageError("--gateway-name must not be empty");
    given.push({ kind: "name", name: o.gatewayName, ...(o.all ? { all: true } : {}) });
  } else if (o.all) throw new UsageError("--all goes with --gateway-name: every process of that name is then a gateway of its own");
  if (o.gatewayPidfile !== undefined) given.push({ kind: "pidfile", path: o.gatewayPidfile });
  if (o.gatewayUnit !== undefined) {
    if (o.gatewayUnit.trim() === "" || o.gatewayUnit.startsWith("-")) throw new UsageError(`--gateway-unit: not a unit name: ${JSON.stringify(o.gatewayUnit)}`);
    given.push({ kind: "unit", unit: o.gatewayUnit, user: Boolean(o.user) });
  } else if (o.user) throw new UsageError("--user goes with --gateway-unit (a unit of the user's service manager)");
  if (given.length === 0) {
    // --orphans with no gateway: the dead hosts' orphans, host-wide.
    if (o.orphans) return { kind: "host" };
    throw new UsageError("name the gateway with --gateway-pid, --gateway-name, --gateway-pidfile or --gateway-unit, or give --orphans alone for dead hosts' orphans (try: mcp-reaper demo)");
  }
  if (given.length > 1) throw new UsageError("name the gateway once: --gateway-pid, --gateway-name, --gateway-pidfile and --gateway-unit exclude each other");
  return given[0] as GatewaySpec;
}

export function toPassConfig(o: PassOpts, env: NodeJS.ProcessEnv): PassConfig {
  const idleMs = o.idle ?? null;
  return {
    gateway: gatewaySpec(o),
    policy: {
      keep: o.keep,
      minAgeMs: o.minAge,
      match: o.match,
      ignore: o.ignore ?? null,
      idleMs,
      signatureEnv: o.signatureEnv ?? [],
      orphans: o.orphans ? { markers: o.orphanEnv ?? [] } : null,
      sessionIdleMs: sessionIdleOf(o),
    },
    stateFile: idleMs === null ? null : (o.stateFile ?? defaultStateFile(env)),
    graceMs: o.grace,
    dryRun: Boolean(o.dryRun || o.check),
    procRoot: o.procRoot,
    ...serverConfig(o),
    sessions: o.sessions !== false,
    releaseSessions: Boolean(o.releaseSessions),
  };
}

/** --session-idle, checked against --no-sessions. */
function sessionIdleOf(o: PassOpts): number | null {
  if (o.sessionIdle === undefined) return null;
  if (o.sessionIdle === 0) throw new UsageError("--session-idle 0 would call every session idle: give a duration such as 2h, or leave it out");
  if (o.sessions === false) throw new UsageError("--session-idle needs the session store: it cannot go with --no-sessions");
  return o.sessionIdle;
}

/** The --mcp-config / --signature-env / --orphans part of a pass config. */
function serverConfig(o: PassOpts): Pick<PassConfig, "mcpConfigs" | "discoverConfig"> {
  if (o.orphanEnv && o.orphanEnv.length > 0 && !o.orphans) throw new UsageError("--orphan-env needs --orphans: the orphan search is opt-in");
  if (o.orphanEnv && o.orphanEnv.length > 0 && o.gatewayPid === undefined && o.gatewayName === undefined && o.gatewayPidfile === undefined && o.gatewayUnit === undefined) {
    throw new UsageError("--orphan-env ties orphans to a named gateway: host-wide --orphans reaps by unreachability alone");
  }
  return { mcpConfigs: o.mcpConfig ?? [], discoverConfig: o.config !== false };
}

/** Wraps a config parser for commander: our UsageError becomes commander's InvalidArgumentError (exit 2). */
export function arg<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}
