// Per-run state: made once when a run starts (a one-shot run or a loop) and handed to every pass. The
// lock, the metrics file, what we know of the gateway, and the error throttle live here, not in globals.
import type { PassConfig } from "../config.js";
import type { ActivityHistory } from "../decide/activity.js";
import { openHistory, runPass, type PassResult } from "../pass.js";
import type { GatewayIdentity } from "../proc/gateway.js";
import { GatewayNotFoundError } from "../proc/gateway.js";
import { GatewayGoneError } from "../proc/snapshot.js";
import type { ReportEvent } from "../report/events.js";
import { MetricsFile } from "../report/metrics.js";
import { heldMessage, LockDirError, lockGateway, LockHeldError, type Lock } from "./lock.js";

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
  /** Take gateway locks: a run that may signal (mayLock); false for dry runs and --check. */
  locking: boolean;
  /** The lock of the gateway process last resolved, held between passes; null before it is taken or when not locking. */
  lock: { gateway: GatewayIdentity; lock: Lock } | null;
  /** Read for MCP_REAPER_LOCK_DIR only, the one override of the lock directory. */
  env: NodeJS.ProcessEnv;
  /** --metrics-file, written after every pass; null without it. */
  metrics: MetricsFile | null;
  gateway: GatewayWatch;
  errors: Throttle;
  /** The activity guard's history (--idle), opened at the first pass that needs it and kept in memory. */
  history: ActivityHistory | null;
}

export interface RunOptions {
  /** Take the lock of each gateway a pass resolves (runs that may signal). */
  lock: boolean;
  metricsFile: string | null;
  env?: NodeJS.ProcessEnv;
}

/** Starts a run: reads the metrics carried over. Locks are taken per resolved gateway (holdGatewayLock). */
export function openRun(o: RunOptions, log: Log): RunState {
  const metrics = o.metricsFile === null ? null : new MetricsFile(o.metricsFile);
  if (metrics?.carryOverProblem) log(warning(`metrics: ${metrics.carryOverProblem}`));
  return { locking: o.lock, lock: null, env: o.env ?? process.env, metrics, gateway: new GatewayWatch(), errors: new Throttle(ERROR_LOG_INTERVAL_MS), history: null };
}

export function closeRun(state: RunState): void {
  releaseGatewayLock(state);
}

/** Lets go of the gateway lock we hold, if any (a dry run after a reload, the end of the run). */
export function releaseGatewayLock(state: RunState): void {
  state.lock?.lock.release();
  state.lock = null;
}

/**
 * The onGateway hook of a run that may signal: hold the lock of the gateway process this pass resolved,
 * before it acts. Keeps the lock it already holds, or lets go of a restarted gateway's and takes the new
 * one's. Throws LockHeldError when another live reaper holds it (one-shot: exit 5; loop: the pass does
 * not act) and LockDirError when the lock directory cannot be trusted.
 */
export function holdGatewayLock(state: RunState, gateway: GatewayIdentity, log: Log): void {
  if (!state.locking) return;
  const held = state.lock;
  if (held && held.gateway.pid === gateway.pid && held.gateway.startTicks === gateway.startTicks) {
    const c = held.lock.check();
    if (c.state !== "lost") {
      if (c.state === "recreated") log(warning(`lock file ${held.lock.path} had vanished; written again`));
      return;
    }
    state.lock = null; // another reaper's now: nothing of ours to release
    throw new LockHeldError(heldMessage(held.lock.path, c.holder));
  }
  releaseGatewayLock(state);
  const lock = lockGateway(gateway, state.env);
  if (lock.tookOverFrom !== null) {
    const who = lock.tookOverFrom === "unreadable" ? "an unreadable lock file" : `a stale lock of pid ${lock.tookOverFrom.pid} (no longer running)`;
    log(warning(`took over ${who}: ${lock.path}`));
  }
  state.lock = { gateway, lock };
}

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
 * One pass of a loop: run the pipeline (which locks the gateway it resolves), follow the gateway, count,
 * log. Never throws: a problem inside the pass is logged (throttled). A gateway locked by another live
 * reaper is logged (throttled) and the pass does not act; the next pass tries again.
 */
export async function supervisedPass(state: RunState, config: PassConfig, hooks: { signal: AbortSignal }, log: Log): Promise<PassResult | null> {
  const started = Date.now();
  try {
    if (config.policy.idleMs !== null && state.history === null) {
      const opened = openHistory(config);
      if (opened.warning) log(warning(opened.warning));
      state.history = opened.history;
    }
    const result = await runPass(config, { signal: hooks.signal, onGateway: (g) => holdGatewayLock(state, g, log), ...(state.history ? { history: state.history } : {}) });
    for (const w of result.warnings) {
      // A session store that cannot be read stays so pass after pass: said once per throttle interval.
      const text = w.startsWith("sessions") ? state.errors.pass(w, Date.now()) : w;
      if (text) log(warning(text));
    }
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
    if (err instanceof LockHeldError || err instanceof LockDirError) {
      const text = state.errors.pass(`not acting this pass: ${err.message}`, Date.now());
      if (text) log(warning(text));
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
