// The command line: argv -> typed config -> one pass (or a subcommand) -> report -> exit code.
import { Command, CommanderError, Option } from "commander";
import { DEFAULTS, EXIT, EXIT_TABLE, parseDuration, parseEnvMarker, parseIdle, parseEnvName, parsePositiveInt, parseRegex, UsageError, type PassConfig } from "./config.js";
import { addSessionOptions } from "./hosts/cli.js";
import { addReleaseOptions } from "./hosts/openclaw/options.js";
import { ConfigError } from "./hosts/read.js";
import { GatewayNotFoundError } from "./proc/gateway.js";
import { GatewayGoneError } from "./proc/snapshot.js";
import { exitCodeOf, type PassHooks, type PassResult } from "./pass.js";
import { packageVersion } from "./paths.js";
import type { ReportEvent } from "./report/events.js";
import { formatHuman, PLAIN, type Paint } from "./report/human.js";
import { formatJson } from "./report/json.js";
import { formatLine, isJournal } from "./report/line.js";
import { FdOut, type Out } from "./report/out.js";
import type { Io } from "./io.js";
import { arg, toPassConfig, type PassOpts } from "./options.js";
import { LockDirError, LockHeldError, mayLock } from "./supervise/lock.js";
import { layerOptions } from "./supervise/layers.js";
import { closeRun, holdGatewayLock, openRun, writeMetrics, type RunState } from "./supervise/run.js";
import { optionsFileVars } from "./supervise/options-file.js";
import { parseTimeZone } from "./supervise/schedule.js";
import { captureCliWords } from "./systemd/command.js";
import { addPressureOptions, refusePressureWithoutSchedule } from "./supervise/pressure.js";
import { addFleetOptions } from "./fleet/options.js";
import { isEvery, runEvery, runOne, type GatewayOutcome } from "./fleet/run.js";

/** Any pid >= 1: pid 1 is taken only where it is a container's gateway, which resolving the gateway checks. */
function gatewayPidArg(text: string): number {
  return parsePositiveInt(text, "--gateway-pid");
}

/** Options shared by a one-shot pass and (later) the loop. Each maps to an env var for systemd EnvironmentFiles. */
function addPassOptions(cmd: Command): Command {
  cmd
    .addOption(new Option("--gateway-pid <pid>", "the gateway's pid (1 only inside a container whose pid 1 is the gateway, not an init)").argParser(arg(gatewayPidArg)).env("MCP_REAPER_GATEWAY_PID").helpGroup("Gateway (name exactly one):"))
    .addOption(
      new Option("--gateway-name <name>", "the gateway's process title: argv[0], its basename, or comm (cut to 15 chars by the kernel)")
        .env("MCP_REAPER_GATEWAY_NAME")
        .helpGroup("Gateway (name exactly one):"),
    )
    .addOption(new Option("--gateway-pidfile <path>", "a file holding the gateway's pid").env("MCP_REAPER_GATEWAY_PIDFILE").helpGroup("Gateway (name exactly one):"))
    .addOption(
      new Option("--keep <n>", "instances kept per server type, newest first")
        .argParser(arg((t) => parsePositiveInt(t, "--keep")))
        .default(DEFAULTS.keep)
        .env("MCP_REAPER_KEEP")
        .helpGroup("Policy:"),
    )
    .addOption(
      new Option("--min-age <duration>", "never reap an instance younger than this")
        .argParser(arg(parseDuration))
        .default(DEFAULTS.minAgeMs, "60s")
        .env("MCP_REAPER_MIN_AGE")
        .helpGroup("Policy:"),
    )
    .addOption(
      new Option("--match <regex>", "an instance is an MCP server when a name in its command lines matches (case-insensitive)")
        .argParser(arg((t) => parseRegex(t, "--match")))
        .default(DEFAULTS.match, '"mcp|modelcontextprotocol"')
        .env("MCP_REAPER_MATCH")
        .helpGroup("Policy:"),
    )
    .addOption(
      new Option("--ignore <regex>", "never treat an instance with a matching name as an MCP server")
        .argParser(arg((t) => parseRegex(t, "--ignore")))
        .env("MCP_REAPER_IGNORE")
        .helpGroup("Policy:"),
    )
    .addOption(
      new Option("--idle <duration>", "activity guard: reap only instances with no I/O or CPU activity for this long (off by default; 0 or off: off)")
        .argParser(arg(parseIdle))
        .env("MCP_REAPER_IDLE")
        .helpGroup("Policy:"),
    )
    .addOption(
      new Option("--state-file <path>", "where --idle keeps its activity history between runs (default: $STATE_DIRECTORY, else the XDG state dir)")
        .env("MCP_REAPER_STATE_FILE")
        .helpGroup("Policy:"),
    )
    .addOption(
      new Option("--grace <duration>", "wait between SIGTERM and SIGKILL")
        .argParser(arg(parseDuration))
        .default(DEFAULTS.graceMs, "5s")
        .env("MCP_REAPER_GRACE")
        .helpGroup("Acting:"),
    )
    .addOption(new Option("-n, --dry-run", "show the plan; signal nobody").helpGroup("Acting:"))
    .addOption(new Option("--check", `dry run for monitoring: exit ${EXIT.DUPLICATES} if anything would be reaped`).helpGroup("Acting:"))
    .addOption(new Option("--json", "print one JSON document instead of the report").helpGroup("Output:"))
    .addOption(new Option("--no-color", "no colours (also: NO_COLOR set, or output not a terminal)").helpGroup("Output:"))
    .addOption(new Option("--proc-root <path>", "read a recorded /proc tree (implies --dry-run)").default(DEFAULTS.procRoot).hideHelp());
  return addReleaseOptions(addSessionOptions(addServerOptions(addFleetOptions(cmd))));
}

