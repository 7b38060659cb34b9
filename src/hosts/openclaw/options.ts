// The command-line option of OpenClaw runtime releases (--release-sessions), added by cli.ts in one call.
import { Option, type Command } from "commander";

export function addReleaseOptions(cmd: Command): Command {
  return cmd.addOption(
    new Option(
      "--release-sessions",
      "OpenClaw 2026.9+: also ask the gateway (its RPC, with the token from its config) to release the MCP runtime slot of each one-shot session whose reaped servers the session store says have ended; never a live session. Costs no transcript (docs/release.md)",
    )
      .env("MCP_REAPER_RELEASE_SESSIONS")
      .helpGroup("Sessions:"),
  );
}
