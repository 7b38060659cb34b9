// Per-run state: made once when a run starts (a one-shot run or a loop) and handed to every pass. The
// lock, the metrics file, what we know of the gateway, and the error throttle live here, not in globals.
import type { PassConfig } from "../config.js";
import type { ActivityHistory } from "../decide/activity.js";
import { openHistory, runPass, type PassResult } from "../pass.js";
import { GatewayNotFoundError, type GatewaySpec } from "../proc/gateway.js";
import { GatewayGoneError } from "../proc/snapshot.js";
import type { ReportEvent } from "../report/events.js";
import { MetricsFile } from "../report/metrics.js";
import { acquireLock, lockPathFor, LockHeldError, type Lock } from "./lock.js";

export type Log = (event: ReportEvent) => void;

export const info = (message: string): ReportEvent => ({ kind: "info", at: Date.now(), message });
export const warning = (message: string): ReportEvent => ({ kind: "warning", at: Date.now(), message });
export const error = (message: string): ReportEvent => ({ kind: "error", at: Date.now(), message });

/** The same message at most once per interval; the next one says how many were held back. */
export class Throttle {
  private readonly seen = new Map<string, { lastMs: number; held: number }>();
  constructor(private readonly intervalMs: number) {}

  /** The text to log now, or null to stay quiet. */
  pass(message: string, nowMs: number): string | null {
    const s = this.seen.get(message);
    if (s && nowMs - s.lastMs < this.intervalMs) {
      s.held++;
      return null;
    }
    this.seen.set(message, { lastMs: nowMs, held: 0 });
    return s && s.held > 0 ? `${message} (and ${s.held} more time${s.held === 1 ? "" : "s"} since it was last logged)` : message;
  }
}

/** Errors inside a pass: the same text once per 10 minutes, so a loop every second cannot flood the journal. */
export const ERROR_LOG_INTERVAL_MS = 10 * 60_000;

/** What the loop knows of the gateway across passes: it logs a restart, and an absence once, not every pass. */
export class GatewayWatch {
  private last: { pid: number; startTicks: number } | null = null;
  private absent = false;

  found(g: { pid: number; startTicks: number; comm: string }, log: Log): void {
    if (this.absent) log(info(`gateway is back: pid ${g.pid} (${g.comm})`));
    else if (this.last === null) log(info(`gateway found: pid ${g.pid} (${g.comm})`));
    else if (this.last.pid !== g.pid || this.last.startTicks !== g.startTicks) log(info(`gateway restarted: pid ${this.last.pid} -> ${g.pid}; following it`));
    this.absent = false;
    this.last = { pid: g.pid, startTicks: g.startTicks };
  }

  missing(why: string, log: Log): void {
    if (!this.absent) log(warning(`gateway not found: ${why}; waiting for it (logged again when it is back)`));
    this.absent = true;
  }
}

export interface RunState {
  /** Held for the whole run by a run that may signal; null for dry runs. */
  lock: Lock | null;
  /** --metrics-file, written after every pass; null without it. */
  metrics: MetricsFile | null;
  gateway: GatewayWatch;
  errors: Throttle;
  /** The activity guard's history (--idle), opened at the first pass that needs it and kept in memory. */
  history: ActivityHistory | null;
}

export interface RunOptions {
  gateway: GatewaySpec;
  /** Take the gateway's lock (runs that may signal). */
  lock: boolean;
  metricsFile: string | null;
  env?: NodeJS.ProcessEnv;
}

/** Starts a run: takes the lock (LockHeldError: exit 5) and reads the metrics carried over. */
export function openRun(o: RunOptions, log: Log): RunState {
  const lock = o.lock ? acquireLock(lockPathFor(o.gateway, o.env ?? process.env)) : null;
  if (lock && lock.tookOverFrom !== null) {
    const who = lock.tookOverFrom === "unreadable" ? "an unreadable lock file" : `a stale lock of pid ${lock.tookOverFrom.pid} (no longer running)`;
    log(warning(`took over ${who}: ${lock.path}`));
  }
  const metrics = o.metricsFile === null ? null : new MetricsFile(o.metricsFile);
  if (metrics?.carryOverProblem) log(warning(`metrics: ${metrics.carryOverProblem}`));
  return { lock, metrics, gateway: new GatewayWatch(), errors: new Throttle(ERROR_LOG_INTERVAL_MS), history: null };
}

export function closeRun(state: RunState): void {
  state.lock?.release();
}

/** The loop must stop: another live reaper holds our lock now. */
export class LockLostError extends LockHeldError {}

/** Writes the metrics file; a failure is logged (throttled), never fatal. */
export function writeMetrics(state: RunState, log: Log): void {
  if (!state.metrics) return;
  try {
    state.metrics.write();
  } catch (err) {
    const text = state.errors.pass(`cannot write metrics file ${state.metrics.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, Date.now());
    if (text) log(warning(text));
  }
}

/**
 * One pass of a loop: check the lock, run the pipeline, follow the gateway, count, log. Never throws
 * for a problem inside the pass (logged, throttled); throws LockLostError when the lock is gone to another reaper.
 */
export async function supervisedPass(state: RunState, config: PassConfig, hooks: { signal: AbortSignal }, log: Log): Promise<PassResult | null> {
  const started = Date.now();
  if (state.lock) {
    const c = state.lock.check();
    if (c.state === "lost") throw new LockLostError(`lock ${state.lock.path} now belongs to pid ${c.holder.pid}: stopping`);
    if (c.state === "recreated") log(warning(`lock file ${state.lock.path} had vanished; written again`));
  }
  try {
    if (config.policy.idleMs !== null && state.history === null) {
      const opened = openHistory(config);
      if (opened.warning) log(warning(opened.warning));
      state.history = opened.history;
    }
    const result = await runPass(config, { signal: hooks.signal, ...(state.history ? { history: state.history } : {}) });
    for (const w of result.warnings) log(warning(w));
    state.gateway.found(result.plan.gateway, log);
    state.metrics?.recordPass(result, Date.now());
    log({ kind: "pass", at: Date.now(), result });
    return result;
  } catch (err) {
    if (err instanceof GatewayNotFoundError || err instanceof GatewayGoneError) {
      state.gateway.missing(err.message, log);
      state.metrics?.recordError("gateway_not_found", Date.now(), Date.now() - started);
      return null;
    }
    state.metrics?.recordError("pass", Date.now(), Date.now() - started);
    const text = state.errors.pass(`pass failed: ${err instanceof Error ? err.message : String(err)}`, Date.now());
    if (text) log(error(text));
    return null;
  } finally {
    writeMetrics(state, log);
  }
}
