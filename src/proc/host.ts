// Sense: one pass over every /proc/PID/stat of the host, indexed by parent. The snapshot's fallback
// (kernels without children files) and the escaped-orphan search both need it; a pass that needs both
// scans once.
import type { Stat } from "./parse.js";
import { listPids, readStatOrNull } from "./read.js";

export interface HostScan {
  stats: Map<number, Stat>;
  /** ppid -> pids, in /proc order. */
  byParent: Map<number, number[]>;
}

/** Reads every process's stat. A process that is gone is left out; a malformed stat is reported to onBad and left out. */
export function scanHost(procRoot: string, onBad: (pid: number, why: string) => void = () => undefined): HostScan {
  const stats = new Map<number, Stat>();
  const byParent = new Map<number, number[]>();
  for (const pid of listPids(procRoot)) {
    const stat = readStatOrNull(procRoot, pid, onBad);
    if (stat === null) continue;
    stats.set(pid, stat);
    const list = byParent.get(stat.ppid);
    if (list) list.push(pid);
    else byParent.set(stat.ppid, [pid]);
  }
  return { stats, byParent };
}
