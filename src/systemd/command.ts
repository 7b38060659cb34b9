// `mcp-reaper systemd print|install`: the units with this installation's real paths and the options given.
import { chownSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import type { Io } from "../io.js";
import { EXIT, UsageError } from "../config.js";
import { makeDirs } from "../files.js";
import { parsePasswdUser } from "../hosts/parse.js";
import { errorCode } from "../proc/read.js";
import { binPath } from "../paths.js";
import { OPTIONS_FILE, printUnits, renderUnits, SHIPPED, SUPERVISOR_SCHEDULE, type UnitOptions } from "./units.js";
import { childProcess } from "../lazy.js";
import { PRESSURE_FLAGS } from "../supervise/pressure.js";

/** Options of `systemd print|install` that shape the units instead of going on the ExecStart line. */
const UNIT_ONLY = new Set(["--user", "--dir", "--enable", "--run-as", "--schedule", "--options-file", "--reload", "--proc-root", "--help", "--shipped"]);

/**
 * Records the options given on the command line, as typed, in order: they go on the ExecStart lines.
 * (Values read back from the parsed options would lose their form: 5s became 5000.)
 */
export function captureCliWords(cmd: Command): string[] {
  const words: string[] = [];
  for (const opt of cmd.options) {
    if (!opt.long || UNIT_ONLY.has(opt.long)) continue;
    const flag = opt.long;
    cmd.on(`option:${opt.name()}`, (raw: string | undefined | null) => {
      words.push(flag);
      if (typeof raw === "string" && (opt.required || opt.optional)) words.push(raw);
    });
  }
  return words;
}

export interface SystemdOpts {
  user?: boolean;
  gatewayUnit?: string;
  schedule?: string;
  optionsFile?: string;
  metricsFile?: string;
  stateFile?: string;
  runAs?: string;
  dir?: string;
  enable?: string | boolean;
  /** The files in systemd/ instead (how they are regenerated). */
  shipped?: boolean;
}

/** The services see /tmp, /var/tmp and /dev of their own (PrivateTmp, PrivateDevices). */
const PRIVATE_TO_UNITS = /^\/(tmp|var\/tmp|dev)(\/|$)/;

/** A path for EnvironmentFile= and ExecStart=: absolute, and plain enough to need no quoting there. */
function unitPath(path: string, what: string): string {
  if (!/^\/[A-Za-z0-9_@+=:,./-]+$/.test(path)) throw new UsageError(`${what} for the units must be an absolute path of plain characters (letters, digits, _@+=:,./-), got ${JSON.stringify(path)}`);
  // systemd would read an EnvironmentFile= there from outside, the supervisor inside, and the two would differ.
  if (PRIVATE_TO_UNITS.test(path)) throw new UsageError(`${what} ${path}: the units get private /tmp, /var/tmp and /dev (PrivateTmp, PrivateDevices), where the supervisor would not see it; use a path such as /etc/mcp-reaper/options`);
  return path;
}

/**
 * What the units would run or write under /tmp, /var/tmp or /dev, which they see privately: node or this
 * mcp-reaper there is not found (`Cannot find module`, seen under systemd 252), a metrics or state file
 * there is written where nobody else looks. One line each, for print and install to warn with.
 */
function hiddenFromUnits(o: UnitOptions): string[] {
  const out: string[] = [];
  if (o.user) return out; // a user manager applies no PrivateTmp= (see sandbox() in units.ts)
  const explain = "the units get private /tmp, /var/tmp and /dev (PrivateTmp=yes, PrivateDevices=yes)";
  for (const [path, what] of [[o.node, "node"], [o.bin, "this mcp-reaper"]] as const) {
    if (PRIVATE_TO_UNITS.test(path)) out.push(`${what} is ${path}, but ${explain}, where systemd will not find it: install mcp-reaper elsewhere (npm i -g mcp-reaper, or a checkout outside /tmp)`);
  }
  for (const dir of o.writablePaths) {
    if (PRIVATE_TO_UNITS.test(dir)) out.push(`${dir}: ${explain}: a file written there is seen by the unit only; choose another directory`);
  }
  return out;
}

function unitOptions(o: SystemdOpts, words: string[]): UnitOptions {
  if (o.shipped) return SHIPPED;
  if (o.runAs !== undefined && o.user) throw new UsageError("--run-as is for system units; user units run as their user already");
  const bin = binPath();
  // The pressure triggers act between a loop's passes: they go on the supervisor's line only (each takes a value).
  const args: string[] = [];
  const supervisorArgs: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (PRESSURE_FLAGS.has(words[i] as string)) supervisorArgs.push(words[i] as string, words[++i] as string);
    else args.push(words[i] as string);
  }
  if (o.user && o.gatewayUnit !== undefined) args.push("--user");
  return {
    user: Boolean(o.user),
    node: process.execPath,
    bin,
    args,
    schedule: o.schedule ?? SUPERVISOR_SCHEDULE,
    optionsFile: o.optionsFile === undefined ? OPTIONS_FILE : unitPath(o.optionsFile, "--options-file"),
    // ProtectSystem=strict: the files we write outside our runtime and state dirs must be named.
    writablePaths: [o.metricsFile, o.stateFile].filter((f): f is string => f !== undefined).map((f) => dirname(resolve(f))),
    runAs: o.runAs ?? null,
    supervisorArgs,
  };
}

