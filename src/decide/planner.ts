// Decide: a pure function from a snapshot and a policy to a plan. Who dies is decided here and only here.
import type { ProcInfo, Snapshot } from "../proc/snapshot.js";
import { idleForMs, type ActivityView } from "./activity.js";
import { namesIn, signatureOf, type Signature } from "./signature.js";

export interface Policy {
  /** Instances kept per server type, newest first. Default 1. */
  keep: number;
  /** An instance younger than this is never reaped: it may still be starting up. Default 60 000 (60 s). */
  minAgeMs: number;
  /** An instance is MCP when a name in its subtree's command lines matches. Default /mcp|modelcontextprotocol/i. */
  match: RegExp;
  /** An instance with a name matching this is never MCP. Default null (none). */
  ignore: RegExp | null;
  /**
   * Activity guard: reap only instances whose whole subtree showed no I/O or CPU activity for this
   * long. Unknown activity (first look, unreadable io) counts as active. Default null (off).
   */
  idleMs: number | null;
}

export const DEFAULT_MATCH = /mcp|modelcontextprotocol/i;

/** One process of an instance, as the snapshot saw it. (pid, startTicks) is what the act step checks. */
export interface Member {
  pid: number;
  ppid: number;
  startTicks: number;
  state: string;
  /** Depth below the instance root (root = 0). */
  depth: number;
  argv: string[];
  comm: string;
  rssBytes: number | null;
}

export type Action = "keep" | "reap";
export type ReasonCode = "newest" | "too-young" | "active" | "duplicate" | "protected";

/** A child of the gateway with its whole subtree: the unit that is kept or reaped. */
export interface PlannedInstance {
  rootPid: number;
  rootStartTicks: number;
  /** Newest start ticks in the subtree: breaks ties between roots started in the same 10 ms tick. */
  newestStartTicks: number;
  /** Root first, then depth-first: every process the act step may signal. */
  members: Member[];
  signature: Signature;
  ageMs: number;
  startedAtMs: number;
  /** RSS summed over the subtree. */
  rssBytes: number;
  /** Ms since any process of the subtree last did I/O or used CPU; null when unknown or not tracked. */
  idleMs: number | null;
  action: Action;
  reasonCode: ReasonCode;
  /** Why, in words, for the report. */
  reason: string;
}

export interface ServerType {
  key: string;
  label: string;
  /** Newest first. */
  instances: PlannedInstance[];
}

/** A child of the gateway that is not an MCP server: reported, never touched. */
export interface IgnoredChild {
  rootPid: number;
  argv: string[];
  pids: number[];
  reason: string;
}

export interface Plan {
  gateway: { pid: number; startTicks: number; comm: string; argv: string[] };
  /** MCP server types, most instances first. */
  types: ServerType[];
  ignored: IgnoredChild[];
  /** Exited children the gateway has not waited for yet: only it can reap them. */
  zombies: { pid: number; comm: string }[];
  /** Whether the activity guard was on (then each instance's idleMs is tracked). */
  activityTracked: boolean;
}

function subtree(snapshot: Snapshot, root: ProcInfo): Member[] {
  const members: Member[] = [];
  const walk = (p: ProcInfo, depth: number): void => {
    members.push({
      pid: p.pid,
      ppid: p.ppid,
      startTicks: p.startTicks,
      state: p.state,
      depth,
      argv: p.argv,
      comm: p.comm,
      rssBytes: p.rssBytes,
    });
    for (const child of snapshot.children.get(p.pid) ?? []) {
      const c = snapshot.procs.get(child);
      if (c) walk(c, depth + 1);
    }
  };
  walk(root, 0);
  return members;
}

function matchesAny(re: RegExp, members: readonly Member[]): boolean {
  return members.some((m) => namesIn(m.argv).some((name) => re.test(name)));
}

