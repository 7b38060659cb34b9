// Sense: one typed snapshot of the gateway and its descendants, read from /proc in one pass.
//
// Why not ps-list / pidtree / pidusage here: all three spawn `ps` (or read every process) on each call;
// ps-list gives start times to the second only and pidtree none, so neither can name a process by
// (pid, start ticks). Measured with 5,000 processes on the host: ps-list ~665 ms, pidtree ~222 ms, a
// full /proc scan 105-235 ms, a walk of /proc/PID/task/*/children from the gateway ~2 ms. We read /proc
// ourselves; the benchmark (npm run bench) keeps those packages as the baselines it measures against.
import { senseEscaped, type EscapedFacts, type EscapedOptions } from "./escaped.js";
import { ProcParseError, parseUptimeMs, type IoCounters, type Stat } from "./parse.js";
import { scanHost, type HostScan } from "./host.js";
import { listDir, readCmdline, readEnviron, readIo, readLink, readStatOrNull, readStatus, readText } from "./read.js";

/** Linux reports start times in USER_HZ ticks, which the kernel ABI fixes at 100 on every architecture. */
export const TICKS_PER_SECOND = 100;
export const MS_PER_TICK = 1000 / TICKS_PER_SECOND;

/** One process as the snapshot saw it. (pid, startTicks) names it; a bare pid may be reused. */
export interface ProcInfo extends Stat {
  /** Age when the snapshot was taken, from /proc/uptime minus start ticks (exact to a tick). */
  ageMs: number;
  /** Wall-clock start, derived from the snapshot time minus the age. */
  startedAtMs: number;
  /** Resident memory in bytes (VmRSS); null for kernel threads or when unreadable. */
  rssBytes: number | null;
  /** Real uid; null when status was unreadable. */
  uid: number | null;
  /** argv split on NUL; empty for kernel threads and zombies. Untrusted text. */
  argv: string[];
  /** Working directory; null when not ours to read (another user's process) or gone. */
  cwd: string | null;
  /** I/O counters, read only for the activity guard; null when not asked for or not ours to read. */
  io: IoCounters | null;
  /** Environment, read only when SnapshotOptions.environ asks (host configs, --signature-env); null when unreadable. */
  environ?: ReadonlyMap<string, string> | null;
}

export type DiscoveryMethod = "children-files" | "full-scan";

export interface Snapshot {
  procRoot: string;
  /** Wall clock when the snapshot was taken (ms since the epoch). */
  takenAtMs: number;
  /** /proc/uptime at the snapshot, ms: ages are measured against it. */
  uptimeMs: number;
  gateway: ProcInfo;
  /** Every descendant of the gateway that could be read, by pid. The gateway is not in it. */
  procs: Map<number, ProcInfo>;
  /** Parent pid -> child pids, for the gateway and its descendants, in discovery order. */
  children: Map<number, number[]>;
  /** Our own pid and every ancestor's: never a target, even if the gateway spawned us. */
  protectedPids: ReadonlySet<number>;
  /** How descendants were found: the per-thread children files, or a scan of every pid. */
  method: DiscoveryMethod;
  /** Processes that could not be read or parsed (they raced us, or their files were malformed). */
  skipped: { pid: number; why: string }[];
  /** With SnapshotOptions.orphans: processes outside the subtree that may have escaped it, with their ties. */
  escaped?: EscapedFacts | null;
}

export interface SnapshotOptions {
  /** Root of the proc filesystem. Default "/proc"; unit tests point it at a fake tree. */
  procRoot?: string;
  gatewayPid: number;
  /** Pids never to target: ours and our ancestors'. Default: protectedPidsOf(procRoot, process.pid). */
  protectedPids?: ReadonlySet<number>;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
  /** Also read /proc/PID/io of every descendant (the activity guard needs it). Default false. */
  withIo?: boolean;
  /** Scan every /proc/PID/stat even where children files exist (the benchmark's baseline). Default false. */
  fullScan?: boolean;
  /** Also read each process's environment (for host config matching and --signature-env). Default false. */
  environ?: boolean;
  /** Also look for escaped orphans of the gateway over every process (--orphans). Default null (off). */
  orphans?: EscapedOptions | null;
}

export class GatewayGoneError extends Error {
  override readonly name = "GatewayGoneError";
}

