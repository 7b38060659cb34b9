// Test helper: a PassResult with one server type, for the formatters and the metrics (no processes needed).
import type { InstanceOutcome } from "../../src/act/execute.js";
import type { PlannedInstance } from "../../src/decide/planner.js";
import { summarize, type PassResult } from "../../src/pass.js";

/** `kept` kept instances, then one reaped instance per outcome; each holds `rssBytes`. */
export function passResult(o: { label: string; kept: number; outcomes: InstanceOutcome[]; rssBytes: number; dryRun?: boolean }): PassResult {
  let pid = 100;
  const inst = (action: "keep" | "reap"): PlannedInstance => {
    pid++;
    return {
      rootPid: pid,
      rootStartTicks: pid,
      newestStartTicks: pid,
      members: [{ pid, ppid: 10, startTicks: pid, state: "S", depth: 0, argv: ["x"], comm: "x", rssBytes: o.rssBytes }],
      signature: { label: o.label } as PlannedInstance["signature"],
      ageMs: 1000,
      startedAtMs: 0,
      rssBytes: o.rssBytes,
      idleMs: null,
      action,
      reasonCode: action === "keep" ? "newest" : "duplicate",
      reason: action,
    };
  };
  const instances = [...Array.from({ length: o.kept }, () => inst("keep")), ...o.outcomes.map(() => inst("reap"))];
  const plan = { gateway: { pid: 10, startTicks: 1, comm: "gw", argv: ["gw"] }, types: [{ key: o.label, label: o.label, instances }], ignored: [], zombies: [], activityTracked: false };
  const reaped = instances.filter((i) => i.action === "reap");
  const results = o.dryRun
    ? null
    : reaped.map((i, k) => ({
        rootPid: i.rootPid,
        outcome: o.outcomes[k] as InstanceOutcome,
        targets: [{ pid: i.rootPid, startTicks: i.rootPid, result: o.outcomes[k] as InstanceOutcome, signals: [], ...(o.outcomes[k] === "failed" ? { detail: "EPERM" } : {}) }],
        durationMs: 1,
      }));
  return { dryRun: Boolean(o.dryRun), takenAtMs: 0, warnings: [], scan: { method: "children-files", processes: 1, durationMs: 1, skipped: [] }, plan, results, summary: summarize(plan, results), durationMs: 5 };
}
