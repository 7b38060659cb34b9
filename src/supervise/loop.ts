// The supervisor: run a pass on a cron schedule until SIGTERM/SIGINT, never two at once, following the
// gateway across restarts and re-reading the options file on SIGHUP. Only start-up problems are fatal.
import { EXIT, type PassConfig } from "../config.js";
import { GatewayNotFoundError, resolveGateway, type GatewaySpec } from "../proc/gateway.js";
import { GatewayGoneError, protectedPidsOf } from "../proc/snapshot.js";
import { mayLock } from "./lock.js";
import { releaseGarbage } from "./memory.js";
import { closeRun, error, holdGatewayLock, info, openRun, releaseGatewayLock, supervisedPass, warning, type Log, type RunState } from "./run.js";
import type { Schedule } from "./schedule.js";
import { MetricsFile } from "../report/metrics.js";
import type { PassResult } from "../pass.js";
import { PressureWatch, shownPressure } from "./pressure.js";
import type { PressureConfig } from "./trigger.js";

/** Everything an options-file reload may change. */
export interface LoopSettings {
  config: PassConfig;
  schedule: Schedule;
  metricsFile: string | null;
  /** The settings as name -> text, to log what a reload changed. */
  shown: Record<string, string>;
  /** Pressure triggers looked at between passes (--memory-low, --tasks-low, --memory-psi). Default null (none). */
  pressure?: PressureConfig | null;
}

/** A reload request (SIGHUP): the handler only sets it and wakes the loop; the loop does the work. */
export class Wake {
  private pending = false;
  private listeners = new Set<() => void>();

  request(): void {
    this.pending = true;
    for (const l of [...this.listeners]) l();
  }

  /** True once per request. */
  take(): boolean {
    const was = this.pending;
    this.pending = false;
    return was;
  }

  get requested(): boolean {
    return this.pending;
  }

  on(l: () => void): void {
    this.listeners.add(l);
  }

  off(l: () => void): void {
    this.listeners.delete(l);
  }
}

export interface LoopDeps {
  /** Aborted by SIGTERM/SIGINT: cuts the wait, and the grace wait of a pass in progress. */
  stop: AbortSignal;
  wake: Wake;
  /** Builds fresh settings from the options file (throws UsageError on a bad one). */
  reload: () => Promise<LoopSettings>;
  log: Log;
}

/** Longest single timer: the wall clock is looked at again after it, so a clock jump or a suspend is noticed. */
const MAX_SLEEP_MS = 30_000;

/** Waits until `atMs` on the wall clock, or until stopped or woken. */
async function sleepUntil(atMs: number, stop: AbortSignal, wake: Wake): Promise<void> {
  while (!stop.aborted && !wake.requested) {
    const leftMs = atMs - Date.now();
    if (leftMs <= 0) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        stop.removeEventListener("abort", done);
        wake.off(done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(leftMs, MAX_SLEEP_MS));
      stop.addEventListener("abort", done, { once: true });
      wake.on(done);
    });
  }
}

export function describeSpec(g: GatewaySpec): string {
  if (g.kind === "pid") return `pid ${g.pid}`;
  if (g.kind === "name") return `name ${JSON.stringify(g.name)}${g.all ? " (--all: each one)" : ""}`;
  if (g.kind === "host") return "none (host-wide orphans)";
  if (g.kind === "pidfile") return `pidfile ${g.path}`;
  return `${g.user ? "user unit" : "unit"} ${g.unit}`;
}


/** Scheduled slots in (afterMs, untilMs], bounded: how many an overrunning pass made us miss. */
function missedSlots(schedule: Schedule, afterMs: number, untilMs: number): number {
  let n = 0;
  for (let t = schedule.nextAfter(afterMs); t.atMs <= untilMs && n < 10_000; t = schedule.nextAfter(t.atMs)) n++;
  return n;
}

/**
 * Applies reloaded settings to the run: a dry run lets go of the lock, a run that may signal locks the
 * gateway its next pass resolves (whatever spec names it); a new metrics file gets its own counters.
 */
function applySettings(state: RunState, old: LoopSettings, next: LoopSettings, log: Log): void {
  state.locking = mayLock(next.config);
  if (!state.locking) releaseGatewayLock(state);
  if (next.metricsFile !== old.metricsFile) state.metrics = next.metricsFile === null ? null : new MetricsFile(next.metricsFile);
  const changed = Object.keys({ ...old.shown, ...next.shown })
    .filter((k) => old.shown[k] !== next.shown[k])
    .map((k) => `${k} ${old.shown[k] ?? "(unset)"} -> ${next.shown[k] ?? "(unset)"}`);
  log(info(changed.length ? `reloaded options: ${changed.join(", ")}` : "reloaded options: nothing changed"));
}

/**
 * Start-up: lock the gateway the spec names now, so a second reaper on a gateway already watched exits 5
 * at once. A gateway not there yet is no error: the first pass that finds it locks it.
 */
function claimAtStart(state: RunState, config: PassConfig, log: Log): void {
  if (!state.locking) return;
  let gateway;
  try {
    gateway = resolveGateway(config.gateway, config.procRoot, protectedPidsOf(config.procRoot, process.pid));
  } catch (err) {
    if (err instanceof GatewayNotFoundError || err instanceof GatewayGoneError) return;
    throw err;
  }
  holdGatewayLock(state, gateway, log);
}

