// Thin reads of the memory and task-limit files under a proc root; the parsing lives in memparse.ts.
import { statSync } from "node:fs";
import { errorCode, listPids, readText } from "./read.js";
import {
  parseCgroupPaths,
  parseLoadavgTasks,
  parseMeminfo,
  parseNprocLimit,
  parsePidsCurrent,
  parsePidsMax,
  parsePidsMounts,
  parsePsiSomeAvg10,
  parseSmapsRollup,
  type Meminfo,
  type SmapsRollup,
} from "./memparse.js";
import { ProcParseError, parseStatus } from "./parse.js";

/** A small file parsed, or null when it is missing, empty, unreadable or not what the kernel writes. */
function readParsed<T>(path: string, parse: (t: string) => T): T | null {
  return parsedOrNull(readText(path), parse);
}

function parsedOrNull<T>(text: string | null, parse: (t: string) => T): T | null {
  if (text === null || text === "") return null;
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof ProcParseError) return null;
    throw err;
  }
}

/** One process's smaps_rollup, or why there is none. */
export type RollupRead =
  | { kind: "ok"; rollup: SmapsRollup }
  /** Exited, or a zombie / kernel thread with no address space: nothing of it is left to free. */
  | { kind: "gone" }
  /** Ptrace-checked (PTRACE_MODE_READ): another user's process without CAP_SYS_PTRACE. */
  | { kind: "denied" }
  /** This kernel has no smaps_rollup (before 4.14), or its text lacked a field we need. */
  | { kind: "unavailable"; why: string };

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    if (errorCode(err) === "ENOENT" || errorCode(err) === "ESRCH") return false;
    throw err;
  }
}

/**
 * Reads /proc/PID/smaps_rollup. The kernel walks the page tables to write it (the cost grows with the
 * mappings, not with RSS read from stat), so it is read for the gateway's instances only. Why a read
 * failed is asked only on that path: a file that exists but cannot be opened is a denied one.
 */
export function readSmapsRollup(procRoot: string, pid: number): RollupRead {
  const path = `${procRoot}/${pid}/smaps_rollup`;
  const text = readText(path);
  if (text === null) {
    if (exists(path)) return { kind: "denied" };
    if (exists(`${procRoot}/${pid}/stat`)) return { kind: "unavailable", why: "no smaps_rollup (kernel before 4.14)" };
    return { kind: "gone" };
  }
  try {
    const rollup = parseSmapsRollup(text);
    return rollup === null ? { kind: "gone" } : { kind: "ok", rollup };
  } catch (err) {
    if (err instanceof ProcParseError) return { kind: "unavailable", why: err.message };
    throw err;
  }
}

/** MemTotal and MemAvailable, or null when /proc/meminfo cannot be read or lacks them. */
export function readMeminfo(procRoot: string): Meminfo | null {
  return readParsed(`${procRoot}/meminfo`, parseMeminfo);
}

/** `some avg10` of /proc/pressure/memory in percent, or null where the kernel has no PSI (CONFIG_PSI off, or psi=0). */
export function readMemoryPsi(procRoot: string): number | null {
  return readParsed(`${procRoot}/pressure/memory`, parsePsiSomeAvg10);
}

/** A cgroup with a pids limit, on the way from the gateway's cgroup up to the root. */
export interface PidsLevel {
  /** The cgroup directory (holds pids.max and pids.current). */
  dir: string;
  max: number;
}



/**
 * The cgroups that limit the gateway's tasks: its own cgroup and each ancestor with a pids.max other
 * than `max` (systemd's TasksMax= sits on the service's cgroup; a user service is also bounded by
 * user-UID.slice, 33% of the host's by default). Read once per pass; a look then reads only pids.current
 * of each (one or two files). Empty when no limit is set or the pids controller is not mounted.
 */
export function pidsLimitsOf(procRoot: string, pid: number): PidsLevel[] {
  const cgroup = readText(`${procRoot}/${pid}/cgroup`);
  const mountinfo = readText(`${procRoot}/self/mountinfo`);
  if (cgroup === null || mountinfo === null) return [];
  const paths = parseCgroupPaths(cgroup);
  const mounts = parsePidsMounts(mountinfo);
  // v1 pids hierarchy first where there is one (hybrid hosts: v2 then carries no pids controller).
  const candidates: [string | null, number][] = [
    [paths.pidsV1, 1],
    [paths.v2, 2],
  ];
  for (const [path, version] of candidates) {
    const mount = mounts.find((m) => m.version === version);
    if (path === null || mount === undefined) continue;
    // A path outside what the mount shows ("/../x" in a cgroup namespace) cannot be reached from here.
    const rel = mount.root === "/" ? path : path.startsWith(`${mount.root}/`) || path === mount.root ? path.slice(mount.root.length) || "/" : null;
    if (rel === null || rel.includes("/..")) continue;
    const levels: PidsLevel[] = [];
    let any = false;
    for (let p = rel; ; p = p.slice(0, p.lastIndexOf("/")) || "/") {
      const dir = `${mount.mountPoint}${p === "/" ? "" : p}`;
      // pids.max holds "max" where no limit is set: the file being there shows the controller is.
      const text = readText(`${dir}/pids.max`);
      if (text !== null) any = true;
      const max = parsedOrNull(text, parsePidsMax);
      if (max !== null) levels.push({ dir, max });
      if (p === "/") break;
    }
    if (any) return levels;
  }
  return [];
}