export function systemdPrint(o: SystemdOpts, words: string[], io: Io): number {
  const u = unitOptions(o, words);
  for (const w of hiddenFromUnits(u)) io.stderr.write(`mcp-reaper: warning: ${w}\n`);
  for (const dir of u.writablePaths.filter((d) => !existsSync(d))) io.stderr.write(`mcp-reaper: warning: ${dir} does not exist: create it before the units start (systemd install does)\n`);
  io.stdout.write(printUnits(u));
  return EXIT.OK;
}

/**
 * Creates the metrics and state files' directories that do not exist yet (ReadWritePaths= names them;
 * a missing one is skipped, and the unit could not write there). With --run-as, the ones created are
 * that user's. Returns what it did, one line each; a directory it cannot create is a warning.
 */
function makeWritableDirs(u: UnitOptions): { made: string[]; warnings: string[] } {
  const made: string[] = [];
  const warnings: string[] = [];
  let owner: { uid: number; gid: number } | null = null;
  if (u.runAs !== null && u.user === false) {
    try {
      owner = parsePasswdUser(readFileSync("/etc/passwd", "utf8"), u.runAs);
    } catch {
      owner = null;
    }
    if (owner === null) warnings.push(`user ${u.runAs} is not in /etc/passwd: the directories created for it stay root's`);
  }
  for (const dir of u.writablePaths) {
    try {
      const created = makeDirs(dir);
      for (const d of created) if (owner !== null) chownSync(d, owner.uid, owner.gid);
      if (created.length > 0) made.push(`created ${dir}${owner !== null ? ` (owner ${u.runAs})` : ""}`);
    } catch (err) {
      warnings.push(`cannot create ${dir}: ${errorCode(err) ?? String(err)}; create it before the units start`);
    }
  }
  return { made, warnings };
}

function unitDir(o: SystemdOpts, env: NodeJS.ProcessEnv): string {
  if (o.dir !== undefined) return resolve(o.dir);
  if (!o.user) return "/etc/systemd/system";
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "systemd", "user");
}

/** Writes the units; prints the systemctl commands, or runs them with --enable (which unit: supervisor or timer). */
export function systemdInstall(o: SystemdOpts, words: string[], io: Io): number {
  const which = o.enable === undefined || o.enable === false ? null : o.enable === true ? "supervisor" : o.enable;
  if (which !== null && which !== "supervisor" && which !== "timer") throw new UsageError(`--enable takes "supervisor" or "timer", got ${JSON.stringify(which)}`);
  const dir = unitDir(o, io.env);
  const u = unitOptions(o, words);
  const hidden = hiddenFromUnits(u);
  if (which !== null && hidden.length > 0) throw new UsageError(`not enabling units that cannot work: ${hidden[0]}`);
  for (const w of hidden) io.stderr.write(`mcp-reaper: warning: ${w}\n`);
  const units = renderUnits(u);
  try {
    makeDirs(dir);
    for (const unit of units) writeFileSync(join(dir, unit.name), unit.text, { mode: 0o644 });
  } catch (err) {
    const hint = o.dir === undefined && !o.user ? " (system units need root; or pass --user, or --dir)" : "";
    throw new UsageError(`cannot write the units to ${dir}: ${errorCode(err) ?? String(err)}${hint}`);
  }
  for (const unit of units) io.stdout.write(`wrote ${join(dir, unit.name)}\n`);
  const dirs = makeWritableDirs(u);
  for (const line of dirs.made) io.stdout.write(`${line}\n`);
  for (const w of dirs.warnings) io.stderr.write(`mcp-reaper: warning: ${w}\n`);
  const ctl = ["systemctl", ...(o.user ? ["--user"] : [])];
  const settings = o.user ? "~/.config/mcp-reaper/options" : "/etc/mcp-reaper/options";
  const commands = [
    [...ctl, "daemon-reload"],
    [...ctl, "enable", "--now", which === "timer" ? "mcp-reaper.timer" : "mcp-reaper-supervisor.service"],
  ];
  if (which === null) {
    io.stdout.write(
      [
        o.optionsFile === undefined ? `settings: MCP_REAPER_* lines in ${settings} (${OPTIONS_FILE}), or the options given here` : `settings: MCP_REAPER_* lines in ${o.optionsFile}, or the options given here`,
        "then, for the supervisor (one long-running loop):",
        `  ${commands[0]!.join(" ")}`,
        `  ${commands[1]!.join(" ")}`,
        "or, instead, for a pass every 5 minutes:",
        `  ${[...ctl, "enable", "--now", "mcp-reaper.timer"].join(" ")}`,
        "",
      ].join("\n"),
    );
    return EXIT.OK;
  }
  for (const c of commands) {
    io.stdout.write(`$ ${c.join(" ")}\n`);
    const r = childProcess().spawnSync(c[0] as string, c.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    if (r.error || r.status !== 0) {
      // The line that says what failed: systemctl enable prints "Created symlink ..." before the reason a start failed.
      const lines = r.stderr.trim().split("\n");
      const why = r.error ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : lines.find((l) => /fail/i.test(l)) ?? (lines.pop() || `exit code ${r.status}`);
      io.stderr.write(`mcp-reaper: ${c.join(" ")} failed: ${why}\n`);
      return EXIT.REAP_FAILED;
    }
  }
  return EXIT.OK;
}