function safeStat(procRoot: string, pid: number, skipped: Snapshot["skipped"]): Stat | null {
  return readStatOrNull(procRoot, pid, (p, why) => skipped.push({ pid: p, why }));
}

/** /proc/PID/io, or null when unreadable (another user's process without CAP_SYS_PTRACE) or malformed. */
function readIoOrNull(procRoot: string, pid: number, skipped: Snapshot["skipped"]): IoCounters | null {
  try {
    return readIo(procRoot, pid);
  } catch (err) {
    if (!(err instanceof ProcParseError)) throw err;
    skipped.push({ pid, why: err.message });
    return null;
  }
}

/**
 * Children of `pid` from /proc/PID/task/TID/children, over every thread: a child belongs to the thread
 * that forked it, and Node forks from worker threads too. Returns null when this kernel does not
 * provide the files (CONFIG_PROC_CHILDREN off, as on some VM kernels).
 */
function childrenFromTaskFiles(procRoot: string, pid: number, threads: number): number[] | null {
  // One thread: the main thread (tid = pid) is the only task, and its file holds every child.
  const only = threads === 1 ? readText(`${procRoot}/${pid}/task/${pid}/children`, true) : null;
  if (only !== null) return parseChildren(only, []);
  const tids = listDir(`${procRoot}/${pid}/task`);
  if (tids === null) return [];
  const found: number[] = [];
  let anyFile = false;
  for (const tid of tids) {
    const text = readText(`${procRoot}/${pid}/task/${tid}/children`, true);
    if (text === null) continue;
    anyFile = true;
    parseChildren(text, found);
  }
  return anyFile || tids.length === 0 ? found : null;
}

/** "123 456 " -> [123, 456], appended to `into`. */
function parseChildren(text: string, into: number[]): number[] {
  for (const word of text.split(" ")) if (word !== "" && word !== "\n") into.push(Number(word));
  return into;
}

/** Walks the gateway's subtree. Cost in proportion to the subtree where the kernel has children files. */
function discover(
  procRoot: string,
  gatewayPid: number,
  skipped: Snapshot["skipped"],
  fullScan = false,
): { stats: Map<number, Stat>; children: Map<number, number[]>; method: DiscoveryMethod; host: HostScan | null } | null {
  const stats = new Map<number, Stat>();
  const children = new Map<number, number[]>();
  const gateway = safeStat(procRoot, gatewayPid, skipped);
  if (gateway === null) return null;
  stats.set(gatewayPid, gateway);

  // The gateway's own files tell whether the kernel has them; their list is the walk's first step.
  const gatewayKids = fullScan ? null : childrenFromTaskFiles(procRoot, gatewayPid, gateway.threads);
  if (gatewayKids !== null) {
    const queue = [gatewayPid];
    for (let i = 0; i < queue.length; i++) {
      const parent = queue[i] as number;
      const kids: number[] = [];
      const kidsOf = parent === gatewayPid ? gatewayKids : childrenFromTaskFiles(procRoot, parent, (stats.get(parent) as Stat).threads);
      for (const child of kidsOf ?? []) {
        if (stats.has(child)) continue;
        const stat = safeStat(procRoot, child, skipped);
        // The children files are documented as unreliable while a fork or reparent is under way:
        // trust a child only when its own stat names the same parent.
        if (stat === null || stat.ppid !== parent) continue;
        stats.set(child, stat);
        kids.push(child);
        queue.push(child);
      }
      children.set(parent, kids);
    }
    return { stats, children, method: "children-files", host: null };
  }

  // Full scan: one stat read per pid on the host, then a walk down from the gateway.
  const host = scanHost(procRoot, (pid, why) => skipped.push({ pid, why }));
  const { byParent, stats: all } = host;
  const queue = [gatewayPid];
  for (let i = 0; i < queue.length; i++) {
    const parent = queue[i] as number;
    const kids = (byParent.get(parent) ?? []).filter((p) => p !== gatewayPid && !stats.has(p));
    for (const kid of kids) {
      stats.set(kid, all.get(kid) as Stat);
      queue.push(kid);
    }
    children.set(parent, kids);
  }
  return { stats, children, method: "full-scan", host };
}

