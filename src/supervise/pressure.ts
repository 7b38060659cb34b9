// The supervisor's pressure triggers: their options, the look at the host between passes (a few small
// file reads, no process walk), and the watch that turns looks into "pass now" with a log line saying why.
import { Option, type Command } from "commander";
import { UsageError, parseDuration, parsePositiveInt } from "../config.js";
import { hostTasks, nprocLimitOf, pidsLeft, pidsLimitsOf, readMemoryPsi, readMeminfo, userTasks, type PidsLevel } from "../proc/memread.js";
import { arg } from "../options.js";
import { formatBytes } from "../report/events.js";
import { assess, DEFAULT_PRESSURE_EVERY_MS, INITIAL_TRIGGER_STATE, type MemoryLow, type PressureConfig, type PressureReading, type TriggerState } from "./trigger.js";
import { info, warning, type Log } from "./run.js";

const SIZE_UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** `300M`, `1.5G`, `512K` (powers of 1024; `MB`, `MiB` too), or `10%` of MemTotal. A bare number is refused: bytes or megabytes would be a guess. */
export function parseMemoryLow(text: string): MemoryLow {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (pct) {
    const percent = Number(pct[1]);
    if (!(percent > 0 && percent < 100)) throw new UsageError(`--memory-low: a percentage of MemTotal must be above 0 and below 100, got ${JSON.stringify(text)}`);
    return { kind: "percent", percent };
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`--memory-low must be a size such as 300M or 1G, or a percentage of MemTotal such as 10%, got ${JSON.stringify(text)}`);
  const bytes = Math.round(Number(m[1]) * (SIZE_UNITS[(m[2] as string).toUpperCase()] as number));
  if (bytes < 1 || !Number.isSafeInteger(bytes)) throw new UsageError(`--memory-low out of range: ${JSON.stringify(text)}`);
  return { kind: "bytes", bytes };
}

/** A PSI percentage, above 0 and at most 100 (`20` or `20%`). */
export function parsePsiPercent(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const pct = m ? Number(m[1]) : NaN;
  if (!(pct > 0 && pct <= 100)) throw new UsageError(`--memory-psi must be a percentage above 0 and at most 100 (some avg10 of /proc/pressure/memory), got ${JSON.stringify(text)}`);
  return pct;
}

/** At least 100 ms between looks: each costs ~0.1 ms, but a look every few ms would be a busy loop. */
export function parsePressureEvery(text: string): number {
  const ms = parseDuration(text);
  if (ms < 100) throw new UsageError(`--pressure-every must be at least 100ms, got ${JSON.stringify(text)}`);
  return ms;
}

const GROUP = "Pressure (supervisor, between scheduled passes):";

/** The flags that only the supervisor uses: `systemd print` puts them on the supervisor's ExecStart= line alone. */
export const PRESSURE_FLAGS: ReadonlySet<string> = new Set(["--memory-low", "--tasks-low", "--memory-psi", "--pressure-every"]);

/** The pressure options, each also from an MCP_REAPER_* variable (environment, options file). */
export function addPressureOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--memory-low <size|percent>", "with --schedule: a pass at once when MemAvailable drops below this (300M, 1G, or 10% of MemTotal)")
        .argParser(arg(parseMemoryLow))
        .env("MCP_REAPER_MEMORY_LOW")
        .helpGroup(GROUP),
    )
    .addOption(
      new Option("--tasks-low <n>", "with --schedule: a pass at once when fewer than n tasks are left before the gateway's limit (its cgroup's pids.max, else its user's RLIMIT_NPROC)")
        .argParser(arg((t) => parsePositiveInt(t, "--tasks-low")))
        .env("MCP_REAPER_TASKS_LOW")
        .helpGroup(GROUP),
    )
    .addOption(
      new Option("--memory-psi <percent>", "with --schedule: a pass at once when /proc/pressure/memory some avg10 is above this")
        .argParser(arg(parsePsiPercent))
        .env("MCP_REAPER_MEMORY_PSI")
        .helpGroup(GROUP),
    )
    .addOption(
      new Option("--pressure-every <duration>", "how often the pressure triggers are looked at (at most one pressure pass per 5 looks)")
        .argParser(arg(parsePressureEvery))
        .default(DEFAULT_PRESSURE_EVERY_MS, "2s")
        .env("MCP_REAPER_PRESSURE_EVERY")
        .helpGroup(GROUP),
    );
}

