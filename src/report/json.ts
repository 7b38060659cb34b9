// Report: events as JSON for machines. A pass becomes one document (schema in the README); other
// events one object each. Strings stay as read: JSON.stringify escapes control characters itself.
import type { PlannedInstance } from "../decide/planner.js";
import type { InstanceResult } from "../act/execute.js";
import type { PassResult } from "../pass.js";
import type { ReportEvent } from "./events.js";
import type { MemoryFigure } from "../proc/memread.js";

/**
 * The activity guard's view: the last activity lies in (lastActivityAfter, lastActivityAt], so the idle
 * time is in [idleMs, idleMaxMs). lastActivityAfter and idleMaxMs are null when it came before the first look.
 */
function activityJson(inst: PlannedInstance, takenAtMs: number): Record<string, unknown> {
  const max = inst.idleMaxMs ?? null;
  return {
    idleMs: inst.idleMs,
    idleMaxMs: inst.idleMs === null ? null : max,
    lastActivityAt: inst.idleMs === null ? null : new Date(takenAtMs - inst.idleMs).toISOString(),
    lastActivityAfter: inst.idleMs === null || max === null ? null : new Date(takenAtMs - max).toISOString(),
  };
}

function instanceJson(inst: PlannedInstance, result: InstanceResult | undefined, takenAtMs: number, tracked: boolean, memory: MemoryFigure | undefined): Record<string, unknown> {
  return {
    type: inst.signature.label,
    signature: { command: inst.signature.command, cwd: inst.signature.cwd },
    rootPid: inst.rootPid,
    pids: inst.members.map((m) => m.pid),
    processes: inst.members.map((m) => ({
      pid: m.pid,
      ppid: m.ppid,
      startTicks: m.startTicks,
      state: m.state,
      depth: m.depth,
      argv: m.argv,
      rssBytes: m.rssBytes,
    })),
    startedAt: new Date(inst.startedAtMs).toISOString(),
    ageMs: inst.ageMs,
    rssBytes: inst.rssBytes,
    // smaps_rollup private (Private_Clean + Private_Dirty + SwapPss) and PSS over the subtree; null when unknown.
    privateBytes: memory?.privateBytes ?? null,
    pssBytes: memory?.pssBytes ?? null,
    ...(memory?.unknown ? { memoryUnknown: memory.unknown } : {}),
    ...(tracked ? activityJson(inst, takenAtMs) : {}),
    action: inst.action,
    reasonCode: inst.reasonCode,
    reason: inst.reason,
    ...(inst.config ? { config: { name: inst.config.name, path: inst.config.source } } : {}),
    ...(inst.orphan ? { orphan: inst.orphan } : {}),
    ...(inst.session !== undefined ? { session: sessionJson(inst, takenAtMs) } : {}),
    ...(inst.exitsWith && inst.exitsWith.length > 0 ? { exitsWith: inst.exitsWith } : {}),
    ...(result
      ? {
          outcome: result.outcome,
          durationMs: result.durationMs,
          targets: result.targets.map((t) => ({
            pid: t.pid,
            startTicks: t.startTicks,
            result: t.result,
            signals: t.signals,
            ...(t.detail ? { detail: t.detail } : {}),
            ...(t.late ? { late: true } : {}),
          })),
        }
      : {}),
  };
}

/** An instance's session: key, kind, live/ended/idle since when, and the evidence in words. */
function sessionJson(inst: PlannedInstance, takenAtMs: number): Record<string, unknown> | null {
  const s = inst.session;
  if (!s) return null;
  return {
    state: s.state,
    key: s.key,
    sessionId: s.sessionId,
    kind: s.kind,
    since: s.sinceMs === null ? null : new Date(s.sinceMs).toISOString(),
    agoMs: s.sinceMs === null ? null : takenAtMs - s.sinceMs,
    offsetMs: s.offsetMs,
    evidence: s.evidence,
  };
}

/** The --json document for one pass. */
export function passDocument(r: PassResult): Record<string, unknown> {
  const byRoot = new Map(r.results?.map((x) => [x.rootPid, x]));
  return {
    schema: "mcp-reaper/pass@1",
    dryRun: r.dryRun,
    // A host-wide pass has no gateway: null, with scope "host".
    gateway: r.plan.scope === "host" ? null : { pid: r.plan.gateway.pid, comm: r.plan.gateway.comm, argv: r.plan.gateway.argv, startTicks: r.plan.gateway.startTicks },
    scan: r.scan,
    types: r.plan.types.map((t) => ({ type: t.label, instances: t.instances.length })),
    instances: r.plan.types.flatMap((t) => t.instances.map((i) => instanceJson(i, byRoot.get(i.rootPid), r.takenAtMs, r.plan.activityTracked, r.memory?.get(i.rootPid)))),
    ignored: r.plan.ignored,
    zombies: r.plan.zombies,
    summary: r.summary,
    hostMemory: hostMemoryJson(r),
    warnings: r.warnings,
    durationMs: r.durationMs,
    ...serverFields(r),
  };
}

/** MemAvailable around a real run that reaped something: the host's change, which others' processes move too. Null otherwise. */
function hostMemoryJson(r: PassResult): Record<string, unknown> | null {
  const h = r.hostMemory;
  if (!h) return null;
  const change = h.availableBeforeBytes !== null && h.availableAfterBytes !== null ? h.availableAfterBytes - h.availableBeforeBytes : null;
  return { memAvailableBeforeBytes: h.availableBeforeBytes, memAvailableAfterBytes: h.availableAfterBytes, memAvailableChangeBytes: change, settleMs: h.settleMs };
}

/** Host configs read, wrapper layers passed through, and the orphan search: present only when there is something to say. */
function serverFields(r: PassResult): Record<string, unknown> {
  return {
    ...(r.configs && r.configs.length > 0 ? { configs: r.configs } : {}),
    ...(r.plan.wrappers && r.plan.wrappers.length > 0 ? { wrappers: r.plan.wrappers } : {}),
    ...(r.orphanScan ? { orphanScan: r.orphanScan, orphansLeft: r.plan.orphansLeft ?? [] } : {}),
    ...(r.plan.sessions ? { sessions: r.plan.sessions } : {}),
    ...(r.plan.scope === "host" ? { scope: "host" } : {}),
    ...(r.all ? { all: r.all } : {}),
    ...(r.plan.nested && r.plan.nested.length > 0 ? { nested: r.plan.nested } : {}),
    ...(r.openclaw ? { openclaw: r.openclaw } : {}),
  };
}

/**
 * JSON.stringify escapes C0 controls but leaves DEL, the C1 controls (U+009B is a one-byte CSI to some
 * terminals) and bidi overrides raw. They can only sit inside strings, so \u escapes keep the value exact.
 */
function terminalSafe(json: string): string {
  return json.replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** One line of JSON per event (a pass document is one line too). */
export function formatJson(event: ReportEvent): string {
  if (event.kind === "pass") return terminalSafe(JSON.stringify({ event: "pass", at: new Date(event.at).toISOString(), ...passDocument(event.result) }));
  return terminalSafe(JSON.stringify({ event: event.kind, at: new Date(event.at).toISOString(), message: event.message }));
}