/** Wraps a config parser for a repeatable option: each use adds one parsed value. */
function many<T>(parse: (text: string) => T): (text: string, previous: T[] | undefined) => T[] {
  const one = arg(parse);
  return (text, previous) => [...(previous ?? []), one(text)];
}

/** Options that teach the reaper the host's servers: config files, env in signatures, escaped orphans. */
function addServerOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--mcp-config <path>", "a host config naming MCP servers (openclaw.json, claude_desktop_config.json, ~/.claude.json, .cursor/mcp.json, .vscode/mcp.json); repeatable")
        .argParser(many((t) => t))
        .env("MCP_REAPER_MCP_CONFIG")
        .helpGroup("Server types:"),
    )
    .addOption(new Option("--no-config", "do not read the OpenClaw gateway's own config (OPENCLAW_CONFIG_PATH, $OPENCLAW_STATE_DIR, ~/.openclaw)").helpGroup("Server types:"))
    .addOption(
      new Option("--signature-env <key>", "add this environment variable of the instance root to its server type; repeatable")
        .argParser(many(parseEnvName))
        .env("MCP_REAPER_SIGNATURE_ENV")
        .helpGroup("Server types:"),
    )
    .addOption(
      new Option(
        "--orphans",
        "also find the gateway's servers that escaped its tree (scans every process): only children of pid 1 or of a gateway ancestor named systemd, only with stdout a pipe or socket; unreachable only when every pipe or socket on its stdin and stdout lost its other end. With no gateway named: host-wide, reap dead hosts' stdio servers (MCP by their own command line) under pid 1 or a subreaper that nobody can reach (docs/hosts.md)",
      )
        .env("MCP_REAPER_ORPHANS")
        .helpGroup("Escaped orphans:"),
    )
    .addOption(
      new Option("--orphan-env <KEY=VALUE>", "with --orphans: a process carrying this environment entry is the gateway's; repeatable")
        .argParser(many(parseEnvMarker))
        .env("MCP_REAPER_ORPHAN_ENV")
        .helpGroup("Escaped orphans:"),
    );
}

/** Supervisor, systemd and metrics options. Those with a variable can also come from the options file. */
function addLoopOptions(cmd: Command): Command {
  const gateway = "Gateway (name exactly one):";
  return cmd
    .addOption(new Option("--gateway-unit <unit>", "a systemd unit: the gateway is its MainPID (systemctl show), looked up every pass").env("MCP_REAPER_GATEWAY_UNIT").helpGroup(gateway))
    .addOption(new Option("--user", "with --gateway-unit: a unit of the user's service manager (systemctl --user)").env("MCP_REAPER_USER_UNIT").helpGroup(gateway))
    .addOption(new Option("--schedule <cron>", 'run as a supervisor: a pass on this cron schedule (5 fields, or 6 with seconds first, e.g. "*/30 * * * * *") until SIGTERM').helpGroup("Supervisor:"))
    .addOption(new Option("--tz <zone>", "time zone of --schedule (default: the host's, as cron reads it)").argParser(arg(parseTimeZone)).env("MCP_REAPER_TZ").helpGroup("Supervisor:"))
    .addOption(new Option("--options-file <path>", "MCP_REAPER_* settings as KEY=VALUE lines (systemd EnvironmentFile format); the loop re-reads it on SIGHUP").helpGroup("Supervisor:"))
    .addOption(new Option("--metrics-file <path>", "write Prometheus metrics here after each pass (node_exporter textfile collector)").env("MCP_REAPER_METRICS_FILE").helpGroup("Output:"));
}