/** The parsed pressure options. */
export interface PressureOpts {
  memoryLow?: MemoryLow;
  tasksLow?: number;
  memoryPsi?: number;
  pressureEvery?: number;
}

/** The supervisor's pressure config, or null when no trigger is set. */
export function toPressureConfig(o: PressureOpts): PressureConfig | null {
  if (o.memoryLow === undefined && o.tasksLow === undefined && o.memoryPsi === undefined) return null;
  return { memoryLow: o.memoryLow ?? null, tasksLow: o.tasksLow ?? null, memoryPsi: o.memoryPsi ?? null, everyMs: o.pressureEvery ?? DEFAULT_PRESSURE_EVERY_MS };
}

/** A one-shot run has no time between passes: a trigger given on its command line is a usage error (from a shared options file or the environment it is left unused). */
export function refusePressureWithoutSchedule(cmd: Command): void {
  for (const flag of PRESSURE_FLAGS) {
    const opt = cmd.options.find((o) => o.long === flag);
    if (opt && cmd.getOptionValueSource(opt.attributeName()) === "cli") throw new UsageError(`${flag} works in the supervisor, between scheduled passes: add --schedule`);
  }
}

/** The settings as shown in the loop's reload log. */
export function shownPressure(p: PressureConfig | null): Record<string, string> {
  const low = p?.memoryLow;
  return {
    "memory-low": !low ? "(off)" : low.kind === "bytes" ? formatBytes(low.bytes) : `${low.percent}%`,
    "tasks-low": p?.tasksLow == null ? "(off)" : String(p.tasksLow),
    "memory-psi": p?.memoryPsi == null ? "(off)" : `${p.memoryPsi}%`,
    "pressure-every": p ? `${p.everyMs}ms` : "(off)",
  };
}

/** What --tasks-low counts against for one gateway: cgroup pids limits, or its user's RLIMIT_NPROC. */
type TaskLimit =
  | { kind: "cgroup"; levels: PidsLevel[] }
  | { kind: "nproc"; uid: number; limit: number }
  | { kind: "none"; why: string };

function taskLimitOf(procRoot: string, gatewayPid: number): TaskLimit {
  const levels = pidsLimitsOf(procRoot, gatewayPid);
  if (levels.length > 0) return { kind: "cgroup", levels };
  const nproc = nprocLimitOf(procRoot, gatewayPid);
  if (nproc === null) return { kind: "none", why: "the gateway's cgroup has no pids.max and its limits are not readable" };
  // The kernel does not hold root (or CAP_SYS_RESOURCE / CAP_SYS_ADMIN) to RLIMIT_NPROC.
  if (nproc.uid === 0) return { kind: "none", why: "no pids.max on the gateway's cgroups, and RLIMIT_NPROC does not bind root" };
  if (nproc.limit === null) return { kind: "none", why: `no pids.max on the gateway's cgroups, and uid ${nproc.uid} has no RLIMIT_NPROC` };
  return { kind: "nproc", uid: nproc.uid, limit: nproc.limit };
}

function describeLimit(t: TaskLimit): string {
  if (t.kind === "cgroup") return t.levels.map((l) => `${l.dir}/pids.max ${l.max}`).join(", ");
  if (t.kind === "nproc") return `RLIMIT_NPROC ${t.limit} of uid ${t.uid}`;
  return t.why;
}

/**
 * Reads what the triggers need, and nothing else: /proc/meminfo (--memory-low), /proc/pressure/memory
 * (--memory-psi), pids.current of the gateway's limited cgroups (--tasks-low). Without a cgroup limit,
 * RLIMIT_NPROC is counted against the user's tasks; /proc/loadavg's host-wide task count bounds that
 * from above, so the user's tasks are walked only when even the host's count is within n of the limit.
 */
