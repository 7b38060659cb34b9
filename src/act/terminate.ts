// Act: the one terminate routine. TERM a set of processes, poll with backoff, KILL the survivors,
// re-checking each process's identity (pid + start ticks) right before every signal.
import { setTimeout as sleep } from "node:timers/promises";
import { ProcParseError } from "../proc/parse.js";
import { scanHost, type HostScan } from "../proc/host.js";
import { errorCode, readChildren, readStat, readStatOrNull } from "../proc/read.js";

/** A process to end, named by (pid, startTicks) as the snapshot saw it. */
export interface Target {
  pid: number;
  startTicks: number;
}

export type TargetResult = "terminated" | "killed" | "gone" | "skipped" | "failed";

export interface TargetOutcome extends Target {
  result: TargetResult;
  /** Signals actually sent, in order. */
  signals: ("SIGTERM" | "SIGKILL")[];
  /** Why it was skipped or failed. */
  detail?: string;
  /** Not in the snapshot: it appeared under a target afterwards (a wrapper forked or restarted its server). */
  late?: true;
}

/** What may never be signalled, whatever the plan says. Checked before every signal. */
export interface Guard {
  procRoot: string;
  gatewayPid: number;
  /** Ourselves and our ancestors. */
  protectedPids: ReadonlySet<number>;
  /** Members of kept instances and ignored children. */
  keptPids: ReadonlySet<number>;
}

export interface TerminateOptions {
  /** How long to wait after SIGTERM before SIGKILL. Default 5 000 ms: uv forwards TERM to python and waits for it. */
  graceMs: number;
  /** After SIGKILL, how long to wait for the kernel to finish the exit before calling it failed. Default 2 000 ms. */
  killWaitMs?: number;
  /** Sends a signal; process.kill by default. Tests pass a recorder. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
  /** Aborts the grace wait early (straight to SIGKILL). */
  signal?: AbortSignal;
  /** Every pid of the instance as the snapshot saw it, zombies included: never taken for a late child. */
  members?: Iterable<number>;
  /**
   * Where the kernel has no children files, late children are looked for in a scan of every stat:
   * execute() shares one (freshHostScan) between the instances it terminates at once.
   */
  hostScan?: () => HostScan;
}

/**
 * A host scan made on first use and reused while younger than maxAgeMs: the instances of one act step
 * look at about the same moment, and a scan of a few thousand processes costs tens of ms.
 */
export function freshHostScan(procRoot: string, maxAgeMs = 250): () => HostScan {
  let cached: { atMs: number; scan: HostScan } | null = null;
  return () => {
    const now = Date.now();
    if (cached === null || now - cached.atMs > maxAgeMs) cached = { atMs: now, scan: scanHost(procRoot) };
    return cached.scan;
  };
}

type Check = { state: "alive"; threads: number } | { state: "gone" } | { state: "skip"; why: string };

/**
 * Is this still the process we planned to signal? Never pid <= 1, ourselves or an ancestor, the
 * gateway, or a kept pid. A pid whose start ticks changed now names another process (pid reuse).
 * A process outside the gateway's subtree is still ours to signal when (pid, start ticks) match
 * the snapshot: it was an instance member and was merely reparented when its wrapper died.
 */
export function checkTarget(t: Target, guard: Guard): Check {
  if (!Number.isInteger(t.pid) || t.pid <= 1) return { state: "skip", why: `pid ${t.pid} is never a target` };
  if (t.pid === process.pid || guard.protectedPids.has(t.pid)) return { state: "skip", why: "mcp-reaper itself or one of its ancestors" };
  if (t.pid === guard.gatewayPid) return { state: "skip", why: "the gateway" };
  if (guard.keptPids.has(t.pid)) return { state: "skip", why: "belongs to a kept instance" };
  let stat;
  try {
    stat = readStat(guard.procRoot, t.pid);
  } catch (err) {
    if (err instanceof ProcParseError) return { state: "skip", why: `unreadable stat: ${err.message}` };
    throw err;
  }
  if (stat === null) return { state: "gone" };
  if (stat.startTicks !== t.startTicks) return { state: "skip", why: `pid reused (start ticks ${t.startTicks} -> ${stat.startTicks})` };
  if (stat.state === "Z" || stat.state === "X") return { state: "gone" }; // exited; its parent collects the status
  return { state: "alive", threads: stat.threads };
}

/**
 * Adds to `outcomes` the processes that appeared under a live target since the snapshot: a wrapper
 * that forked, or restarted the server we are about to stop. Left out, they would outlive the reap,
 * orphaned to pid 1. Children come from the children files of each target whose identity still
 * holds (from one scan of every stat where the kernel has no children files), are walked in turn, and
 * are signalled like any target: checkTarget still stands before every signal. Returns the new ones.
 *
 * Not caught: a process forked and handed to pid 1 between two looks, as by a wrapper that starts one
 * in its SIGTERM handler and exits at once (only a cgroup could hold it); --orphans can find such
 * a server on a later pass.
 */
