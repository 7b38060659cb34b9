// The demo world's clean-up: find its processes (also reparented ones) and kill them, leaves first.
// Reads /proc through src/proc, the same readers the reaper uses.
import type { Stat } from "../proc/parse.js";
import { listPids, readEnviron, readStatOrNull } from "../proc/read.js";

type ProcStat = Stat;

/** readStat for bookkeeping: a malformed or vanished process reads as not there. */
function statOrNull(pid: number): ProcStat | null {
  return readStatOrNull("/proc", pid);
}

/** True if the process started with NAME=VALUE in its environment (zombies have none, so never match). */
function hasEnv(pid: number, name: string, value: string): boolean {
  return readEnviron("/proc", pid)?.get(name) === value;
}

/** Every live (non-zombie) process carrying NAME=VALUE, excluding `exclude`. */
export function findByEnv(name: string, value: string, exclude: number[] = []): ProcStat[] {
  const found: ProcStat[] = [];
  for (const pid of listPids("/proc")) {
    if (exclude.includes(pid) || !hasEnv(pid, name, value)) continue;
    const stat = statOrNull(pid);
    if (stat && stat.state !== "Z") found.push(stat);
  }
  return found;
}

/** One pass over /proc: every readable process, zombies included. */
function scan(): ProcStat[] {
  return listPids("/proc")
    .map(statOrNull)
    .filter((stat): stat is ProcStat => stat !== null);
}

/** Live descendants of `root` (not root itself), by following ppid links over `all` (default: a fresh scan). */
function descendants(root: number, all: ProcStat[] = scan()): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const stat of all) byParent.set(stat.ppid, [...(byParent.get(stat.ppid) ?? []), stat]);
  const out: ProcStat[] = [];
  const queue = [root];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of byParent.get(next) ?? []) {
      if (child.state !== "Z") out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

export interface KillTreeOptions {
  /** Env NAME=VALUE that every process of the tree carries; finds the ones reparented away. */
  env: [name: string, value: string];
  /** Root of the tree, itself a target; called each round (return null once it is gone or must not be touched). */
  root: () => number | null;
  /** Pids never to signal (e.g. ourselves). */
  exclude: number[];
  /** Give up (throw, naming survivors) after this long. */
  timeoutMs: number;
  /** Pause between rounds. */
  pollMs: number;
}

/**
 * SIGKILL a whole process tree, leaves first: a process is killed only once it has no children left,
 * not even zombies, so each wrapper reaps its child before dying. Killing all at once would orphan the
 * dying children to pid 1, and some container inits (this sandbox's included) never reap them.
 * Past half the timeout, whatever is left is killed at once.
 */
export async function killTree(opts: KillTreeOptions): Promise<void> {
  const started = Date.now();
  for (;;) {
    const all = scan();
    const root = opts.root();
    const targets = new Map<number, ProcStat>();
    for (const stat of findByEnv(opts.env[0], opts.env[1], opts.exclude)) targets.set(stat.pid, stat);
    if (root !== null) {
      for (const stat of descendants(root, all)) targets.set(stat.pid, stat);
      const self = all.find((stat) => stat.pid === root);
      if (self && self.state !== "Z") targets.set(root, self);
    }
    for (const pid of opts.exclude) targets.delete(pid);
    if (targets.size === 0) return;
    const elapsed = Date.now() - started;
    if (elapsed > opts.timeoutMs) throw new Error(`still alive after ${opts.timeoutMs} ms: ${[...targets.keys()].join(" ")}`);
    const parents = new Set(all.map((stat) => stat.ppid));
    const hurry = elapsed > opts.timeoutMs / 2;
    for (const target of targets.values()) {
      if (hurry || !parents.has(target.pid)) killIfSame(target);
    }
    await new Promise((resolve) => setTimeout(resolve, opts.pollMs));
  }
}

/**
 * SIGKILL `target` only if the pid still names the same process (same start ticks).
 * Node has no pidfd, so this re-check right before kill() is what keeps a reused pid safe.
 */
function killIfSame(target: ProcStat): boolean {
  const now = statOrNull(target.pid);
  if (!now || now.startTicks !== target.startTicks || now.state === "Z") return false;
  try {
    process.kill(target.pid, "SIGKILL");
    return true;
  } catch {
    return false; // ESRCH: it went on its own
  }
}