export class PressureSensor {
  private limit: TaskLimit | null = null;

  constructor(
    private readonly config: PressureConfig,
    private readonly procRoot: string,
  ) {}

  /** After each pass: the gateway found (null: none), whose task limit --tasks-low watches. Returns a line to log when what is watched changed. */
  target(gatewayPid: number | null): string | null {
    if (this.config.tasksLow === null) return null;
    const before = this.limit === null ? null : describeLimit(this.limit);
    this.limit = gatewayPid === null ? null : taskLimitOf(this.procRoot, gatewayPid);
    const now = this.limit === null ? null : describeLimit(this.limit);
    if (now === before || now === null) return null;
    return this.limit?.kind === "none" ? `--tasks-low ${this.config.tasksLow}: nothing to watch (${now})` : `--tasks-low ${this.config.tasksLow}: watching ${now}`;
  }

  look(): PressureReading {
    const c = this.config;
    const mem = c.memoryLow ? readMeminfo(this.procRoot) : null;
    const reading: PressureReading = {
      memAvailableBytes: mem?.memAvailableBytes ?? null,
      memTotalBytes: mem?.memTotalBytes ?? null,
      psiSomeAvg10: c.memoryPsi !== null ? readMemoryPsi(this.procRoot) : null,
      tasksLeft: null,
      tasksLimit: null,
    };
    const t = this.limit;
    if (c.tasksLow === null || t === null || t.kind === "none") return reading;
    if (t.kind === "cgroup") {
      reading.tasksLeft = pidsLeft(t.levels);
      const tightest = t.levels.length === 1 ? t.levels[0] : null;
      reading.tasksLimit = tightest ? `pids.max ${tightest.max}` : "cgroup pids.max";
      return reading;
    }
    reading.tasksLimit = `RLIMIT_NPROC ${t.limit} of uid ${t.uid}`;
    const host = hostTasks(this.procRoot);
    if (host === null) return reading;
    // The user's tasks are at most the host's: if even those leave n, there is no need to count them.
    reading.tasksLeft = t.limit - host >= c.tasksLow ? t.limit - host : t.limit - userTasks(this.procRoot, t.uid);
    return reading;
  }

  /** Whether /proc/pressure/memory is there to read (--memory-psi is idle without it). */
  psiAvailable(): boolean {
    return readMemoryPsi(this.procRoot) !== null;
  }
}

/** The loop's pressure state: the sensor, the triggers' hysteresis, when the last pass ended. */
export class PressureWatch {
  private state: TriggerState = INITIAL_TRIGGER_STATE;
  private lastPassEndMs: number | null = null;
  readonly sensor: PressureSensor;

  constructor(
    readonly config: PressureConfig,
    procRoot: string,
    private readonly log: Log,
  ) {
    this.sensor = new PressureSensor(config, procRoot);
    if (config.memoryPsi !== null && !this.sensor.psiAvailable()) {
      log(warning(`--memory-psi ${config.memoryPsi}: ${procRoot}/pressure/memory is not there (a kernel without PSI, or booted with psi=0); that trigger stays idle`));
    }
  }

  /** A pass ended (scheduled or pressure): the rate bound counts from here. */
  passed(endedMs: number): void {
    this.lastPassEndMs = endedMs;
  }

  /** The gateway a pass found (null: none): --tasks-low watches its task limit. A pass that found none keeps the last one. */
  follow(gatewayPid: number | null): void {
    if (gatewayPid === null) return;
    const line = this.sensor.target(gatewayPid);
    if (line) this.log(info(line));
  }

  /** One look: true when a pass should run now (the reason is logged). */
  look(nowMs: number): boolean {
    const d = assess(this.config, this.sensor.look(), this.state, nowMs, this.lastPassEndMs);
    this.state = d.state;
    for (const line of d.cleared) this.log(info(line));
    if (d.run) this.log(warning(`${d.reasons.join("; ")}: pass now`));
    return d.run;
  }
}
