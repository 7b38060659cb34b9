// Benchmark helper: N unrelated sleeping processes in one process group, so a host looks busy and
// one signal to the group cleans them all up.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { freemem } from "node:os";

export interface Sleepers {
  count: number;
  /** SIGKILLs the whole group. Synchronous and idempotent, so it can run from an exit handler. */
  kill(): void;
}

/**
 * Sleepers exit by themselves after this long, so a benchmark killed with SIGKILL (no handler runs)
 * still leaves nothing behind for long. The whole benchmark aims at under 5 minutes.
 */
const SLEEP_SECONDS = 900;

/** Why N sleepers cannot be started here, or null when there is room for them. */
export function roomFor(n: number): string | null {
  if (n === 0) return null;
  const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
  const used = readFileSync("/proc/loadavg", "utf8").split(" ")[3]?.split("/")[1];
  const running = Number(used ?? "0"); // "runnable/total" scheduling entities, threads included
  // Leave a quarter of the pid space (and at least 4096 pids) to everything else on the host.
  if (running + n > pidMax * 0.75 || pidMax - running - n < 4096) return `pid_max ${pidMax} with ${running} tasks leaves no room for ${n} more`;
  // A sleep costs ~0.3 MB of private memory and kernel structures; ask for 1 MB each plus 512 MB.
  const needBytes = n * 1024 * 1024 + 512 * 1024 * 1024;
  const available = memAvailableBytes() ?? freemem();
  if (available < needBytes) return `${Math.round(available / 2 ** 20)} MB available, ${Math.round(needBytes / 2 ** 20)} MB wanted`;
  return null;
}

function memAvailableBytes(): number | null {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) * 1024 : null;
}

function childCount(pid: number): number {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter((w) => w !== "").length;
  } catch {
    return -1;
  }
}

/**
 * One detached bash (its own process group) forks `sleep` n times and waits. Ready once bash has n
 * children, polled from its children file with a bounded wait.
 */
export async function startSleepers(n: number, timeoutMs = 60_000): Promise<Sleepers> {
  if (n === 0) return { count: 0, kill: () => undefined };
  const child = spawn("bash", ["-c", `for ((i=0;i<${n};i++)); do sleep ${SLEEP_SECONDS} & done; wait`], {
    detached: true,
    stdio: "ignore",
  });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error("could not spawn bash for the sleepers");
  child.unref();
  let killed = false;
  const sleepers: Sleepers = {
    count: n,
    kill() {
      if (killed) return;
      killed = true;
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // ESRCH: the group is already gone.
      }
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (childCount(pgid) < n) {
    if (childCount(pgid) < 0 || Date.now() > deadline) {
      sleepers.kill();
      throw new Error(`sleepers: ${childCount(pgid)} of ${n} started after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return sleepers;
}
