// The command line: argv -> typed config -> one pass (or a subcommand) -> report -> exit code.
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { DEFAULTS, EXIT, EXIT_TABLE, parseDuration, parseEnvMarker, parseEnvName, parsePositiveInt, parseRegex, UsageError, type PassConfig } from "./config.js";
import { ConfigError } from "./hosts/read.js";
import type { GatewaySpec } from "./proc/gateway.js";
import { GatewayNotFoundError } from "./proc/gateway.js";
import { GatewayGoneError } from "./proc/snapshot.js";
import { exitCodeOf, runPass } from "./pass.js";
import { defaultStateFile } from "./state.js";
import type { ReportEvent } from "./report/events.js";
import { formatHuman, PLAIN, type Paint } from "./report/human.js";
import { formatJson } from "./report/json.js";

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** Wraps a config parser for commander: our UsageError becomes commander's InvalidArgumentError (exit 2). */
function arg<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}

function gatewayPidArg(text: string): number {
  const pid = parsePositiveInt(text, "--gateway-pid");
  if (pid === 1) throw new UsageError("--gateway-pid 1 is init, the parent of everything: name the gateway's own pid");
  return pid;
}

/** Options shared by a one-shot pass and (later) the loop. Each maps to an env var for systemd EnvironmentFiles. */
function addPassOptions(cmd: Command): Command {
  cmd
    .addOption(new Option("--gateway-pid <pid>", "the gateway's pid").argParser(arg(gatewayPidArg)).env("MCP_REAPER_GATEWAY_PID").helpGroup("Gateway (name exactly one):"))
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
      new Option("--idle <duration>", "activity guard: reap only instances with no I/O or CPU activity for this long (off by default)")
        .argParser(arg(parseDuration))
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
  return addServerOptions(cmd);
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
      new Option("--mcp-config <path>", "a host config naming MCP servers (openclaw.json, claude_desktop_config.json, .cursor/mcp.json, .vscode/mcp.json); repeatable")
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
    .addOption(new Option("--orphans", "also find the gateway's servers that escaped its tree (scans every process)").env("MCP_REAPER_ORPHANS").helpGroup("Escaped orphans:"))
    .addOption(
      new Option("--orphan-env <KEY=VALUE>", "with --orphans: a process carrying this environment entry is the gateway's; repeatable")
        .argParser(many(parseEnvMarker))
        .env("MCP_REAPER_ORPHAN_ENV")
        .helpGroup("Escaped orphans:"),
    );
}

interface PassOpts {
  gatewayPid?: number;
  gatewayName?: string;
  gatewayPidfile?: string;
  keep: number;
  minAge: number;
  match: RegExp;
  ignore?: RegExp;
  idle?: number;
  stateFile?: string;
  grace: number;
  dryRun?: boolean;
  check?: boolean;
  json?: boolean;
  color: boolean;
  procRoot: string;
  mcpConfig?: string[];
  config: boolean;
  signatureEnv?: string[];
  orphans?: boolean;
  orphanEnv?: [string, string][];
}

function gatewaySpec(o: PassOpts): GatewaySpec {
  const given: GatewaySpec[] = [];
  if (o.gatewayPid !== undefined) given.push({ kind: "pid", pid: o.gatewayPid });
  if (o.gatewayName !== undefined) {
    if (o.gatewayName.trim() === "") throw new UsageError("--gateway-name must not be empty");
    given.push({ kind: "name", name: o.gatewayName });
  }
  if (o.gatewayPidfile !== undefined) given.push({ kind: "pidfile", path: o.gatewayPidfile });
  if (given.length === 0) throw new UsageError("name the gateway with --gateway-pid, --gateway-name or --gateway-pidfile (try: mcp-reaper demo)");
  if (given.length > 1) throw new UsageError("name the gateway once: --gateway-pid, --gateway-name and --gateway-pidfile exclude each other");
  return given[0] as GatewaySpec;
}

export function toPassConfig(o: PassOpts, env: NodeJS.ProcessEnv): PassConfig {
  const idleMs = o.idle ?? null;
  if (idleMs === 0) throw new UsageError("--idle 0 would call every instance idle: give a duration such as 10m, or leave --idle out");
  return {
    gateway: gatewaySpec(o),
    policy: {
      keep: o.keep,
      minAgeMs: o.minAge,
      match: o.match,
      ignore: o.ignore ?? null,
      idleMs,
      signatureEnv: o.signatureEnv ?? [],
      orphans: o.orphans ? { markers: o.orphanEnv ?? [] } : null,
    },
    stateFile: idleMs === null ? null : (o.stateFile ?? defaultStateFile(env)),
    graceMs: o.grace,
    dryRun: Boolean(o.dryRun || o.check),
    procRoot: o.procRoot,
    ...serverConfig(o),
  };
}