/** Tasks left under the tightest of these limits (pids.max - pids.current), or null when none could be read. */
export function pidsLeft(levels: readonly PidsLevel[]): number | null {
  let left: number | null = null;
  for (const l of levels) {
    const current = readParsed(`${l.dir}/pids.current`, parsePidsCurrent);
    if (current === null) continue;
    left = Math.min(left ?? Infinity, l.max - current);
  }
  return left;
}

/** The gateway's real uid and its RLIMIT_NPROC soft limit (null: unlimited), or null when unreadable. */
export function nprocLimitOf(procRoot: string, pid: number): { uid: number; limit: number | null } | null {
  const status = readText(`${procRoot}/${pid}/status`, true);
  const limits = readText(`${procRoot}/${pid}/limits`);
  if (status === null || limits === null) return null;
  try {
    return { uid: parseStatus(status).uid, limit: parseNprocLimit(limits) };
  } catch (err) {
    if (err instanceof ProcParseError) return null;
    throw err;
  }
}

/** Every task on the host (threads included), from /proc/loadavg: one small read, an upper bound of any user's count. */
export function hostTasks(procRoot: string): number | null {
  return readParsed(`${procRoot}/loadavg`, parseLoadavgTasks);
}

/** The tasks (threads included) whose real uid is `uid`: a walk of every /proc/PID/status, done only when the host's count comes near the limit. */
export function userTasks(procRoot: string, uid: number): number {
  let n = 0;
  for (const pid of listPids(procRoot)) {
    const text = readText(`${procRoot}/${pid}/status`, true);
    if (text === null) continue;
    const u = /^Uid:[ \t]*(\d+)/m.exec(text);
    if (u === null || Number(u[1]) !== uid) continue;
    const t = /^Threads:[ \t]*(\d+)/m.exec(text);
    n += t ? Number(t[1]) : 1;
  }
  return n;
}

/** An instance's memory from its processes' smaps_rollup: summed, or null with the reason when any process could not be read. */
export interface MemoryFigure {
  /** Private_Clean + Private_Dirty (+ SwapPss) over the processes: what their exit frees. Null when unknown. */
  privateBytes: number | null;
  pssBytes: number | null;
  /** Why the figures are null; null when they are known. */
  unknown: string | null;
}

/**
 * Sums smaps_rollup over `pids`. A process that is gone adds nothing (it frees nothing now); one we may
 * not read makes the whole figure unknown: a partial sum would pass for the instance's memory.
 */
export function memoryOf(procRoot: string, procs: readonly (number | RollupKey)[], cache?: RollupCache): MemoryFigure {
  let privateBytes = 0;
  let pssBytes = 0;
  let denied = 0;
  let unavailable: string | null = null;
  for (const p of procs) {
    const r = typeof p === "number" ? readSmapsRollup(procRoot, p) : cache ? cache.read(procRoot, p) : readSmapsRollup(procRoot, p.pid);
    if (r.kind === "ok") {
      privateBytes += r.rollup.privateBytes;
      pssBytes += r.rollup.pssBytes;
    } else if (r.kind === "denied") denied++;
    else if (r.kind === "unavailable") unavailable ??= r.why;
  }
  if (denied > 0) {
    return { privateBytes: null, pssBytes: null, unknown: `smaps_rollup of ${denied} of ${procs.length} processes not readable (another user's: needs the same uid or CAP_SYS_PTRACE)` };
  }
  if (unavailable !== null) return { privateBytes: null, pssBytes: null, unknown: unavailable };
  return { privateBytes, pssBytes, unknown: null };
}

/** A process as the snapshot saw it: (pid, start ticks) names it; its RSS from stat says whether a cached read still holds. */
export interface RollupKey {
  pid: number;
  startTicks: number;
  rssBytes: number | null;
}

/**
 * smaps_rollup reads kept between a loop's passes. A read costs the kernel a walk of the page tables:
 * ~220 us for an idle node server of 42 MB RSS against ~19 us for its stat, so a pass over 30 instances
 * (72 processes) took 2.8x as long with them. An idle server's memory hardly moves, so a read is reused
 * while the process (pid and start ticks) is the same, its RSS from stat moved by at most 256 KiB (the
 * largest error this allows per process) and the read is under 10 minutes old. Cleared after a pass that
 * reaped: the pages the reaped shared with the kept ones are now the kept ones' own (private and PSS move).
 */
export class RollupCache {
  static readonly RSS_SLACK_BYTES = 256 * 1024;
  static readonly MAX_AGE_MS = 10 * 60_000;
  private entries = new Map<string, { rssBytes: number | null; atMs: number; read: RollupRead }>();
  private seen = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  read(procRoot: string, p: RollupKey): RollupRead {
    const key = `${p.pid}:${p.startTicks}`;
    this.seen.add(key);
    const hit = this.entries.get(key);
    const nowMs = this.now();
    if (hit && nowMs - hit.atMs < RollupCache.MAX_AGE_MS && hit.rssBytes !== null && p.rssBytes !== null && Math.abs(hit.rssBytes - p.rssBytes) <= RollupCache.RSS_SLACK_BYTES) return hit.read;
    const read = readSmapsRollup(procRoot, p.pid);
    // Only a good read is kept: a denied or unavailable one is asked again (a capability may come).
    if (read.kind === "ok") this.entries.set(key, { rssBytes: p.rssBytes, atMs: nowMs, read });
    else this.entries.delete(key);
    return read;
  }

  /** After a pass: forget processes it did not see (gone), so the cache stays the size of the gateway's tree. */
  endPass(reaped: boolean): void {
    if (reaped) this.entries.clear();
    else for (const key of this.entries.keys()) if (!this.seen.has(key)) this.entries.delete(key);
    this.seen.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
