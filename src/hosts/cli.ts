// The command-line options of host sessions (--no-sessions, --session-idle), added by cli.ts in one call.
import { Option, type Command } from "commander";
import { parseDuration } from "../config.js";

/** `arg`: cli.ts's wrapper that turns a parser's UsageError into commander's InvalidArgumentError. */
export function addSessionOptions(cmd: Command, arg: <T>(parse: (text: string) => T) => (text: string) => T): Command {
  return cmd
    .addOption(
      new Option("--no-sessions", "do not read the host's sessions (OpenClaw's session store): every instance keeps the keep-newest rules")
        .env("MCP_REAPER_NO_SESSIONS")
        .helpGroup("Sessions:"),
    )
    .addOption(
      new Option("--session-idle <duration>", "also reap the servers of a live session whose last turn is older than this (off by default)")
        .argParser(arg(parseDuration))
        .env("MCP_REAPER_SESSION_IDLE")
        .helpGroup("Sessions:"),
    );
}