/** A pid and all its ancestors: for our own pid, the processes we must never signal. */
export function protectedPidsOf(procRoot: string, pid: number): Set<number> {
  const chain = new Set<number>([pid]);
  let current = pid;
  // Bounded: a pid chain cannot be longer than pid_max, and a cycle (only possible in a corrupt fake tree) stops at a repeat.
  for (let i = 0; i < 4096; i++) {
    const stat = readStatOrNull(procRoot, current);
    if (stat === null || stat.ppid <= 0 || chain.has(stat.ppid)) break;
    chain.add(stat.ppid);
    current = stat.ppid;
  }
  return chain;
}

/**
 * Everything the snapshot keeps of one process, its stat already read; null when it exited meanwhile.
 * Also used for escaped orphans, which the subtree walk does not reach.
 */
export function readProcInfo(
  procRoot: string,
  stat: Stat,
  at: { uptimeMs: number; takenAtMs: number; skipped: Snapshot["skipped"]; environ: boolean; io: boolean },
): ProcInfo | null {
  const argv = readCmdline(procRoot, stat.pid);
  if (argv === null) return null;
  let status = null;
  try {
    status = readStatus(procRoot, stat.pid);
  } catch (err) {
    if (!(err instanceof ProcParseError)) throw err;
    at.skipped.push({ pid: stat.pid, why: err.message });
  }
  const ageMs = Math.max(0, at.uptimeMs - stat.startTicks * MS_PER_TICK);
  return {
    ...stat,
    ageMs,
    startedAtMs: at.takenAtMs - ageMs,
    rssBytes: status?.rssBytes ?? null,
    uid: status?.uid ?? null,
    argv,
    cwd: readLink(`${procRoot}/${stat.pid}/cwd`),
    ...(at.environ ? { environ: readEnviron(procRoot, stat.pid) } : {}),
    io: at.io ? readIoOrNull(procRoot, stat.pid, at.skipped) : null,
  };
}

/** Reads the gateway and its descendants. Throws GatewayGoneError if the gateway is not there. */
export function takeSnapshot(options: SnapshotOptions): Snapshot {
  const procRoot = options.procRoot ?? "/proc";
  const now = options.now ?? Date.now;
  const skipped: Snapshot["skipped"] = [];
  const uptimeText = readText(`${procRoot}/uptime`);
  if (uptimeText === null) throw new GatewayGoneError(`cannot read ${procRoot}/uptime: is ${procRoot} a proc filesystem?`);
  const uptimeMs = parseUptimeMs(uptimeText);
  const takenAtMs = now();

  const found = discover(procRoot, options.gatewayPid, skipped, options.fullScan);
  if (found === null) throw new GatewayGoneError(`no process with pid ${options.gatewayPid}`);

  const info = (stat: Stat): ProcInfo | null =>
    readProcInfo(procRoot, stat, { uptimeMs, takenAtMs, skipped, environ: options.environ ?? false, io: options.withIo ?? false });

  const gatewayStat = found.stats.get(options.gatewayPid) as Stat;
  const gateway = info(gatewayStat);
  if (gateway === null) throw new GatewayGoneError(`process ${options.gatewayPid} exited while being read`);

  const procs = new Map<number, ProcInfo>();
  for (const [pid, stat] of found.stats) {
    if (pid === options.gatewayPid) continue;
    const p = info(stat);
    if (p === null) skipped.push({ pid, why: "exited while being read" });
    else procs.set(pid, p);
  }

  const protectedPids = options.protectedPids ?? protectedPidsOf(procRoot, process.pid);
  const escaped = options.orphans
    ? senseEscaped(procRoot, { gateway, procs, protectedPids }, options.orphans, found.host ?? scanHost(procRoot), (stat) => readProcInfo(procRoot, stat, { uptimeMs, takenAtMs, skipped, environ: true, io: options.withIo ?? false }))
    : null;
  return {
    procRoot,
    takenAtMs,
    uptimeMs,
    gateway,
    procs,
    children: found.children,
    protectedPids,
    method: found.method,
    skipped,
    ...(escaped ? { escaped } : {}),
  };
}

/** Reads the environment of every descendant not read yet: config entries told apart by env need it. */
export function readEnvirons(snapshot: Snapshot): void {
  for (const p of snapshot.procs.values()) if (p.environ === undefined) p.environ = readEnviron(snapshot.procRoot, p.pid);
}
