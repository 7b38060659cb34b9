// Pure parsers for the memory and task-limit files: smaps_rollup, meminfo, PSI, cgroup pids files, limits, mountinfo.
import { cgroupEntries } from "./links.js";
import { ProcParseError } from "./parse.js";

/** "Name:   1234 kB" lines (smaps_rollup, meminfo) -> name -> bytes. Lines of another shape are skipped. */
function kbLines(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z_()0-9]+):\s+(\d+)(?: kB)?\s*$/.exec(line);
    if (m) values.set(m[1] as string, Number(m[2]) * (line.trimEnd().endsWith("kB") ? 1024 : 1));
  }
  return values;
}

/** What /proc/PID/smaps_rollup says of one process's memory. */
export interface SmapsRollup {
  /** Private_Clean + Private_Dirty (+ SwapPss where the kernel reports it): freed when the process exits. */
  privateBytes: number;
  /** Proportional set size: private pages plus each shared page divided by the processes sharing it. */
  pssBytes: number;
  rssBytes: number;
  /** Whether SwapPss was there to add (kernels since 4.3 have it; a missing line adds nothing). */
  swapCounted: boolean;
}

/**
 * Parses /proc/PID/smaps_rollup (Linux 4.14+). The first line is the `[rollup]` pseudo-mapping; the rest
 * are `Name: N kB`. Pss, Private_Clean and Private_Dirty are required: without them there is no private
 * figure, and a guess would overstate or understate what a reap frees. SwapPss is added where present.
 * Empty text (a zombie, a kernel thread: no address space) is null: nothing to free.
 */
export function parseSmapsRollup(text: string): SmapsRollup | null {
  if (text.trim() === "") return null;
  const v = kbLines(text);
  const need = (key: string): number => {
    const x = v.get(key);
    if (x === undefined) throw new ProcParseError("smaps_rollup", `no ${key} line`);
    return x;
  };
  const clean = need("Private_Clean");
  const dirty = need("Private_Dirty");
  const pss = need("Pss");
  const swapPss = v.get("SwapPss");
  return { privateBytes: clean + dirty + (swapPss ?? 0), pssBytes: pss, rssBytes: v.get("Rss") ?? 0, swapCounted: swapPss !== undefined };
}

export interface Meminfo {
  memTotalBytes: number;
  /** The kernel's estimate of memory available for new work without swapping (Linux 3.14+). */
  memAvailableBytes: number;
}

/** Parses /proc/meminfo for MemTotal and MemAvailable. A kernel without MemAvailable (before 3.14) is an error: no estimate we would trust. */
export function parseMeminfo(text: string): Meminfo {
  // Two anchored searches instead of splitting ~50 lines: the pressure check runs every 2 s.
  const total = /^MemTotal:\s+(\d+) kB/m.exec(text);
  const avail = /^MemAvailable:\s+(\d+) kB/m.exec(text);
  if (!total) throw new ProcParseError("meminfo", "no MemTotal line");
  if (!avail) throw new ProcParseError("meminfo", "no MemAvailable line (kernel before 3.14)");
  return { memTotalBytes: Number(total[1]) * 1024, memAvailableBytes: Number(avail[1]) * 1024 };
}

/** /proc/pressure/memory's `some avg10=`: the share of the last 10 s in which some task stalled on memory, in percent. */
export function parsePsiSomeAvg10(text: string): number {
  const m = /^some avg10=(\d+(?:\.\d+)?)\s/m.exec(text);
  if (!m) throw new ProcParseError("pressure/memory", `no "some avg10=" in ${JSON.stringify(text.slice(0, 60))}`);
  return Number(m[1]);
}

/** A cgroup pids.max: a number, or null for `max` (no limit). */
export function parsePidsMax(text: string): number | null {
  const t = text.trim();
  if (t === "max") return null;
  if (!/^\d+$/.test(t)) throw new ProcParseError("pids.max", `not a number or "max": ${JSON.stringify(t.slice(0, 40))}`);
  return Number(t);
}

/** A cgroup pids.current: the tasks (threads included) in the cgroup and its descendants. */
export function parsePidsCurrent(text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new ProcParseError("pids.current", `not a number: ${JSON.stringify(t.slice(0, 40))}`);
  return Number(t);
}

/** /proc/PID/limits `Max processes` soft limit (RLIMIT_NPROC): a number, or null for unlimited. */
export function parseNprocLimit(text: string): number | null {
  const m = /^Max processes\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) throw new ProcParseError("limits", "no Max processes line");
  if (m[1] === "unlimited") return null;
  if (!/^\d+$/.test(m[1] as string)) throw new ProcParseError("limits", `bad Max processes ${JSON.stringify(m[1])}`);
  return Number(m[1]);
}

/** /proc/loadavg's fourth field `running/total`: total is every task (thread) on the host. */
export function parseLoadavgTasks(text: string): number {
  const m = /^\S+ \S+ \S+ \d+\/(\d+) /.exec(text);
  if (!m) throw new ProcParseError("loadavg", `bad text ${JSON.stringify(text.slice(0, 60))}`);
  return Number(m[1]);
}

/** Where a pids controller is mounted: v2 (cgroup2, every controller in one tree) or v1 (a cgroup mount with the pids option). */
export interface CgroupMount {
  version: 1 | 2;
  /** Mount point, e.g. /sys/fs/cgroup or /sys/fs/cgroup/pids. */
  mountPoint: string;
  /** The cgroup path the mount shows at its mount point ("/" unless mounted from inside a cgroup namespace or a bind). */
  root: string;
}

/** mountinfo escapes space, tab, newline and backslash in paths as \040 \011 \012 \134. */
function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The pids controller's mounts from /proc/self/mountinfo: the v1 pids hierarchy and the v2 tree, when mounted. */
export function parsePidsMounts(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split("\n")) {
    const dash = line.indexOf(" - ");
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(" ");
    const right = line.slice(dash + 3).split(" ");
    const fstype = right[0];
    const root = unescapeMount(left[3] ?? "/");
    const mountPoint = unescapeMount(left[4] ?? "");
    if (fstype === "cgroup2") out.push({ version: 2, mountPoint, root });
    else if (fstype === "cgroup" && (right[2] ?? "").split(",").includes("pids")) out.push({ version: 1, mountPoint, root });
  }
  return out;
}

/** The process's cgroup paths from /proc/PID/cgroup: the v2 one (`0::/path`) and the v1 pids one (`N:pids:/path`). */
export function parseCgroupPaths(text: string): { v2: string | null; pidsV1: string | null } {
  let v2: string | null = null;
  let pidsV1: string | null = null;
  for (const { id, controllers, path } of cgroupEntries(text)) {
    if (id === "0" && controllers === "") v2 = path;
    else if (controllers.split(",").includes("pids")) pidsV1 = path;
  }
  return { v2, pidsV1 };
}
