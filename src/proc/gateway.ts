// Sense: turn --gateway-pid / --gateway-name / --gateway-pidfile into one live pid, or a clear error.
import { ProcParseError } from "./parse.js";
import { errorCode, listPids, readCmdline, readLink, readStat, readStatOrNull } from "./read.js";
import { GatewayNotFoundError } from "./errors.js";
import { mainPidOfUnit } from "./unit.js";
import { readSmallFile } from "../files.js";

export { GatewayNotFoundError };

export type GatewaySpec =
  | { kind: "pid"; pid: number }
  /** `all`: every process of that name is a gateway of its own (--all); without it several are an error. */
  | { kind: "name"; name: string; all?: boolean }
  | { kind: "pidfile"; path: string }
  /** A systemd unit: the gateway is its MainPID. `user`: ask the user's service manager (systemctl --user). */
  | { kind: "unit"; unit: string; user: boolean }
  /** No gateway: host-wide dead orphans (--orphans alone), every child of pid 1 or of a subreaper. */
  | { kind: "host" };

/**
 * Commands of real inits: pid 1 with one of these is the parent of everything, never a gateway. A pid 1
 * that is none of them (node as pid 1 of a container without an init: OpenClaw's images before they
 * added tini) is whatever the container runs. "pause" is Kubernetes' pod sandbox, pid 1 of a pod with
 * shareProcessNamespace; "docker-init" is tini as `docker run --init` names it.
 */
export const INIT_COMMS: ReadonlySet<string> = new Set([
  "systemd", "init", "tini", "docker-init", "dumb-init", "catatonit", "s6-svscan", "runit", "runit-init", "openrc-init",
  "busybox", "upstart", "launchd", "pause", "supervisord", "sinit", "finit", "shepherd", "containerd-shim", "conmon",
]);

/** The initial pid namespace's inode (PROC_PID_INIT_INO): a pid 1 in any other namespace is a container's. */
export const HOST_PID_NAMESPACE = "pid:[4026531836]";


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

/**
 * Why pid 1 may be a gateway, or null when it is an init (or unreadable): it runs in a pid namespace
 * other than the host's (a container), or its command is no init's. `procRoot`'s pid 1 is the pid 1 of
 * the namespace that procfs was mounted for: inside a container, the container's.
 */
export function pid1AsGateway(procRoot: string): "container-namespace" | "not-an-init" | null {
  const stat = readStatOrNull(procRoot, 1);
  const argv0 = readCmdline(procRoot, 1)?.[0] ?? "";
  if (stat === null || INIT_COMMS.has(stat.comm) || INIT_COMMS.has(basename(argv0))) return null;
  const ns = readLink(`${procRoot}/1/ns/pid`);
  return ns !== null && ns !== HOST_PID_NAMESPACE ? "container-namespace" : "not-an-init";
}

/** Every live process answering to `name` (pid 1 only when it may be a gateway), in pid order. */
export function listByName(procRoot: string, name: string, protectedPids: ReadonlySet<number>): number[] {
  const matches: number[] = [];
  const pid1 = pid1AsGateway(procRoot) !== null;
  for (const pid of listPids(procRoot)) {
    if (protectedPids.has(pid) || (pid === 1 && !pid1)) continue;
    const stat = readStatOrNull(procRoot, pid);
    if (stat === null || stat.state === "Z" || stat.state === "X") continue;
    const argv = readCmdline(procRoot, pid);
    if (argv === null || argv.length === 0) continue; // gone, or a kernel thread
    if (answersToName(name, stat.comm, argv)) matches.push(pid);
  }
  return matches.sort((a, b) => a - b);
}

function findByName(procRoot: string, name: string, protectedPids: ReadonlySet<number>): number {
  const matches = listByName(procRoot, name, protectedPids);
  if (matches.length === 1) return matches[0] as number;
  if (matches.length === 0) throw new GatewayNotFoundError(`no process named ${JSON.stringify(name)} (matched against argv[0], its basename and comm)`);
  const list = matches.slice(0, 8).map((pid) => describe(procRoot, pid));
  const more = matches.length > 8 ? `, and ${matches.length - 8} more` : "";
  throw new GatewayNotFoundError(
    `${matches.length} processes are named ${JSON.stringify(name)}: ${list.join(", ")}${more}; pick one with --gateway-pid, or reap under each with --all`,
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
  if (spec.kind === "host") throw new GatewayNotFoundError("no gateway is named: host-wide orphans have none");
  return identify(
    spec.kind === "pid"
      ? spec.pid
      : spec.kind === "name"
        ? findByName(procRoot, spec.name, protectedPids)
        : spec.kind === "unit"
          ? mainPidOfUnit(spec.unit, spec.user)
          : readPidfile(spec.path),
    spec,
    procRoot,
    protectedPids,
  );
}

/**
 * Every gateway `--gateway-name NAME --all` names: each matching process, its pid and start ticks read
 * once. A match nested inside another's tree is a gateway of its own too (the caller cuts it out of the
 * outer one's walk). None is an error; one that exits between the listing and its stat is left out.
 */
export function resolveGateways(spec: GatewaySpec, procRoot: string, protectedPids: ReadonlySet<number>): GatewayIdentity[] {
  if (spec.kind !== "name" || !spec.all) return [resolveGateway(spec, procRoot, protectedPids)];
  const found: GatewayIdentity[] = [];
  for (const pid of listByName(procRoot, spec.name, protectedPids)) {
    try {
      found.push(identify(pid, spec, procRoot, protectedPids));
    } catch (err) {
      if (!(err instanceof GatewayNotFoundError)) throw err; // exited or became a zombie meanwhile
    }
  }
  if (found.length === 0) throw new GatewayNotFoundError(`no process named ${JSON.stringify(spec.name)} (matched against argv[0], its basename and comm)`);
  return found;
}

/** A pid as a gateway: refused when it is an init, ourselves, an ancestor, gone, a zombie or a kernel thread. */
function identify(pid: number, spec: GatewaySpec, procRoot: string, protectedPids: ReadonlySet<number>): GatewayIdentity {
  if (pid === 1 && pid1AsGateway(procRoot) === null) {
    const comm = readStatOrNull(procRoot, 1)?.comm;
    throw new GatewayNotFoundError(`refusing pid 1 as the gateway: it is init${comm ? ` (${comm})` : ""}, the parent of everything; pid 1 is taken only in a container whose pid 1 is the gateway itself`);
  }
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
