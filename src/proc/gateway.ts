// Sense: turn --gateway-pid / --gateway-name / --gateway-pidfile into one live pid, or a clear error.
import { ProcParseError } from "./parse.js";
import { errorCode, listPids, readCmdline, readStat, readStatOrNull } from "./read.js";
import { GatewayNotFoundError } from "./errors.js";
import { mainPidOfUnit } from "./unit.js";
import { readSmallFile } from "../files.js";

export { GatewayNotFoundError };

export type GatewaySpec =
  | { kind: "pid"; pid: number }
  | { kind: "name"; name: string }
  | { kind: "pidfile"; path: string }
  /** A systemd unit: the gateway is its MainPID. `user`: ask the user's service manager (systemctl --user). */
  | { kind: "unit"; unit: string; user: boolean };


/** The kernel cuts comm to 15 bytes: `openclaw-gateway` shows as `openclaw-gatewa`. */
const COMM_MAX = 15;

function basename(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? path : path.slice(slash + 1);
}

/** Does a process answer to `name`: its argv[0], argv[0]'s basename, or its comm (as the kernel cut it)? */
export function answersToName(name: string, comm: string, argv: readonly string[]): boolean {
  const argv0 = argv[0] ?? "";
  if (argv0 === name || (argv0 !== "" && basename(argv0) === name)) return true;
  // Node's process.title rewrites argv in place; some runtimes put the title and its args in argv[0].
  if (argv0.startsWith(`${name} `)) return true;
  return comm === name || (name.length > COMM_MAX && comm === name.slice(0, COMM_MAX));
}

function describe(procRoot: string, pid: number): string {
  const argv = readCmdline(procRoot, pid) ?? [];
  const text = argv.filter((w) => w !== "").join(" ");
  return `${pid} (${text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}

function findByName(procRoot: string, name: string, protectedPids: ReadonlySet<number>): number {
  const matches: number[] = [];
  for (const pid of listPids(procRoot)) {
    if (protectedPids.has(pid)) continue;
    const stat = readStatOrNull(procRoot, pid);
    if (stat === null || stat.state === "Z" || stat.state === "X") continue;
    const argv = readCmdline(procRoot, pid);
    if (argv === null || argv.length === 0) continue; // gone, or a kernel thread
    if (answersToName(name, stat.comm, argv)) matches.push(pid);
  }
  if (matches.length === 1) return matches[0] as number;
  if (matches.length === 0) throw new GatewayNotFoundError(`no process named ${JSON.stringify(name)} (matched against argv[0], its basename and comm)`);
  const list = matches.slice(0, 8).map((pid) => describe(procRoot, pid));
  const more = matches.length > 8 ? `, and ${matches.length - 8} more` : "";
  throw new GatewayNotFoundError(
    `${matches.length} processes are named ${JSON.stringify(name)}: ${list.join(", ")}${more}; pick one with --gateway-pid`,
  );
}

function readPidfile(path: string): number {
  let text: string;
  try {
    text = readSmallFile(path, 4096);
  } catch (err) {
    throw new GatewayNotFoundError(`cannot read pidfile ${path}: ${errorCode(err) ?? String(err)}`);
  }
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) < 1) {
    throw new GatewayNotFoundError(`pidfile ${path} does not hold a pid (${JSON.stringify(trimmed.slice(0, 20))})`);
  }
  return Number(trimmed);
}

/**
 * Resolves the gateway to a live pid. Never pid 1 and never ourselves or an ancestor: reaping init's
 * or our own children is not what anyone asking for a gateway means.
 */
/** One gateway process: its pid and start ticks (a restarted gateway, or a reused pid, is another one). */
export interface GatewayIdentity {
  pid: number;
  startTicks: number;
}

export function resolveGateway(spec: GatewaySpec, procRoot: string, protectedPids: ReadonlySet<number>): GatewayIdentity {
  const pid =
    spec.kind === "pid"
      ? spec.pid
      : spec.kind === "name"
        ? findByName(procRoot, spec.name, protectedPids)
        : spec.kind === "unit"
          ? mainPidOfUnit(spec.unit, spec.user)
          : readPidfile(spec.path);
  if (pid === 1) throw new GatewayNotFoundError("refusing pid 1 as the gateway: it is init, the parent of everything");
  if (protectedPids.has(pid)) throw new GatewayNotFoundError(`refusing pid ${pid} as the gateway: it is mcp-reaper itself or one of its ancestors`);
  let stat;
  try {
    stat = readStat(procRoot, pid);
  } catch (err) {
    if (err instanceof ProcParseError) throw new GatewayNotFoundError(`cannot read process ${pid}: ${err.message}`);
    throw err;
  }
  if (stat === null) {
    const from = spec.kind === "pidfile" ? ` (from ${spec.path})` : spec.kind === "unit" ? ` (MainPID of ${spec.unit})` : "";
    throw new GatewayNotFoundError(`no process with pid ${pid}${from}`);
  }
  if (stat.state === "Z" || stat.state === "X") throw new GatewayNotFoundError(`process ${pid} is a zombie: the gateway has exited`);
  // Kernel threads have no command line (kthreadd, pid 2, and its children): their "children" are
  // kernel threads too, never MCP servers.
  if ((readCmdline(procRoot, pid) ?? []).length === 0) throw new GatewayNotFoundError(`process ${pid} is a kernel thread, not a gateway`);
  return { pid, startTicks: stat.startTicks };
}