/** Colour only on a terminal, never with NO_COLOR set (https://no-color.org), --no-color or --json. */
export function wantsColor(io: Io, o: { color?: boolean; json?: boolean }): boolean {
  return !o.json && o.color !== false && !io.env.NO_COLOR && Boolean(io.stdout.isTTY);
}

/** chalk is imported only when colour is on: a cron or systemd run never pays for it. */
async function paintFor(color: boolean): Promise<Paint> {
  if (!color) return PLAIN;
  const { Chalk } = await import("chalk");
  const c = new Chalk({ level: 1 });
  return { keep: c.green, reap: c.red, warn: c.yellow, dim: c.dim, bold: c.bold };
}

const HELP_AFTER = `
Durations: 500ms, 5s, 10m, 1h, 1d, or a bare number of seconds (--min-age 0 is valid).
Every option that takes a value (and --orphans, --user, --release-sessions) can also come from the environment:
--keep from MCP_REAPER_KEEP, and so on; --schedule, --options-file and the switches cannot.

An instance is a child of the gateway with its whole subtree (uv -> python, npx -> sh -> node).
Its server type is its command with launchers stripped (npx, npm exec, uvx, uv run, sh -c, node,
python -m, ...) plus its arguments and working directory. Per type the newest --keep instances stay;
older ones past --min-age get SIGTERM on every process of the subtree, then SIGKILL after --grace.
Each process is checked by pid AND start time right before every signal, so a reused pid is never hit.

With --mcp-config (and, for an OpenClaw gateway, its own openclaw.json) an instance that runs a
configured server is MCP and its type is the entry's name; others fall back to --match. --orphans
also finds the gateway's servers that escaped its tree (wrapper died first), by evidence on the
escaped process itself: the gateway holds its stdio peer, it shares the gateway's dedicated service
cgroup, or it carries --orphan-env. One whose stdio is not a pipe or socket is never touched.
--orphans with no gateway named looks host-wide for dead hosts' servers: children of pid 1 or of a
subreaper, MCP by their own command line, whose stdin and stdout lost their other ends everywhere.
--all with --gateway-name makes every process of that name a gateway of its own.

For an OpenClaw gateway its session store says which session started each instance (the one whose
first turn holds the instance's start): a live session's servers are never reaped, an ended one's
(a finished hook, cron or heartbeat run, a one-shot chat call, a reset session) are reaped after
--min-age even when newest. Unattributed instances keep the rules above. --no-sessions turns it off.

Examples:
  mcp-reaper demo                                  see it work on a built-in leaky gateway
  mcp-reaper --gateway-name openclaw-gateway -n    show what would be reaped, and why
  mcp-reaper --gateway-pid 131886                  reap old duplicates once
  mcp-reaper --gateway-pidfile /run/gw.pid --check && echo clean
  mcp-reaper --gateway-pid 131886 --json | jq '.summary'
  mcp-reaper --gateway-name openclaw-gateway --mcp-config ~/.cursor/mcp.json --orphans -n
  mcp-reaper --gateway-name claude --all -n          every Claude Code session, each on its own
  mcp-reaper --orphans --match mcp-server-postgres -n   dead hosts' servers nobody can reach
  mcp-reaper --gateway-unit openclaw.service --schedule "* * * * *"   supervisor: a pass every minute
  mcp-reaper systemd print --gateway-name openclaw-gateway         systemd units with these options

Exit codes:
${EXIT_TABLE.map(([code, text]) => `  ${code}  ${text}`).join("\n")}

The whole reference: man mcp-reaper, or the docs/ directory of the package.`;

function emit(io: Io, json: boolean, paint: Paint, event: ReportEvent): void {
  // Under systemd the journal gets one line per event with its priority, not the multi-line report.
  const journal = !json && io.stdout.fd === 1 && isJournal(1, io.env);
  io.stdout.write(`${json ? formatJson(event) : journal ? formatLine(event, true) : formatHuman(event, paint)}\n`);
}

