// Decide: the activity guard's memory. Which processes did I/O or used CPU since we last looked, and when?
// No I/O here: the snapshot brings the counters, the caller brings the clock and persists the history.
import type { Snapshot } from "../proc/snapshot.js";

/** What we remember of one process, keyed by pid + start ticks (a reused pid starts a new record). */
export interface ActivityRecord {
  /** rchar, wchar, syscr, syscw from /proc/PID/io and utime+stime, as one comparable string. */
  fingerprint: string;
  /**
   * The look that noticed the last activity (or the first look, if none was seen since), ms since the
   * epoch: the activity happened at or before it.
   */
  lastChangeMs: number;
  /** When we last saw the process, ms since the epoch. */
  seenMs: number;
  /**
   * The look before the one that noticed the last activity: it happened after this. Null when no
   * activity was seen since the first look (it happened before that look, we cannot say how long before)
   * and in histories written before this field existed.
   */
  changeAfterMs?: number | null;
}

export interface ActivityHistory {
  /** /proc/sys/kernel/random/boot_id: start ticks mean nothing across a reboot. */
  bootId: string;
  records: Map<string, ActivityRecord>;
}

/**
 * How long a process has been idle, as sure as the looks allow: its last activity happened between two
 * looks, so the idle time is at least minMs (counted from the later look) and less than maxMs (from the
 * earlier one). maxMs is null when the activity came before our first look.
 */
export interface IdleSpan {
  minMs: number;
  maxMs: number | null;
}

/** pid -> how long idle; null when unknown (first look, or io unreadable): counts as active. */
export type ActivityView = ReadonlyMap<number, IdleSpan | null>;

/**
 * Housekeeping, not work: a node process's own wake-ups. Measured on @modelcontextprotocol/server-memory
 * (Node 20, sampled every second, no client traffic): after start-up and after each request V8's memory
 * reducer wakes the main loop every 8 s for ~25-40 s (each time one 8-byte read and one 8-byte write: the
 * eventfd of libuv's async handle), then a last GC of 200-1000 such 8-byte transfers and 5-11 CPU ticks,
 * then nothing for minutes. Client traffic never moves in 8-byte units only (a JSON-RPC line is tens of
 * bytes or more: 101 bytes read and 179 written for one tools/call), so a change made only of 8-byte
 * transfers and little CPU is not counted as activity. CPU beyond this bound with no I/O is real work
 * (a long computation) and counts. docs/idle.md has the series.
 */
export const HOUSEKEEPING_CPU_TICKS = 50;
const WAKEUP_BYTES = 8;

export function recordKey(pid: number, startTicks: number): string {
  return `${pid}:${startTicks}`;
}

export function emptyHistory(bootId: string): ActivityHistory {
  return { bootId, records: new Map() };
}

interface Counters {
  rchar: number;
  wchar: number;
  syscr: number;
  syscw: number;
  cpuTicks: number;
}

function fingerprintOf(c: Counters): string {
  return `${c.rchar}/${c.wchar}/${c.syscr}/${c.syscw}/${c.cpuTicks}`;
}

function parseFingerprint(text: string): Counters | null {
  const v = text.split("/").map(Number);
  if (v.length !== 5 || v.some((n) => !Number.isFinite(n))) return null;
  const [rchar, wchar, syscr, syscw, cpuTicks] = v as [number, number, number, number, number];
  return { rchar, wchar, syscr, syscw, cpuTicks };
}

/**
 * Whether the counters moved only by a process's own housekeeping (see HOUSEKEEPING_CPU_TICKS). Pure;
 * an unreadable earlier fingerprint, or counters that went backwards, are work (never less careful).
 */
export function isHousekeeping(before: string, after: Counters): boolean {
  const b = parseFingerprint(before);
  if (!b) return false;
  const dr = after.rchar - b.rchar;
  const dw = after.wchar - b.wchar;
  const dsr = after.syscr - b.syscr;
  const dsw = after.syscw - b.syscw;
  const dcpu = after.cpuTicks - b.cpuTicks;
  if ([dr, dw, dsr, dsw, dcpu].some((d) => d < 0)) return false;
  return dr === WAKEUP_BYTES * dsr && dw === WAKEUP_BYTES * dsw && dcpu <= HOUSEKEEPING_CPU_TICKS;
}

/** The idle span a record says at nowMs. */
export function spanOf(record: ActivityRecord, nowMs: number): IdleSpan {
  const after = record.changeAfterMs ?? null;
  return { minMs: Math.max(0, nowMs - record.lastChangeMs), maxMs: after === null ? null : Math.max(0, nowMs - after) };
}

/**
 * Folds a snapshot into the history and returns what it says about each process. Counters that changed
 * since the last look (beyond housekeeping) date the activity between that look and this one. Records of
 * processes not in this snapshot are kept (another gateway's reaper may share the file); the caller
 * prunes the dead ones.
 */
export function observe(history: ActivityHistory, snapshot: Snapshot, nowMs: number): Map<number, IdleSpan | null> {
  const view = new Map<number, IdleSpan | null>();
  // Escaped orphans (--orphans) take part in keep-newest too, so their activity counts the same way.
  const escaped = snapshot.escaped?.procs.values() ?? [];
  for (const p of [...snapshot.procs.values(), ...escaped]) {
    if (p.io === null) {
      view.set(p.pid, null);
      continue;
    }
    const counters: Counters = { ...p.io, cpuTicks: p.utimeTicks + p.stimeTicks };
    const fingerprint = fingerprintOf(counters);
    const key = recordKey(p.pid, p.startTicks);
    const known = history.records.get(key);
    if (!known) {
      history.records.set(key, { fingerprint, lastChangeMs: nowMs, seenMs: nowMs, changeAfterMs: null });
      view.set(p.pid, null);
      continue;
    }
    if (known.fingerprint !== fingerprint) {
      if (!isHousekeeping(known.fingerprint, counters)) {
        known.changeAfterMs = known.seenMs;
        known.lastChangeMs = nowMs;
      }
      known.fingerprint = fingerprint;
    }
    known.seenMs = nowMs;
    view.set(p.pid, spanOf(known, nowMs));
  }
  return view;
}

/**
 * How long a set of processes has been idle: the least idle member decides, for both bounds. Null when
 * any member is unknown, because one process we cannot see may be the one doing the work.
 */
export function idleSpanOf(pids: readonly number[], view: ActivityView): IdleSpan | null {
  let min = Infinity;
  let max: number | null = null;
  let anyMax = false;
  for (const pid of pids) {
    const span = view.get(pid);
    if (span === undefined || span === null) return null;
    min = Math.min(min, span.minMs);
    if (span.maxMs !== null) {
      max = anyMax ? Math.min(max as number, span.maxMs) : span.maxMs;
      anyMax = true;
    }
  }
  if (min === Infinity) return null;
  // A member known to be idle less than M bounds the whole set (the set's last activity is its latest).
  return { minMs: min, maxMs: max === null ? null : Math.max(min, max) };
}
