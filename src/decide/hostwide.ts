// Decide (pure): the plan of a host-wide dead-orphan pass (--orphans with no gateway). Every candidate
// under pid 1 or a subreaper is reaped whole when no process can ever talk to it again, else left alone
// with the reason. No keep-newest here: a server nobody can reach serves nobody.
import type { EscapedFacts } from "../proc/escaped.js";
import type { ProcInfo } from "../proc/snapshot.js";
import type { ActivityView } from "./activity.js";
import { matchEntry } from "./match.js";
import { deadOrphan } from "./orphans.js";
import { addToType, matchesAny, memberOf, newerFirst, newInstance, seconds, typeSignature, type Plan, type Policy, type ServerType } from "./planner.js";
import { preorder } from "./tree.js";

/** Whether an orphan root is an MCP server by its own command line: a --mcp-config entry or --match, and not --ignore. */
export function isMcpRoot(root: ProcInfo, policy: Policy): boolean {
  const m = [memberOf(root, 0)];
  if (policy.ignore && matchesAny(policy.ignore, m)) return false;
  return matchEntry([root], policy.servers ?? []) !== null || matchesAny(policy.match, m);
}

/**
 * Plans a host-wide pass. `init` stands in for the gateway (pid 1: never a target, and the act step's
 * guard refuses it anyway); `protectedPids` are ours and our ancestors'.
 */
export function planHost(facts: EscapedFacts, init: ProcInfo, protectedPids: ReadonlySet<number>, policy: Policy, activity: ActivityView = new Map()): Plan {
  const result: Plan = {
    gateway: { pid: init.pid, startTicks: init.startTicks, comm: init.comm, argv: init.argv },
    types: [],
    ignored: [],
    zombies: [],
    activityTracked: false,
    gatewayAncestors: [],
    orphansLeft: [],
    scope: "host",
  };
  const left = result.orphansLeft as NonNullable<Plan["orphansLeft"]>;
  const byType = new Map<string, ServerType>();
  for (const rootPid of facts.roots) {
    const root = facts.procs.get(rootPid);
    if (!root) continue;
    const tree = preorder(root, facts.children, facts.procs);
    const members = tree.map((m) => memberOf(m.proc, m.depth));
    const pids = members.map((m) => m.pid);
    if (pids.some((pid) => pid <= 1 || protectedPids.has(pid))) {
      left.push({ rootPid, argv: root.argv, pids, reason: "holds mcp-reaper itself or one of its ancestors" });
      continue;
    }
    const verdict = deadOrphan(root, tree, facts);
    if (!verdict.dead) {
      left.push({ rootPid, argv: root.argv, pids, reason: verdict.why });
      continue;
    }
    const entry = matchEntry(tree.map((m) => m.proc), policy.servers ?? []);
    const inst = {
      ...newInstance(root, members, typeSignature(root, entry, policy), entry, activity),
      orphan: { evidence: [], reach: "nobody" as const, detail: `parent ${root.ppid} adopted it; every pipe or socket on its stdin and stdout lost its other end` },
    };
    const young = inst.ageMs < policy.minAgeMs;
    inst.action = young ? "keep" : "reap";
    inst.reasonCode = young ? "too-young" : "unreachable";
    inst.reason = young
      ? `dead host's orphan no process can reach, but younger than --min-age ${seconds(policy.minAgeMs)} (age ${seconds(inst.ageMs)})`
      : "dead host's orphan: no process can ever talk to it again";
    addToType(byType, inst, entry);
  }
  for (const type of byType.values()) type.instances.sort(newerFirst);
  const byText = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  result.types = [...byType.values()].sort((a, b) => b.instances.length - a.instances.length || byText(a.label, b.label) || byText(a.key, b.key));
  return result;
}
