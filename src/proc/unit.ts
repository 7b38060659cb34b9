// Sense: the gateway as a systemd unit. Its process is the unit's MainPID, asked from systemctl each time,
// so a gateway that systemd restarted (new pid) is followed.
import { GatewayNotFoundError } from "./errors.js";
import { childProcess } from "../lazy.js";

/** systemctl answers in ~10 ms; a hung bus must not hang a pass. */
const SYSTEMCTL_TIMEOUT_MS = 10_000;

/**
 * `systemctl [--user] show -p MainPID --value -- UNIT`. MainPID 0 means the unit has no running main
 * process (stopped, failed, or no such unit: systemctl shows properties of unknown units too).
 * `systemctl` is looked up on PATH, so tests can put a fake one first.
 */
export function mainPidOfUnit(unit: string, user: boolean, env: NodeJS.ProcessEnv = process.env): number {
  const args = [...(user ? ["--user"] : []), "show", "-p", "MainPID", "--value", "--", unit];
  const r = childProcess().spawnSync("systemctl", args, { encoding: "utf8", timeout: SYSTEMCTL_TIMEOUT_MS, env, stdio: ["ignore", "pipe", "pipe"] });
  const command = `systemctl ${args.join(" ")}`;
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new GatewayNotFoundError(`cannot run ${command}: ${code === "ENOENT" ? "systemctl not found on PATH" : (code ?? r.error.message)}`);
  }
  if (r.status !== 0) {
    const why = r.stderr.trim().split("\n")[0] || (r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`);
    throw new GatewayNotFoundError(`${command} failed: ${why}`);
  }
  const text = r.stdout.trim();
  if (!/^\d+$/.test(text)) throw new GatewayNotFoundError(`${command} printed ${JSON.stringify(text.slice(0, 40))}, not a pid`);
  const pid = Number(text);
  if (pid === 0) throw new GatewayNotFoundError(`unit ${unit} has no main process (MainPID 0): it is not running, or there is no such ${user ? "user " : ""}unit`);
  return pid;
}
