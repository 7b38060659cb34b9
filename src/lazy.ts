// Node built-ins that only some runs need, loaded on first use. Each one a module imports at the top
// is paid by every run: measured against a 61 ms `node -e 0` here, child_process (which pulls in net
// and dgram) costs 2.9 ms and tty (with net and stream) 2.1 ms, in a CLI whose whole budget is ~30 ms.
import { createRequire } from "node:module";

const load = createRequire(import.meta.url);

/** node:child_process: for `ss` (--orphans), `systemctl` (--gateway-unit, systemd install). */
export function childProcess(): typeof import("node:child_process") {
  return load("node:child_process") as typeof import("node:child_process");
}

/** node:tty: whether an output is a terminal (colour and progress), asked only when it matters. */
export function tty(): typeof import("node:tty") {
  return load("node:tty") as typeof import("node:tty");
}
