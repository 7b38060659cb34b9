// The supervisor on the command line: builds the loop's settings from the options (again on SIGHUP),
// turns SIGTERM/SIGINT/SIGHUP into an AbortController and a reload request, and prints the log lines.
import type { Command } from "commander";
import type { Io } from "../io.js";
import { toPassConfig } from "../options.js";
import { EXIT, UsageError } from "../config.js";
import { errorCode } from "../proc/read.js";
import { describeSpec, runLoop, Wake, type LoopSettings } from "./loop.js";
import type { ReportEvent } from "../report/events.js";
import { formatJson } from "../report/json.js";
import { formatLine, isJournal } from "../report/line.js";
import { layerOptions } from "./layers.js";
import { optionsFileVars } from "./options-file.js";
import { error, warning, type Log } from "./run.js";
import { hostTimeZone, loadSchedule, parseTimeZone } from "./schedule.js";
import { shownPressure, toPressureConfig, type PressureOpts } from "./pressure.js";

/** What the loop reads from the parsed options (toPassConfig reads the rest). */
export interface LoopCliOpts extends PressureOpts {
  schedule?: string;
  tz?: string;
  optionsFile?: string;
  metricsFile?: string;
  check?: boolean;
  json?: boolean;
  keep: number;
  minAge: number;
  grace: number;
  match: RegExp;
  ignore?: RegExp;
  dryRun?: boolean;
}

/** Passes on stdout, everything else on stderr; one line each, priority-prefixed where the stream is the journal. JSON: all on stdout. */
export function loopLog(io: Io, json: boolean): Log {
  const journalOut = isJournal(1, io.env);
  const journalErr = isJournal(2, io.env);
  return (event: ReportEvent) => {
    if (json) io.stdout.write(`${formatJson(event)}\n`);
    else if (event.kind === "pass") io.stdout.write(`${formatLine(event, journalOut)}\n`);
    else io.stderr.write(`${formatLine(event, journalErr)}\n`);
  };
}

async function settingsFrom(o: LoopCliOpts & Parameters<typeof toPassConfig>[0]): Promise<LoopSettings> {
  if (o.check) throw new UsageError("--check is for one-shot runs; it does not go with --schedule");
  const config = toPassConfig(o, process.env);
  const tz = o.tz === undefined ? hostTimeZone() : parseTimeZone(o.tz);
  const schedule = await loadSchedule(o.schedule as string, tz);
  const pressure = toPressureConfig(o);
  return {
    config,
    schedule,
    pressure,
    metricsFile: o.metricsFile ?? null,
    shown: {
      gateway: describeSpec(config.gateway),
      keep: String(config.policy.keep),
      "min-age": `${config.policy.minAgeMs}ms`,
      match: config.policy.match.source,
      ignore: config.policy.ignore?.source ?? "(none)",
      grace: `${config.graceMs}ms`,
      "dry-run": String(config.dryRun),
      "metrics-file": o.metricsFile ?? "(none)",
      idle: config.policy.idleMs === null ? "(off)" : `${config.policy.idleMs}ms`,
      "state-file": config.stateFile ?? "(none)",
      "mcp-config": (config.mcpConfigs ?? []).join(",") || "(none)",
      config: String(config.discoverConfig ?? true),
      "signature-env": (config.policy.signatureEnv ?? []).join(",") || "(none)",
      orphans: config.policy.orphans ? `on ${config.policy.orphans.markers.map(([k, v]) => `${k}=${v}`).join(",")}`.trimEnd() : "off",
      tz,
      ...shownPressure(pressure),
    },
  };
}

type LoopOpts = LoopCliOpts & Parameters<typeof toPassConfig>[0];

/** The options as the loop reads them, at start and on SIGHUP: command line > options file > environment > default. */
function loopOptions(cmd: Command, env: NodeJS.ProcessEnv, warn: (message: string) => void): LoopOpts {
  const path = (cmd.opts() as LoopCliOpts).optionsFile;
  return layerOptions<LoopOpts>(cmd, optionsFileVars(path, warn), env, path ?? "options file");
}

/**
 * `--reload PID` (the supervisor unit's ExecReload=): reads the options as the loop with this command line
 * would on SIGHUP, and signals it only when they are good. Bad options are exit 2 with the reason, so
 * `systemctl reload` fails instead of reporting success while the loop keeps its old options.
 */
export async function reloadCommand(cmd: Command, pid: number, io: Io): Promise<number> {
  try {
    // A missing options file is the loop's to warn about when it reloads; here only errors count.
    await settingsFrom(loopOptions(cmd, io.env, () => undefined));
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`reload refused: ${err.message}; pid ${pid} keeps its options`);
    throw err;
  }
  try {
    process.kill(pid, "SIGHUP");
  } catch (err) {
    throw new UsageError(`--reload: cannot signal pid ${pid}: ${errorCode(err) ?? String(err)}`);
  }
  return EXIT.OK;
}

/**
 * Runs the loop until SIGTERM or SIGINT (exit 0). Signal handlers only trip the AbortController or set
 * the reload request; a watchdog bounds the exit at grace + 2 s should a pass not finish.
 */
export async function runLoopCommand(cmd: Command, io: Io): Promise<number> {
  const log = loopLog(io, Boolean((cmd.opts() as LoopCliOpts).json));
  const first = await settingsFrom(loopOptions(cmd, io.env, (m) => log(warning(m))));
  let current = first;
  const stop = new AbortController();
  const wake = new Wake();
  const onStop = (signal: NodeJS.Signals): void => stop.abort(signal);
  const onHup = (): void => wake.request();
  process.on("SIGTERM", onStop);
  process.on("SIGINT", onStop);
  process.on("SIGHUP", onHup);
  stop.signal.addEventListener(
    "abort",
    () => {
      const boundMs = current.config.graceMs + 2000;
      setTimeout(() => {
        log(error(`a pass did not finish within ${boundMs}ms of ${String(stop.signal.reason)}; exiting anyway`));
        process.exit(1);
      }, boundMs).unref();
    },
    { once: true },
  );
  try {
    return await runLoop(first, {
      stop: stop.signal,
      wake,
      log,
      reload: async () => {
        current = await settingsFrom(loopOptions(cmd, io.env, (m) => log(warning(m))));
        return current;
      },
    });
  } finally {
    process.off("SIGTERM", onStop);
    process.off("SIGINT", onStop);
    process.off("SIGHUP", onHup);
  }
}
