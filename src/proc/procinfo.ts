// The typed record of one process that every sense step builds and the planner reads.
import type { IoCounters, Stat } from "./parse.js";

/** One process as the snapshot saw it. (pid, startTicks) names it; a bare pid may be reused. */
export interface ProcInfo extends Stat {
  /** Age when the snapshot was taken, from /proc/uptime minus start ticks (exact to a tick). */
  ageMs: number;
  /** Wall-clock start, derived from the snapshot time minus the age. */
  startedAtMs: number;
  /** Resident memory in bytes, from stat's rss (see Stat.rssPages); 0 for zombies and kernel threads. */
  rssBytes: number | null;
  /**
   * Real uid, from status: read for the gateway and escaped-orphan candidates, whose owner decides
   * something; null for the subtree's descendants (nothing asks, and status cost 11% of a scan) and
   * when status was unreadable.
   */
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
