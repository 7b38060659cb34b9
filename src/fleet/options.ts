// The --all option: every process of a --gateway-name is a gateway of its own.
import { Option, type Command } from "commander";

export function addFleetOptions(cmd: Command): Command {
  return cmd.addOption(
    new Option("--all", "with --gateway-name: every process of that name is a gateway of its own (one per session: claude, codex app-server), each reaped and reported apart")
      .env("MCP_REAPER_ALL")
      .helpGroup("Gateway (name exactly one):"),
  );
}
