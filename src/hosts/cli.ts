// The command-line options of host sessions (--no-sessions, --session-idle), added by cli.ts in one call.
import { InvalidArgumentError, Option, type Command } from "commander";
import { parseDuration } from "../config.js";

function durationArg(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

export function addSessionOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--no-sessions", "do not read the host's sessions (OpenClaw's session store): every instance keeps the keep-newest rules")
        .env("MCP_REAPER_NO_SESSIONS")
        .helpGroup("Sessions:"),
    )
    .addOption(
      new Option("--session-idle <duration>", "also reap the servers of a live session whose last turn is older than this (off by default)")
        .argParser(durationArg)
        .env("MCP_REAPER_SESSION_IDLE")
        .helpGroup("Sessions:"),
    );
}