function adoptLateChildren(outcomes: TargetOutcome[], guard: Guard, members: ReadonlySet<number>, hostScan: () => HostScan): TargetOutcome[] {
  const known = new Set([...members, ...outcomes.map((o) => o.pid)]);
  const adopted: TargetOutcome[] = [];
  // outcomes grows while it is walked: a late child's own children are found too.
  for (let i = 0; i < outcomes.length; i++) {
    const parent = outcomes[i] as TargetOutcome;
    const c = checkTarget(parent, guard);
    if (c.state !== "alive") continue;
    let kids: readonly number[];
    try {
      kids = readChildren(guard.procRoot, parent.pid, c.threads) ?? hostScan().byParent.get(parent.pid) ?? [];
    } catch (err) {
      // A children file we cannot read (a --proc-root that is not procfs, no fds left): no late
      // children found under this parent; the planned targets are still signalled.
      if (errorCode(err) === undefined) throw err;
      continue;
    }
    for (const pid of kids) {
      if (known.has(pid)) continue;
      const stat = readStatOrNull(guard.procRoot, pid);
      // A zombie is gone already; a child of another parent is not ours.
      if (stat === null || stat.ppid !== parent.pid || stat.state === "Z" || stat.state === "X") continue;
      // The parent must still be the same process now, after the child's stat named it: a pid is not
      // reused while its process exists, so its ppid then meant our target, not a newcomer on its pid.
      if (readStatOrNull(guard.procRoot, parent.pid)?.startTicks !== parent.startTicks) continue;
      known.add(pid);
      const late: TargetOutcome = { pid, startTicks: stat.startTicks, result: "gone", signals: [], late: true };
      outcomes.push(late);
      adopted.push(late);
    }
  }
  return adopted;
}

function send(o: TargetOutcome, sig: "SIGTERM" | "SIGKILL", kill: (pid: number, s: NodeJS.Signals) => void): void {
  try {
    kill(o.pid, sig);
    o.signals.push(sig);
  } catch (err) {
    const code = errorCode(err);
    if (code === "ESRCH") {
      o.result = "gone";
    } else {
      o.result = "failed";
      o.detail = code === "EPERM" ? `${sig}: not permitted (EPERM): another user's process` : `${sig}: ${code ?? String(err)}`;
    }
  }
}

/** Polls until every pending target is gone or the deadline passes. Backoff 5 ms doubling to 100 ms. */
async function waitGone(pending: TargetOutcome[], guard: Guard, deadline: number, signal?: AbortSignal): Promise<TargetOutcome[]> {
  let delay = 5;
  let left = pending;
  for (;;) {
    left = left.filter((o) => {
      const c = checkTarget(o, guard);
      // After our signal a changed start time means our process died and the pid was reused: gone.
      return c.state === "alive";
    });
    const remaining = deadline - Date.now();
    if (left.length === 0 || remaining <= 0 || signal?.aborted) return left;
    await sleep(Math.min(delay, remaining));
    delay = Math.min(delay * 2, 100);
  }
}

/**
 * Terminates `targets` together: SIGTERM to each (root first) and to whatever appeared under them since
 * the snapshot, wait up to graceMs, SIGKILL to the survivors and to what appeared meanwhile, wait for
 * them to go. Every signal is preceded by checkTarget. Never throws for a per-process failure: the
 * outcome says what happened to each.
 */
export async function terminate(targets: readonly Target[], guard: Guard, options: TerminateOptions): Promise<TargetOutcome[]> {
  const kill = options.kill ?? ((pid: number, s: NodeJS.Signals) => process.kill(pid, s));
  const outcomes: TargetOutcome[] = targets.map((t) => ({ pid: t.pid, startTicks: t.startTicks, result: "gone", signals: [] }));
  const members = new Set([...targets.map((t) => t.pid), ...(options.members ?? [])]);
  const hostScan = options.hostScan ?? freshHostScan(guard.procRoot);
  adoptLateChildren(outcomes, guard, members, hostScan);
  const termed: TargetOutcome[] = [];
  for (const o of outcomes) {
    const c = checkTarget(o, guard);
    if (c.state === "skip") {
      o.result = "skipped";
      o.detail = c.why;
    } else if (c.state === "alive") {
      o.result = "terminated";
      send(o, "SIGTERM", kill);
      if (o.result === "terminated") termed.push(o);
    }
  }
  if (termed.length === 0) return outcomes;

  const survivors = await waitGone(termed, guard, Date.now() + options.graceMs, options.signal);
  // Children started during the grace (a wrapper that restarts its server on TERM) go with the survivors.
  const lateInGrace = survivors.length > 0 ? adoptLateChildren(outcomes, guard, members, hostScan) : [];
  const killed: TargetOutcome[] = [];
  for (const o of [...survivors, ...lateInGrace]) {
    const c = checkTarget(o, guard);
    if (c.state !== "alive") continue; // went away between the last poll and now
    o.result = "killed";
    send(o, "SIGKILL", kill);
    if (o.result === "killed") killed.push(o);
  }
  if (killed.length === 0) return outcomes;
  const stuck = await waitGone(killed, guard, Date.now() + (options.killWaitMs ?? 2000));
  for (const o of stuck) {
    o.result = "failed";
    o.detail = "still alive after SIGKILL (uninterruptible sleep?)";
  }
  return outcomes;
}
