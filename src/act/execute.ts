// Act: carry a plan out. Every reaped instance is terminated as a whole subtree, all instances at once.
import { instancesOf, keptPids, type Plan, type PlannedInstance } from "../decide/planner.js";
import { freshHostScan, terminate, type Guard, type TargetOutcome, type TerminateOptions } from "./terminate.js";

export type InstanceOutcome = "terminated" | "killed" | "gone" | "skipped" | "failed";

export interface InstanceResult {
  rootPid: number;
  outcome: InstanceOutcome;
  targets: TargetOutcome[];
  durationMs: number;
}

/** failed > killed > terminated > skipped > gone: the worst thing that happened names the instance. */
export function instanceOutcome(targets: readonly TargetOutcome[]): InstanceOutcome {
  const has = (r: TargetOutcome["result"]): boolean => targets.some((t) => t.result === r);
  if (has("failed")) return "failed";
  if (has("killed")) return "killed";
  if (has("terminated")) return "terminated";
  if (has("skipped")) return "skipped";
  return "gone";
}

export interface ExecuteOptions extends TerminateOptions {
  procRoot: string;
  protectedPids: ReadonlySet<number>;
}

/**
 * Terminates every instance the plan reaps. Each instance's targets are its members as the snapshot
 * took them, so a wrapper that already died cannot hide the server it orphaned. Zombies are skipped
 * up front: they are gone, and only their parent can collect them.
 */
export async function execute(p: Plan, options: ExecuteOptions): Promise<InstanceResult[]> {
  const guard: Guard = {
    procRoot: options.procRoot,
    gatewayPid: p.gateway.pid,
    protectedPids: options.protectedPids,
    keptPids: keptPids(p),
  };
  const reaped = instancesOf(p).filter((i) => i.action === "reap");
  const hostScan = freshHostScan(options.procRoot);
  return Promise.all(
    reaped.map(async (inst: PlannedInstance): Promise<InstanceResult> => {
      const started = Date.now();
      const targets = inst.members.filter((m) => m.state !== "Z" && m.state !== "X");
      let outcomes: TargetOutcome[];
      try {
        outcomes = await terminate(targets, guard, { ...options, members: inst.members.map((m) => m.pid), hostScan });
      } catch (err) {
        // Not a per-process race (those are outcomes) but an I/O error reading /proc: this instance
        // failed; the others, terminated at the same time, are still carried out.
        const detail = `act step stopped: ${err instanceof Error ? err.message : String(err)}`;
        outcomes = targets.map((t) => ({ pid: t.pid, startTicks: t.startTicks, result: "failed", signals: [], detail }));
      }
      return { rootPid: inst.rootPid, outcome: instanceOutcome(outcomes), targets: outcomes, durationMs: Date.now() - started };
    }),
  );
}