async function runOnce(config: PassConfig, o: PassOpts, io: Io, run: RunState, onGateway: NonNullable<PassHooks["onGateway"]>): Promise<number> {
  const progress = !o.json && Boolean(io.stderr.isTTY);
  const result = await runOne(config, { onGateway, onPlan: (p) => showProgress(config, io, progress, p) });
  if (progress && !config.dryRun) io.stderr.write("\x1b[2K");
  run.metrics?.recordPass(result, Date.now());
  await report(io, o, result);
  return exitCodeOf(result, Boolean(o.check));
}

function showProgress(config: PassConfig, io: Io, progress: boolean, p: PassResult["plan"]): void {
  const n = p.types.reduce((sum, t) => sum + t.instances.filter((i) => i.action === "reap").length, 0);
  if (progress && n > 0 && !config.dryRun) io.stderr.write(`reaping ${n} instance${n === 1 ? "" : "s"} (grace ${config.graceMs}ms)...\r`);
}

/** One pass's report: warnings on stderr for people (inside the document in JSON), then the report. */
async function report(io: Io, o: PassOpts, result: PassResult): Promise<void> {
  const json = Boolean(o.json);
  if (!json) for (const w of result.warnings) io.stderr.write(`mcp-reaper: warning: ${w}\n`);
  emit(io, json, await paintFor(wantsColor(io, o)), { kind: "pass", at: Date.now(), result });
}

/** Exit codes of several passes, worst first: a failed reap, an untrusted lock directory, a locked gateway, duplicates under --check, clean. */
const SEVERITY: readonly number[] = [EXIT.REAP_FAILED, EXIT.USAGE, EXIT.LOCKED, EXIT.DUPLICATES, EXIT.OK];

/**
 * --all: every gateway of the name gets its own pass, lock and report (in JSON, one pass document per
 * gateway, one line each). A gateway that exited since the listing is a warning; one another reaper holds
 * is an error line and exit 5 unless something worse happened.
 */
async function runEveryOnce(config: PassConfig, o: PassOpts, io: Io, run: RunState, log: (e: ReportEvent) => void): Promise<number> {
  const locks = new Map<number, RunState>();
  const progress = !o.json && Boolean(io.stderr.isTTY);
  let outcomes: GatewayOutcome[];
  try {
    outcomes = await runEvery(config, (g) => ({
      onGateway: (id) => {
        const lockRun = openRun({ lock: run.locking, metricsFile: null, env: run.env }, log);
        locks.set(g.pid, lockRun);
        holdGatewayLock(lockRun, id, log);
      },
      onPlan: (p) => showProgress(config, io, progress, p),
    }));
  } finally {
    for (const l of locks.values()) closeRun(l);
  }
  if (progress && !config.dryRun) io.stderr.write("\x1b[2K");
  const codes: number[] = [];
  let first = true;
  for (const out of outcomes) {
    if ("error" in out) {
      // Locked by another reaper: exit 5; an untrusted lock directory: exit 2; gone since the listing: a warning.
      const code = out.error instanceof LockHeldError ? EXIT.LOCKED : out.error instanceof LockDirError ? EXIT.USAGE : EXIT.OK;
      io.stderr.write(`mcp-reaper: ${code !== EXIT.OK ? "" : "warning: "}gateway ${out.gateway.pid}: ${out.error.message}\n`);
      // In JSON the stream says so too: a reader counting documents learns why one is missing.
      if (o.json) io.stdout.write(`${formatJson({ kind: code !== EXIT.OK ? "error" : "warning", at: Date.now(), message: `gateway ${out.gateway.pid}: ${out.error.message}` })}\n`);
      codes.push(code);
      continue;
    }
    run.metrics?.recordPass(out.result, Date.now(), !first);
    if (!o.json && !first) io.stdout.write("\n");
    first = false;
    await report(io, o, out.result);
    codes.push(exitCodeOf(out.result, Boolean(o.check)));
  }
  return SEVERITY.find((c) => codes.includes(c)) ?? EXIT.OK;
}

/**
 * A one-shot run with its run state: the lock of the gateway it resolved, taken before any signal when it
 * may signal (so a timer run, a manual run and a running supervisor never reap one gateway at once, however
 * each names it: exit 5) and the metrics file, written even when the pass fails (a missing gateway counts as an error).
 */
