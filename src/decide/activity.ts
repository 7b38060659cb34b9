// Decide: the activity guard's memory. Which processes did I/O or used CPU since we last looked?
// No I/O here: the snapshot brings the counters, the caller brings the clock and persists the history.
import type { Snapshot } from "../proc/snapshot.js";

/** What we remember of one process, keyed by pid + start ticks (a reused pid starts a new record). */
export interface ActivityRecord {
  /** rchar, wchar, syscr, syscw from /proc/PID/io and utime+stime, as one comparable string. */
  fingerprint: string;
  /** When the fingerprint last changed (or was first seen), ms since the epoch. */
  lastChangeMs: number;
  /** When we last saw the process, ms since the epoch. */
  seenMs: number;
}

export interface ActivityHistory {
  /** /proc/sys/kernel/random/boot_id: start ticks mean nothing across a reboot. */
  bootId: string;
  records: Map<string, ActivityRecord>;
}

/** pid -> ms since its last observed activity; null when unknown (first look, or io unreadable): counts as active. */
export type ActivityView = ReadonlyMap<number, number | null>;

export function recordKey(pid: number, startTicks: number): string {
  return `${pid}:${startTicks}`;
}

export function emptyHistory(bootId: string): ActivityHistory {
  return { bootId, records: new Map() };
}

/**
 * Folds a snapshot into the history and returns what it says about each process. A process whose
 * counters changed since the last look was active now. Records of processes not in this snapshot are
 * kept (another gateway's reaper may share the file); the caller prunes the dead ones.
 */
export function observe(history: ActivityHistory, snapshot: Snapshot, nowMs: number): Map<number, number | null> {
  const view = new Map<number, number | null>();
  // Escaped orphans (--orphans) take part in keep-newest too, so their activity counts the same way.
  const escaped = snapshot.escaped?.procs.values() ?? [];
  for (const p of [...snapshot.procs.values(), ...escaped]) {
    if (p.io === null) {
      view.set(p.pid, null);
      continue;
    }
    const fingerprint = `${p.io.rchar}/${p.io.wchar}/${p.io.syscr}/${p.io.syscw}/${p.utimeTicks + p.stimeTicks}`;
    const key = recordKey(p.pid, p.startTicks);
    const known = history.records.get(key);
    if (!known) {
      history.records.set(key, { fingerprint, lastChangeMs: nowMs, seenMs: nowMs });
      view.set(p.pid, null);
    } else {
      if (known.fingerprint !== fingerprint) {
        known.fingerprint = fingerprint;
        known.lastChangeMs = nowMs;
      }
      known.seenMs = nowMs;
      view.set(p.pid, Math.max(0, nowMs - known.lastChangeMs));
    }
  }
  return view;
}

/**
 * How long a set of processes has been idle: the least idle member decides. Null when any member is
 * unknown, because one process we cannot see may be the one doing the work.
 */
export function idleForMs(pids: readonly number[], view: ActivityView): number | null {
  let idle = Infinity;
  for (const pid of pids) {
    const ms = view.get(pid);
    if (ms === undefined || ms === null) return null;
    idle = Math.min(idle, ms);
  }
  return idle === Infinity ? null : idle;
}
