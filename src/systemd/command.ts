// `mcp-reaper systemd print|install`: the units with this installation's real paths and the options given.
import { writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import type { Io } from "../io.js";
import { EXIT, UsageError } from "../config.js";
import { makeDirs } from "../files.js";
import { errorCode } from "../proc/read.js";
import { binPath } from "../paths.js";
import { OPTIONS_FILE, printUnits, renderUnits, SHIPPED, SUPERVISOR_SCHEDULE, type UnitOptions } from "./units.js";
import { childProcess } from "../lazy.js";

/** Options of `systemd print|install` that shape the units instead of going on the ExecStart line. */
const UNIT_ONLY = new Set(["--user", "--dir", "--enable", "--run-as", "--schedule", "--options-file", "--proc-root", "--help", "--shipped"]);

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

/** A path for EnvironmentFile= and ExecStart=: absolute, and plain enough to need no quoting there. */
function unitPath(path: string, what: string): string {
  if (!/^\/[A-Za-z0-9_@+=:,./-]+$/.test(path)) throw new UsageError(`${what} for the units must be an absolute path of plain characters (letters, digits, _@+=:,./-), got ${JSON.stringify(path)}`);
  // The services see /tmp, /var/tmp and /dev of their own (PrivateTmp, PrivateDevices): systemd would
  // read an EnvironmentFile= there from outside, the supervisor inside, and the two would differ.
  if (/^\/(tmp|var\/tmp|dev)(\/|$)/.test(path)) throw new UsageError(`${what} ${path}: the units get private /tmp, /var/tmp and /dev (PrivateTmp, PrivateDevices), where the supervisor would not see it; use a path such as /etc/mcp-reaper/options`);
  return path;
}

function unitOptions(o: SystemdOpts, words: string[]): UnitOptions {
  if (o.shipped) return SHIPPED;
  if (o.runAs !== undefined && o.user) throw new UsageError("--run-as is for system units; user units run as their user already");
  const bin = binPath();
  const args = [...words];
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
  };
}

export function systemdPrint(o: SystemdOpts, words: string[], io: Io): number {
  io.stdout.write(printUnits(unitOptions(o, words)));
  return EXIT.OK;
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
  const units = renderUnits(unitOptions(o, words));
  try {
    makeDirs(dir);
    for (const u of units) writeFileSync(join(dir, u.name), u.text, { mode: 0o644 });
  } catch (err) {
    const hint = o.dir === undefined && !o.user ? " (system units need root; or pass --user, or --dir)" : "";
    throw new UsageError(`cannot write the units to ${dir}: ${errorCode(err) ?? String(err)}${hint}`);
  }
  for (const u of units) io.stdout.write(`wrote ${join(dir, u.name)}\n`);
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
      const why = r.error ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : r.stderr.trim().split("\n")[0] || `exit code ${r.status}`;
      io.stderr.write(`mcp-reaper: ${c.join(" ")} failed: ${why}\n`);
      return EXIT.REAP_FAILED;
    }
  }
  return EXIT.OK;
}