async function oneShot(o: PassOpts, io: Io): Promise<number> {
  const config = toPassConfig(o, io.env);
  const log = (e: ReportEvent): void => {
    if (e.kind !== "pass") io.stderr.write(`mcp-reaper: ${e.kind}: ${e.message}\n`);
  };
  const run = openRun({ lock: mayLock(config), metricsFile: o.metricsFile ?? null, env: io.env }, log);
  const startedMs = Date.now();
  try {
    if (isEvery(config)) return await runEveryOnce(config, o, io, run, log);
    return await runOnce(config, o, io, run, (g) => holdGatewayLock(run, g, log));
  } catch (err) {
    const missing = err instanceof GatewayNotFoundError || err instanceof GatewayGoneError;
    run.metrics?.recordError(missing ? "gateway_not_found" : "pass", Date.now(), Date.now() - startedMs);
    throw err;
  } finally {
    writeMetrics(run, log);
    closeRun(run);
  }
}

/** The options with the options file applied: command line > options file > environment > default. */
function withOptionsFile<T extends PassOpts>(cmd: Command, io: Io): T {
  const path = (cmd.opts() as PassOpts).optionsFile;
  const vars = optionsFileVars(path, (m) => io.stderr.write(`mcp-reaper: warning: ${m}\n`));
  return layerOptions<T>(cmd, vars, io.env, path ?? "options file");
}

/** Under systemd, our one-line errors get journald's priority prefix (<3>, <4> for warnings) when stderr is the journal. */
function journalAware(io: Io): Io {
  const inner = io.stderr;
  if (inner.fd !== 2 || !isJournal(2, io.env)) return io;
  const stderr: Out = {
    fd: 2,
    isTTY: false,
    write: (text: string) => inner.write(text.replace(/^mcp-reaper: (warning: )?/gm, (m: string, w?: string) => `<${w ? 4 : 3}>${m}`)),
  };
  return { ...io, stderr };
}