/** The --mcp-config / --signature-env / --orphans part of a pass config. */
function serverConfig(o: PassOpts): Pick<PassConfig, "mcpConfigs" | "discoverConfig" | "orphans"> {
  if (o.orphanEnv && o.orphanEnv.length > 0 && !o.orphans) throw new UsageError("--orphan-env needs --orphans: the orphan search is opt-in");
  return { mcpConfigs: o.mcpConfig ?? [], discoverConfig: o.config !== false, orphans: Boolean(o.orphans) };
}

/** Colour only on a terminal, never with NO_COLOR set (https://no-color.org), --no-color or --json. */
export function wantsColor(io: Io, o: { color?: boolean; json?: boolean }): boolean {
  return Boolean(io.stdout.isTTY) && o.color !== false && !o.json && !io.env.NO_COLOR;
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
Every option can also come from the environment: --keep from MCP_REAPER_KEEP, and so on.

An instance is a child of the gateway with its whole subtree (uv -> python, npx -> sh -> node).
Its server type is its command with launchers stripped (npx, npm exec, uvx, uv run, sh -c, node,
python -m, ...) plus its arguments and working directory. Per type the newest --keep instances stay;
older ones past --min-age get SIGTERM on every process of the subtree, then SIGKILL after --grace.
Each process is checked by pid AND start time right before every signal, so a reused pid is never hit.

With --mcp-config (and, for an OpenClaw gateway, its own openclaw.json) an instance that runs a
configured server is MCP and its type is the entry's name; others fall back to --match. --orphans
also finds the gateway's servers that escaped its tree (wrapper died first), by evidence: the
gateway holds their stdio peer, they share its dedicated service cgroup, or they carry --orphan-env.

Examples:
  mcp-reaper demo                                  see it work on a built-in leaky gateway
  mcp-reaper --gateway-name openclaw-gateway -n    show what would be reaped, and why
  mcp-reaper --gateway-pid 131886                  reap old duplicates once
  mcp-reaper --gateway-pidfile /run/gw.pid --check && echo clean
  mcp-reaper --gateway-pid 131886 --json | jq '.summary'
  mcp-reaper --gateway-name openclaw-gateway --mcp-config ~/.cursor/mcp.json --orphans -n

Exit codes:
${EXIT_TABLE.map(([code, text]) => `  ${code}  ${text}`).join("\n")}`;

function emit(io: Io, json: boolean, paint: Paint, event: ReportEvent): void {
  io.stdout.write(`${json ? formatJson(event) : formatHuman(event, paint)}\n`);
}

async function runOnce(o: PassOpts, io: Io): Promise<number> {
  const config = toPassConfig(o, io.env);
  const json = Boolean(o.json);
  const paint = await paintFor(wantsColor(io, o));
  const progress = Boolean(io.stderr.isTTY) && !json;
  const result = await runPass(config, {
    onPlan: (p) => {
      const n = p.types.reduce((sum, t) => sum + t.instances.filter((i) => i.action === "reap").length, 0);
      if (progress && n > 0 && !config.dryRun) io.stderr.write(`reaping ${n} instance${n === 1 ? "" : "s"} (grace ${config.graceMs}ms)...\r`);
    },
  });
  if (progress && !config.dryRun) io.stderr.write("\x1b[2K");
  // In JSON the warnings travel inside the document; for people they go to stderr.
  if (!json) for (const w of result.warnings) io.stderr.write(`mcp-reaper: warning: ${w}\n`);
  emit(io, json, paint, { kind: "pass", at: Date.now(), result });
  return exitCodeOf(result, Boolean(o.check));
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command("mcp-reaper");
  program
    .description("Keep an AI gateway's MCP stdio servers bounded: keep the newest instance of each server type, terminate the older duplicates.")
    .version(packageVersion(), "-V, --version")
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`mcp-reaper: ${s.replace(/^error: /, "").trimEnd()}\n`),
    })
    .exitOverride()
    .allowExcessArguments(false)
    .showSuggestionAfterError(true)
    .addHelpText("after", HELP_AFTER);
  addPassOptions(program).action(async (o: PassOpts) => setExit(await runOnce(o, io)));

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
  return program;
}

/** Runs the CLI; resolves to the exit code. Never throws: every failure is one line on stderr. */
export async function main(argv: readonly string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help" ? EXIT.OK : EXIT.USAGE;
    }
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.stderr.write(`mcp-reaper: ${err.message}\n`);
      return EXIT.USAGE;
    }
    if (err instanceof GatewayNotFoundError || err instanceof GatewayGoneError) {
      io.stderr.write(`mcp-reaper: ${err.message}\n`);
      return EXIT.GATEWAY;
    }
    io.stderr.write(`mcp-reaper: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (io.env.MCP_REAPER_DEBUG && err instanceof Error) io.stderr.write(`${err.stack}\n`);
    return EXIT.REAP_FAILED;
  }
}
