// Decide, for pressure: given a look at the host and what came before, is a pass due now? Pure, so the
// hysteresis and the rate bound are table tests.
import { formatBytes } from "../report/events.js";

/** --memory-low: an absolute MemAvailable floor, or a share of MemTotal. */
export type MemoryLow = { kind: "bytes"; bytes: number } | { kind: "percent"; percent: number };

/** The supervisor's pressure triggers (each null when off) and how often they are looked at. */
export interface PressureConfig {
  /** --memory-low: MemAvailable below this runs a pass. Default null (off). */
  memoryLow: MemoryLow | null;
  /** --tasks-low: fewer tasks than this left before the gateway's task limit runs a pass. Default null (off). */
  tasksLow: number | null;
  /** --memory-psi: /proc/pressure/memory `some avg10` above this percentage runs a pass. Default null (off). */
  memoryPsi: number | null;
  /** --pressure-every: time between looks. Default 2 000 ms. */
  everyMs: number;
}

export const DEFAULT_PRESSURE_EVERY_MS = 2000;
/** At most one pressure pass per this many looks' time while a trigger stays crossed: a pass that freed nothing is not repeated every look. */
export const PRESSURE_COOLDOWN_LOOKS = 5;

/** One look: each figure null when not watched or not readable. */
export interface PressureReading {
  memAvailableBytes: number | null;
  memTotalBytes: number | null;
  psiSomeAvg10: number | null;
  tasksLeft: number | null;
  /** Which limit tasksLeft is counted against, for the log ("cgroup .../pids.max 512"). */
  tasksLimit: string | null;
}

export type TriggerName = "memory" | "tasks" | "psi";

export interface TriggerState {
  /** Triggers crossed at the last look (they stay crossed until they recover past their band). */
  crossed: ReadonlySet<TriggerName>;
}

export const INITIAL_TRIGGER_STATE: TriggerState = { crossed: new Set() };

export interface TriggerDecision {
  state: TriggerState;
  /** Run a pass now. */
  run: boolean;
  /** Why, one clause per crossed trigger ("memory pressure: MemAvailable 212.0 MB < 300.0 MB"). */
  reasons: string[];
  /** Triggers that recovered at this look, in words, for one log line each. */
  cleared: string[];
}

/**
 * Hysteresis bands: a trigger crossed at its threshold clears only once the figure is this far back on the
 * safe side, so a figure hovering at the threshold does not flip it at every look. 10% of the threshold
 * (MemAvailable, tasks, at least one task); PSI clears at 80% of its percentage, as avg10 decays slowly.
 */
const MEMORY_BAND = 1.1;
const TASKS_BAND = 0.1;
const PSI_BAND = 0.8;

/** The MemAvailable floor in bytes, or null when it is a percentage and MemTotal is unknown. */
export function memoryFloorBytes(low: MemoryLow, memTotalBytes: number | null): number | null {
  if (low.kind === "bytes") return low.bytes;
  return memTotalBytes === null ? null : Math.round((memTotalBytes * low.percent) / 100);
}

interface Check {
  name: TriggerName;
  /** Null: not watched or nothing read: never crossed (missing evidence never makes passes more frequent). */
  below: boolean | null;
  recovered: boolean;
  reason: string;
  /** The reason while crossed but back above the threshold, not yet past the band. */
  held: string;
  clear: string;
}

function checks(c: PressureConfig, r: PressureReading): Check[] {
  const out: Check[] = [];
  if (c.memoryLow) {
    const floor = memoryFloorBytes(c.memoryLow, r.memTotalBytes);
    const avail = r.memAvailableBytes;
    const known = floor !== null && avail !== null;
    const band = floor === null ? 0 : Math.round(floor * MEMORY_BAND);
    out.push({
      name: "memory",
      below: known ? avail < floor : null,
      recovered: known ? avail >= band : true,
      reason: known ? `memory pressure: MemAvailable ${formatBytes(avail)} < ${formatBytes(floor)}` : "",
      held: known ? `memory pressure: MemAvailable ${formatBytes(avail)} not yet back to ${formatBytes(band)}` : "",
      clear: known ? `memory pressure over: MemAvailable ${formatBytes(avail)} >= ${formatBytes(band)}` : "memory pressure: MemAvailable not readable; trigger idle",
    });
  }
  if (c.tasksLow !== null) {
    const left = r.tasksLeft;
    const band = c.tasksLow + Math.max(1, Math.ceil(c.tasksLow * TASKS_BAND));
    const limit = r.tasksLimit ? ` (${r.tasksLimit})` : "";
    out.push({
      name: "tasks",
      below: left === null ? null : left < c.tasksLow,
      recovered: left === null ? true : left >= band,
      reason: `task pressure: ${left} task${left === 1 ? "" : "s"} left < ${c.tasksLow}${limit}`,
      held: `task pressure: ${left} tasks left, not yet back to ${band}${limit}`,
      clear: left === null ? "task pressure: task limit not readable; trigger idle" : `task pressure over: ${left} tasks left >= ${band}${limit}`,
    });
  }
  if (c.memoryPsi !== null) {
    const avg = r.psiSomeAvg10;
    const band = c.memoryPsi * PSI_BAND;
    out.push({
      name: "psi",
      below: avg === null ? null : avg > c.memoryPsi,
      recovered: avg === null ? true : avg <= band,
      reason: `memory pressure: PSI some avg10 ${avg}% > ${c.memoryPsi}%`,
      held: `memory pressure: PSI some avg10 ${avg}%, not yet down to ${band}%`,
      clear: avg === null ? "memory pressure: PSI not readable; trigger idle" : `memory pressure over: PSI some avg10 ${avg}% <= ${band}%`,
    });
  }
  return out;
}

/**
 * One look's decision. A trigger crosses when its figure passes the threshold and stays crossed until it
 * recovers past its band (or can no longer be read). While any is crossed a pass runs, but never sooner
 * than everyMs x PRESSURE_COOLDOWN_LOOKS after the end of the last pass of any kind (`lastPassEndMs`,
 * null before the first): passes never overlap (the loop runs one at a time), and a pass that could
 * not help is not repeated at every look.
 */
export function assess(c: PressureConfig, r: PressureReading, prev: TriggerState, nowMs: number, lastPassEndMs: number | null): TriggerDecision {
  const crossed = new Set<TriggerName>();
  const reasons: string[] = [];
  const cleared: string[] = [];
  for (const k of checks(c, r)) {
    const was = prev.crossed.has(k.name);
    const now = k.below === null ? false : was ? !k.recovered : k.below;
    if (now) {
      crossed.add(k.name);
      reasons.push(k.below ? k.reason : k.held);
    } else if (was) cleared.push(k.clear);
  }
  const cooldownMs = c.everyMs * PRESSURE_COOLDOWN_LOOKS;
  const due = lastPassEndMs === null || nowMs - lastPassEndMs >= cooldownMs;
  return { state: { crossed }, run: crossed.size > 0 && due, reasons, cleared };
}