function versionOrUnknown(): string {
  try {
    return packageVersion();
  } catch {
    return "unknown";
  }
}

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command("mcp-reaper");
  program
    .description("Keep an AI gateway's MCP stdio servers bounded: keep the newest instance of each server type, terminate the older duplicates.")
    .version(versionOrUnknown(), "-V, --version")
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // One line, the suggestion for a mistyped option ("\n(Did you mean ...?)") included.
      outputError: (s, write) => write(`mcp-reaper: ${s.replace(/^error: /, "").trim().replace(/\s*\n\s*/g, " ")}\n`),
    })
    .exitOverride()
    // `systemd print --keep 2` must reach print, not the program's own --keep.
    .enablePositionalOptions()
    .allowExcessArguments(false)
    .showSuggestionAfterError(true)
    .addHelpText("after", HELP_AFTER);
  addPressureOptions(addLoopOptions(addPassOptions(program)))
    .addOption(
      new Option("--reload <pid>", "with --schedule: read the options as that supervisor would on SIGHUP and send it SIGHUP only if they are good; else say why and exit 2 (the unit's ExecReload=)")
        .argParser(arg((t) => parsePositiveInt(t, "--reload")))
        .helpGroup("Supervisor:"),
    )
    .action(async (_o: PassOpts, cmd: Command) => {
      const given = cmd.opts() as PassOpts & { reload?: number };
      if (given.schedule === undefined) {
        if (given.reload !== undefined) throw new UsageError("--reload goes with --schedule: it checks a supervisor's options before signalling it");
        refusePressureWithoutSchedule(cmd);
        return setExit(await oneShot(withOptionsFile<PassOpts>(cmd, io), io));
      }
      // The loop reads the options file itself, so its warnings look the same at start-up and on reload.
      const { reloadCommand, runLoopCommand } = await import("./supervise/command.js");
      setExit(given.reload !== undefined ? await reloadCommand(cmd, given.reload, io) : await runLoopCommand(cmd, io));
    });

  program
    .command("demo")
    .description("start a built-in leaky gateway, show the dry-run report, reap, show the result, clean up")
    .addOption(new Option("--sessions <n>", "sessions the demo gateway has leaked").argParser(arg((t) => parsePositiveInt(t, "--sessions"))).default(3))
    .addOption(new Option("--json", "print JSON documents instead of the report"))
    .addOption(new Option("--no-color", "no colours"))
    .action(async (o: { sessions: number; json?: boolean; color: boolean }) => {
      const { runDemo } = await import("./demo/run.js");
      setExit(await runDemo({ sessions: o.sessions, json: Boolean(o.json), paint: await paintFor(wantsColor(io, o)), io }));
    });

  const systemd = program
    .command("systemd")
    .description("print or install the systemd units: a oneshot service + timer, and the supervisor service")
    .allowExcessArguments(true)
    .action((_o: unknown, cmd: Command) => {
      const word = cmd.args[0];
      throw new UsageError(`${word === undefined ? "systemd needs a subcommand" : `unknown systemd subcommand ${JSON.stringify(word)}`}: print or install (mcp-reaper systemd print --help)`);
    });
  for (const verb of ["print", "install"] as const) {
    const sub = addPressureOptions(addLoopOptions(addPassOptions(systemd.command(verb))))
      .description(verb === "print" ? "print the units (each under a `# FILE name` line) with this node, this mcp-reaper and the options given" : "write the units and print the systemctl commands (run them with --enable)")
      .addOption(new Option("--run-as <user>", "system units: run as this user (the gateway's), with no capabilities"))
      .addOption(new Option("--shipped", "the files in systemd/ (mcp-reaper found on PATH), ignoring the options").hideHelp())
      .allowExcessArguments(false)
      .addHelpText("after", "\nThe other options go on both ExecStart= lines (% and $ doubled for systemd).");
    // Here these shape the units instead of going on the ExecStart= lines: say what they do here.
    const describe = (flag: string, text: string): void => {
      const opt = sub.options.find((o) => o.long === flag);
      if (opt) opt.description = text;
    };
    describe("--user", "user units (systemctl --user; WantedBy=default.target; only the syscall filters a user manager applies: no capabilities, no namespaces); with --gateway-unit it also goes on the lines");
    describe("--metrics-file", "goes on the lines; its directory becomes ReadWritePaths=-DIR (install creates it when missing)");
    describe("--schedule", 'the supervisor\'s schedule instead of "* * * * *" (the timer stays every 5 minutes)');
    describe("--options-file", "where both services read MCP_REAPER_* settings instead of %E/mcp-reaper/options (absolute, outside /tmp, /var/tmp and /dev)");
    if (verb === "install") {
      sub
        .addOption(new Option("--dir <dir>", "write the units here (default: /etc/systemd/system, or ~/.config/systemd/user with --user)"))
        .addOption(new Option("--enable [unit]", 'also run systemctl daemon-reload and enable --now: "supervisor" (default) or "timer"'));
    }
    const words = captureCliWords(sub);
    sub.action(async (o: PassOpts & { runAs?: string; dir?: string; enable?: string | boolean; shipped?: boolean }) => {
      const { systemdInstall, systemdPrint } = await import("./systemd/command.js");
      setExit(verb === "print" ? systemdPrint(o, words, io) : systemdInstall(o, words, io));
    });
  }
  return program;
}

/** Runs the CLI; resolves to the exit code. Never throws: every failure is one line on stderr. */
export async function main(argv: readonly string[], io: Io = { stdout: new FdOut(1), stderr: new FdOut(2), env: process.env }): Promise<number> {
  const code = await runCli(argv, io);
  // A report that could not be written (a full disk, a closed descriptor; not a reader that went away)
  // must not pass for a clean run.
  const lost = io.stdout instanceof FdOut ? io.stdout.failure : null;
  if (lost === null) return code;
  io.stderr.write(`mcp-reaper: cannot write to stdout (${lost}); the output is incomplete\n`);
  return code === EXIT.OK ? EXIT.REAP_FAILED : code;
}

async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let code: number = EXIT.OK;
  io = journalAware(io);
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help" ? EXIT.OK : EXIT.USAGE;
    }
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof LockDirError) {
      io.stderr.write(`mcp-reaper: ${err.message}\n`);
      return EXIT.USAGE;
    }
    if (err instanceof GatewayNotFoundError || err instanceof GatewayGoneError) {
      io.stderr.write(`mcp-reaper: ${err.message}\n`);
      return EXIT.GATEWAY;
    }
    if (err instanceof LockHeldError) {
      io.stderr.write(`mcp-reaper: ${err.message}\n`);
      return EXIT.LOCKED;
    }
    io.stderr.write(`mcp-reaper: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (io.env.MCP_REAPER_DEBUG && err instanceof Error) io.stderr.write(`${err.stack}\n`);
    return EXIT.REAP_FAILED;
  }
}
