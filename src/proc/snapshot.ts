// Sense: one typed snapshot of the gateway and its descendants, read from /proc in one pass.
//
// Why not ps-list / pidtree / pidusage here: all three spawn `ps` (or read every process) on each call;
// ps-list gives start times to the second only and pidtree none, so neither can name a process by
// (pid, start ticks). Measured with 5,000 processes on the host: ps-list ~665 ms, pidtree ~222 ms, a
// full /proc scan 105-235 ms, a walk of /proc/PID/task/*/children from the gateway ~2 ms. We read /proc
// ourselves; the benchmark (npm run bench) keeps those packages as the baselines it measures against.
import { senseEscaped, type EscapedFacts, type EscapedOptions } from "./escaped.js";
import { ProcParseError, parseUptimeMs, type IoCounters, type Stat } from "./parse.js";
import { scanHost } from "./host.js";
import type { ProcInfo } from "./procinfo.js";
import { pageSize, readChildren, readCmdline, readEnviron, readIo, readLink, readStatOrNull, readStatus, readText } from "./read.js";

/** Linux reports start times in USER_HZ ticks, which the kernel ABI fixes at 100 on every architecture. */
export const TICKS_PER_SECOND = 100;
export const MS_PER_TICK = 1000 / TICKS_PER_SECOND;

export type { ProcInfo };

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
  /** Gateways of their own found below this one (SnapshotOptions.cut), with their parents: not walked into. Default []. */
  nested?: { pid: number; ppid: number }[];
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
  /** Other gateways (--all): the walk stops at them, so their servers are never this gateway's. Default none. */
  cut?: ReadonlySet<number>;
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

type Reader = (stat: Stat) => ProcInfo | null;

/**
 * Walks the gateway's subtree, reading each process whole (stat, then cmdline and cwd) as it is
 * reached; a process that exited meanwhile is left out, its children unasked. `childStats` gives a
 * parent's children: from its children files (cost in proportion to the subtree) or a host scan.
 */
function walkSubtree(
  gateway: ProcInfo,
  childStats: (parent: ProcInfo) => Iterable<Stat>,
  read: Reader,
  skipped: Snapshot["skipped"],
  cut: { pids: ReadonlySet<number>; found: { pid: number; ppid: number }[] } | null = null,
): { procs: Map<number, ProcInfo>; children: Map<number, number[]> } {
  const procs = new Map<number, ProcInfo>();
  const children = new Map<number, number[]>();
  const queue: ProcInfo[] = [gateway];
  for (let i = 0; i < queue.length; i++) {
    const parent = queue[i] as ProcInfo;
    const kids: number[] = [];
    for (const stat of childStats(parent)) {
      if (stat.pid === gateway.pid || procs.has(stat.pid)) continue;
      if (cut?.pids.has(stat.pid)) {
        cut.found.push({ pid: stat.pid, ppid: parent.pid });
        continue;
      }
      const p = read(stat);
      if (p === null) {
        skipped.push({ pid: stat.pid, why: "exited while being read" });
        continue;
      }
      procs.set(stat.pid, p);
      kids.push(stat.pid);
      queue.push(p);
    }
    children.set(parent.pid, kids);
  }
  return { procs, children };
}

/** A parent's children by its children files, each trusted only when its own stat names that parent. */
function* childStatsFromFiles(procRoot: string, pids: readonly number[] | null, parent: ProcInfo, skipped: Snapshot["skipped"]): Iterable<Stat> {
  for (const pid of pids ?? []) {
    const stat = safeStat(procRoot, pid, skipped);
    // The children files are documented as unreliable while a fork or reparent is under way.
    if (stat !== null && stat.ppid === parent.pid) yield stat;
  }
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
  at: { uptimeMs: number; takenAtMs: number; skipped: Snapshot["skipped"]; environ: boolean; io: boolean; uid: boolean },
): ProcInfo | null {
  const argv = readCmdline(procRoot, stat.pid);
  if (argv === null) return null;
  let status = null;
  if (at.uid) {
    try {
      status = readStatus(procRoot, stat.pid);
    } catch (err) {
      if (!(err instanceof ProcParseError)) throw err;
      at.skipped.push({ pid: stat.pid, why: err.message });
    }
  }
  const ageMs = Math.max(0, at.uptimeMs - stat.startTicks * MS_PER_TICK);
  // Field by field, not `...stat`: V8 builds an object spread with extra properties ~150x slower
  // (5.7 us against 0.04 us here), a tenth of a whole scan.
  return {
    pid: stat.pid,
    comm: stat.comm,
    state: stat.state,
    ppid: stat.ppid,
    pgid: stat.pgid,
    utimeTicks: stat.utimeTicks,
    stimeTicks: stat.stimeTicks,
    startTicks: stat.startTicks,
    threads: stat.threads,
    rssPages: stat.rssPages,
    ageMs,
    startedAtMs: at.takenAtMs - ageMs,
    rssBytes: stat.rssPages * pageSize(),
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

  const gatewayStat = safeStat(procRoot, options.gatewayPid, skipped);
  if (gatewayStat === null) throw new GatewayGoneError(`no process with pid ${options.gatewayPid}`);
  // The gateway's own files tell whether the kernel has them; their list is the walk's first step.
  const gatewayKids = options.fullScan ? null : readChildren(procRoot, options.gatewayPid, gatewayStat.threads);

  const read = (stat: Stat, uid = false): ProcInfo | null =>
    readProcInfo(procRoot, stat, { uptimeMs, takenAtMs, skipped, environ: options.environ ?? false, io: options.withIo ?? false, uid });
  // The gateway's uid: whose config files host discovery may read, and whose escaped orphans are its.
  const gateway = read(gatewayStat, true);
  if (gateway === null) throw new GatewayGoneError(`process ${options.gatewayPid} exited while being read`);

  const host = gatewayKids === null ? scanHost(procRoot, (pid, why) => skipped.push({ pid, why })) : null;
  const method: DiscoveryMethod = host === null ? "children-files" : "full-scan";
  const childStats =
    host === null
      ? (parent: ProcInfo): Iterable<Stat> => childStatsFromFiles(procRoot, parent === gateway ? gatewayKids : readChildren(procRoot, parent.pid, parent.threads), parent, skipped)
      : (parent: ProcInfo): Iterable<Stat> => (host.byParent.get(parent.pid) ?? []).map((pid) => host.stats.get(pid) as Stat);
  const nested: { pid: number; ppid: number }[] = [];
  const { procs, children } = walkSubtree(gateway, childStats, read, skipped, options.cut && options.cut.size > 0 ? { pids: options.cut, found: nested } : null);

  const protectedPids = options.protectedPids ?? protectedPidsOf(procRoot, process.pid);
  const escaped = options.orphans
    ? senseEscaped(procRoot, { gateway, procs, protectedPids, cut: options.cut }, options.orphans, host ?? scanHost(procRoot), (stat) => readProcInfo(procRoot, stat, { uptimeMs, takenAtMs, skipped, environ: true, io: options.withIo ?? false, uid: true }))
    : null;
  return {
    procRoot,
    takenAtMs,
    uptimeMs,
    gateway,
    procs,
    children,
    protectedPids,
    method,
    skipped,
    ...(escaped ? { escaped } : {}),
    ...(nested.length > 0 ? { nested } : {}),
  };
}

/** Reads the environment of every descendant not read yet: config entries told apart by env need it. */
export function readEnvirons(snapshot: Snapshot): void {
  for (const p of snapshot.procs.values()) if (p.environ === undefined) p.environ = readEnviron(snapshot.procRoot, p.pid);
}