/** What the loop does at each slot: one supervised pass, then its garbage handed back before the wait. */
export async function loopPass(state: RunState, config: PassConfig, stop: AbortSignal, log: Log): Promise<PassResult | null> {
  const result = await supervisedPass(state, config, { signal: stop }, log);
  releaseGarbage();
  return result;
}

/**
 * Waits for the slot at `atMs` as sleepUntil does, looking at the pressure triggers every everyMs
 * meanwhile (the first look at once). "pressure" when a trigger says a pass is due now.
 */
async function waitForSlot(atMs: number, stop: AbortSignal, wake: Wake, pressure: PressureWatch | null): Promise<"slot" | "pressure"> {
  if (pressure === null) {
    await sleepUntil(atMs, stop, wake);
    return "slot";
  }
  while (!stop.aborted && !wake.requested && Date.now() < atMs) {
    if (pressure.look(Date.now())) return "pressure";
    await sleepUntil(Math.min(atMs, Date.now() + pressure.config.everyMs), stop, wake);
  }
  return "slot";
}

/** The pressure watch of these settings, following the gateway as it stands now (--tasks-low watches its limit). */
function watchFor(settings: LoopSettings, log: Log): PressureWatch | null {
  if (!settings.pressure) return null;
  const watch = new PressureWatch(settings.pressure, settings.config.procRoot, log);
  if (settings.pressure.tasksLow !== null) {
    try {
      watch.follow(resolveGateway(settings.config.gateway, settings.config.procRoot, protectedPidsOf(settings.config.procRoot, process.pid)).pid);
    } catch (err) {
      if (!(err instanceof GatewayNotFoundError || err instanceof GatewayGoneError)) throw err;
    }
  }
  return watch;
}

function describePressure(p: PressureConfig | null | undefined): string {
  if (!p) return "";
  const on = Object.entries(shownPressure(p)).filter(([k, v]) => k !== "pressure-every" && v !== "(off)");
  return `, pressure ${on.map(([k, v]) => `${k} ${v}`).join(", ")} (a look every ${p.everyMs}ms)`;
}

/**
 * Runs passes on the schedule until `stop` aborts; resolves to the exit code (0 when stopped by a signal).
 * Throws LockHeldError at start-up (exit 5) when the gateway is locked by another live reaper then; later,
 * a pass that finds its gateway locked logs it and does not act. Passes never overlap: a pass that runs past its next slot
 * makes that slot wait; the missed slots are run once, right after, and the log says so.
 */
export async function runLoop(first: LoopSettings, deps: LoopDeps): Promise<number> {
  const { stop, wake, log } = deps;
  let settings = first;
  const state = openRun({ lock: mayLock(first.config), metricsFile: first.metricsFile }, log);
  try {
    claimAtStart(state, first.config, log);
    log(
      info(
        `started: schedule "${settings.schedule.expression}" (${settings.schedule.tz}), gateway ${describeSpec(settings.config.gateway)}` +
          `${settings.config.dryRun ? ", dry run" : ""}${state.lock ? `, lock ${state.lock.lock.path}` : ""}${describePressure(settings.pressure)}`,
      ),
    );
    let pressure = watchFor(settings, log);
    let next = settings.schedule.nextAfter(Date.now());
    while (!stop.aborted) {
      if (next.fallback) log(warning(`schedule "${settings.schedule.expression}" gave no next run time; trying again at ${new Date(next.atMs).toISOString()}`));
      const why = await waitForSlot(next.atMs, stop, wake, pressure);
      if (stop.aborted) break;
      if (why === "pressure" && pressure !== null) {
        // Same policy, same one-at-a-time loop: the pass runs here, between slots.
        const result = await loopPass(state, settings.config, stop, log);
        pressure.passed(Date.now());
        pressure.follow(result?.plan.gateway.pid ?? null);
        // A slot the pressure pass ran through is not run again right after it.
        if (Date.now() >= next.atMs) next = settings.schedule.nextAfter(Date.now());
        continue;
      }
      if (wake.take()) {
        try {
          const fresh = await deps.reload();
          applySettings(state, settings, fresh, log);
          const scheduleChanged = fresh.schedule.expression !== settings.schedule.expression || fresh.schedule.tz !== settings.schedule.tz;
          const pressureChanged = JSON.stringify(fresh.pressure ?? null) !== JSON.stringify(settings.pressure ?? null) || fresh.config.procRoot !== settings.config.procRoot;
          settings = fresh;
          if (pressureChanged) pressure = watchFor(settings, log);
          if (scheduleChanged) next = settings.schedule.nextAfter(Date.now());
        } catch (err) {
          log(error(`reload failed: ${(err as Error).message}; keeping the old options`));
        }
        continue;
      }
      if (Date.now() < next.atMs) continue;
      const slotMs = next.atMs;
      const result = await loopPass(state, settings.config, stop, log);
      pressure?.passed(Date.now());
      pressure?.follow(result?.plan.gateway.pid ?? null);
      if (stop.aborted) break;
      const endedMs = Date.now();
      next = settings.schedule.nextAfter(slotMs);
      if (!next.fallback && next.atMs <= endedMs) {
        const missed = missedSlots(settings.schedule, slotMs, endedMs);
        log(warning(`pass took ${((endedMs - slotMs) / 1000).toFixed(1)}s and ran past ${missed} scheduled start${missed === 1 ? "" : "s"}: the next pass starts now, not in parallel`));
        next = { atMs: endedMs, fallback: false };
      }
    }
    log(info(`stopping (${String(stop.reason ?? "signal")})`));
    return EXIT.OK;
  } finally {
    closeRun(state);
  }
}