/** Newest first: root start ticks, then the newest start ticks in the subtree, then pid. */
function newerFirst(a: PlannedInstance, b: PlannedInstance): number {
  return b.rootStartTicks - a.rootStartTicks || b.newestStartTicks - a.newestStartTicks || b.rootPid - a.rootPid;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Math.round(ms / 100) / 10}s`;
}

/** Decides. `activity` (from observe()) is only needed with policy.idleMs; without it nothing is known to be idle. */
export function plan(snapshot: Snapshot, policy: Policy, activity: ActivityView = new Map()): Plan {
  const g = snapshot.gateway;
  const result: Plan = {
    gateway: { pid: g.pid, startTicks: g.startTicks, comm: g.comm, argv: g.argv },
    types: [],
    ignored: [],
    zombies: [],
    activityTracked: policy.idleMs !== null,
  };
  const byType = new Map<string, ServerType>();

  for (const childPid of snapshot.children.get(g.pid) ?? []) {
    const root = snapshot.procs.get(childPid);
    if (!root) continue;
    if (root.state === "Z" || root.state === "X") {
      result.zombies.push({ pid: root.pid, comm: root.comm });
      continue;
    }
    const members = subtree(snapshot, root);
    const pids = members.map((m) => m.pid);
    if (policy.ignore && matchesAny(policy.ignore, members)) {
      result.ignored.push({ rootPid: root.pid, argv: root.argv, pids, reason: "matches --ignore" });
      continue;
    }
    if (!matchesAny(policy.match, members)) {
      result.ignored.push({ rootPid: root.pid, argv: root.argv, pids, reason: "not an MCP server (no name matches --match)" });
      continue;
    }
    const signature = signatureOf(root.argv, root.cwd);
    const instance: PlannedInstance = {
      rootPid: root.pid,
      rootStartTicks: root.startTicks,
      newestStartTicks: Math.max(...members.map((m) => m.startTicks)),
      members,
      signature,
      ageMs: root.ageMs,
      startedAtMs: root.startedAtMs,
      rssBytes: members.reduce((sum, m) => sum + (m.rssBytes ?? 0), 0),
      idleMs: idleForMs(pids, activity),
      action: "keep",
      reasonCode: "newest",
      reason: "",
    };
    let type = byType.get(signature.key);
    if (!type) {
      type = { key: signature.key, label: signature.label, instances: [] };
      byType.set(signature.key, type);
    }
    type.instances.push(instance);
  }

  // Never targets whatever the snapshot says: pid 1 and the gateway can only sit in the subtree of a
  // corrupt or recorded tree, and protectedPids may not reach pid 1 under a fake proc root.
  const never = (pid: number): boolean => pid <= 1 || pid === g.pid || snapshot.protectedPids.has(pid);
  for (const type of byType.values()) {
    type.instances.sort(newerFirst);
    const total = type.instances.length;
    let rank = 0;
    let newestKept: PlannedInstance | undefined;
    for (const inst of type.instances) {
      if (inst.members.some((m) => never(m.pid))) {
        inst.reasonCode = "protected";
        inst.reason = inst.members.some((m) => snapshot.protectedPids.has(m.pid))
          ? "holds mcp-reaper itself or one of its ancestors"
          : "holds pid 1 or the gateway, which are never targets";
        continue;
      }
      rank++;
      newestKept ??= inst;
      if (rank <= policy.keep) {
        inst.reasonCode = "newest";
        inst.reason = total === 1 ? "only instance of its type" : policy.keep === 1 ? `newest of ${total}` : `one of the ${policy.keep} newest of ${total}`;
      } else if (inst.ageMs < policy.minAgeMs) {
        inst.reasonCode = "too-young";
        inst.reason = `older duplicate, but younger than --min-age ${seconds(policy.minAgeMs)} (age ${seconds(inst.ageMs)})`;
      } else if (policy.idleMs !== null && (inst.idleMs === null || inst.idleMs < policy.idleMs)) {
        inst.reasonCode = "active";
        inst.reason =
          inst.idleMs === null
            ? `older duplicate, but its activity is not known yet (--idle ${seconds(policy.idleMs)})`
            : `older duplicate, but in use: active ${seconds(inst.idleMs)} ago (--idle ${seconds(policy.idleMs)})`;
      } else {
        inst.action = "reap";
        inst.reasonCode = "duplicate";
        inst.reason = `older duplicate: ${rank - 1} newer of this type, newest is pid ${newestKept.rootPid}`;
      }
    }
  }

  const byText = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  // Types with one label can differ by cwd: the key breaks that tie, so discovery order never shows.
  result.types = [...byType.values()].sort((a, b) => b.instances.length - a.instances.length || byText(a.label, b.label) || byText(a.key, b.key));
  return result;
}

/** Every instance of the plan, in report order. */
export function instancesOf(p: Plan): PlannedInstance[] {
  return p.types.flatMap((t) => t.instances);
}

/** Pids the act step must never signal: members of kept instances (the gateway and protected pids are checked apart). */
export function keptPids(p: Plan): Set<number> {
  const pids = new Set<number>();
  for (const inst of instancesOf(p)) if (inst.action === "keep") for (const m of inst.members) pids.add(m.pid);
  for (const child of p.ignored) for (const pid of child.pids) pids.add(pid);
  return pids;
}
