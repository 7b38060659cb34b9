// Property: planner invariants over random snapshots (random trees, duplicate signatures, equal start
// ticks, zombies, protected pids, processes outside the gateway's subtree, pid 1 where it should not be).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_MATCH, instancesOf, plan, type Plan, type PlannedInstance, type Policy } from "../../src/decide/planner.js";
import type { ProcInfo, Snapshot } from "../../src/proc/snapshot.js";
import { forAll, SEED, type Rng } from "./prng.js";

const CASES = 1500;
const UPTIME_MS = 50_000_000;

/** Few commands and cwds, so types collide; some are not MCP at all. */
const ROOT_ARGV = [
  ["uv", "run", "mcp-server-fetch"],
  ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
  ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/home"],
  ["sh", "-c", "node /srv/mcp-yfinance/index.js"],
  ["python3", "-m", "mcp_server_time"],
  ["node", "worker.js"],
  ["bash"],
];
const CHILD_ARGV = [["python3", "server.py"], ["node", "/srv/mcp-yfinance/index.js"], ["sleep", "1"], ["mcp-server-fetch"]];

function proc(rng: Rng, pid: number, ppid: number, argv: string[]): ProcInfo {
  const startTicks = rng.int(1000, 1012); // a narrow range: equal start ticks are common
  return {
    pid,
    ppid,
    pgid: pid,
    io: null,
    comm: (argv[0] ?? "").slice(0, 15),
    state: rng.bool(0.08) ? "Z" : "S",
    utimeTicks: 0,
    stimeTicks: 0, threads: 1, rssPages: 0,
    startTicks,
    ageMs: rng.bool(0.2) ? rng.int(0, 59_999) : UPTIME_MS - startTicks * 10,
    startedAtMs: 1_700_000_000_000 + startTicks * 10,
    rssBytes: rng.bool(0.1) ? null : rng.int(0, 200) * 1024 * 1024,
    uid: 1000,
    argv: rng.bool(0.05) ? [] : argv,
    cwd: rng.bool(0.05) ? null : rng.bool(0.9) ? "/home/u" : "/srv",
  };
}

interface Case {
  snapshot: Snapshot;
  policy: Policy;
  /** Pids reachable from the gateway through `children`: the only candidates. */
  subtree: Set<number>;
}

function randomCase(rng: Rng): Case {
  const gatewayPid = rng.int(2, 50);
  const pids = rng.shuffle(Array.from({ length: 400 }, (_, i) => i + 60));
  const procs = new Map<number, ProcInfo>();
  const children = new Map<number, number[]>();
  const add = (p: ProcInfo): void => {
    procs.set(p.pid, p);
    children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  };
  const subtree = new Set<number>();
  const roots = rng.int(0, 14);
  for (let r = 0; r < roots; r++) {
    // pid 1 as a gateway child only a corrupt or fake tree can show; the planner must still refuse it.
    const rootPid = rng.bool(0.03) ? 1 : (pids.pop() as number);
    if (procs.has(rootPid)) continue;
    add(proc(rng, rootPid, gatewayPid, rng.pick(ROOT_ARGV)));
    subtree.add(rootPid);
    const chain = [rootPid];
    for (let k = rng.int(0, 4); k > 0; k--) {
      const child = pids.pop() as number;
      const parent = rng.pick(chain);
      add(proc(rng, child, parent, rng.pick(CHILD_ARGV)));
      subtree.add(child);
      chain.push(child);
    }
  }
  // A family outside the gateway's subtree (its parent is not a descendant): never a candidate.
  for (let k = rng.int(0, 3); k > 0; k--) add(proc(rng, pids.pop() as number, rng.pick([1, 9999]), rng.pick(ROOT_ARGV)));

  // Protected: ourselves and our ancestors. Sometimes we run inside an instance (a chain to its root).
  // protectedPidsOf always ends at pid 1 on a real host; a recorded tree may not reach it.
  const protectedPids = new Set<number>(rng.bool() ? [999_999, 1] : [999_999]);
  const inside = [...subtree].filter((pid) => pid !== 1);
  if (inside.length > 0 && rng.bool(0.3)) {
    for (let pid: number | undefined = rng.pick(inside); pid !== undefined && pid !== gatewayPid; pid = procs.get(pid)?.ppid) protectedPids.add(pid);
  }
  const gateway = proc(rng, gatewayPid, 1, ["openclaw-gateway"]);
  gateway.state = "S";
  return {
    snapshot: {
      procRoot: "/nonexistent",
      takenAtMs: 1_800_000_000_000,
      uptimeMs: UPTIME_MS,
      gateway,
      procs,
      children,
      protectedPids,
      method: "children-files",
      skipped: [],
    },
    policy: { keep: rng.int(1, 3), minAgeMs: rng.pick([0, 60_000]), match: DEFAULT_MATCH, ignore: rng.bool(0.2) ? /time/i : null, idleMs: null },
    subtree,
  };
}

/** The planner's order, recomputed here: newer root start, then newer start in the subtree, then higher pid. */
function newer(a: PlannedInstance, b: PlannedInstance): boolean {
  const newest = (i: PlannedInstance): number => Math.max(...i.members.map((m) => m.startTicks));
  if (a.rootStartTicks !== b.rootStartTicks) return a.rootStartTicks > b.rootStartTicks;
  if (newest(a) !== newest(b)) return newest(a) > newest(b);
  return a.rootPid > b.rootPid;
}

/** What must not change between equal inputs: per type, each instance's root, action, reason and pids. */
function shape(p: Plan): unknown {
  return p.types.map((t) => [t.key, t.instances.map((i) => [i.rootPid, i.action, i.reasonCode, i.members.map((m) => m.pid).sort((x, y) => x - y)])]);
}

describe(`planner invariants over random snapshots (seed ${SEED})`, () => {
  it("never reaps the gateway, pid 1, protected pids or anything outside the subtree; keeps the newest keep per type", () => {
    let reapedSeen = 0;
    forAll("planner invariants", CASES, (rng) => {
      const { snapshot, policy, subtree } = randomCase(rng);
      const p = plan(snapshot, policy);
      const all = instancesOf(p);
      const seen = new Map<number, number>();
      for (const inst of all) for (const m of inst.members) seen.set(m.pid, (seen.get(m.pid) ?? 0) + 1);
      for (const child of p.ignored) for (const pid of child.pids) seen.set(pid, (seen.get(pid) ?? 0) + 1);
      for (const [pid, n] of seen) assert.equal(n, 1, `pid ${pid} is in ${n} instances`);

      for (const type of p.types) {
        for (const inst of type.instances) {
          if (inst.action !== "reap") continue;
          reapedSeen++;
          for (const m of inst.members) {
            assert.notEqual(m.pid, snapshot.gateway.pid, "reaps the gateway");
            assert.ok(m.pid > 1, `reaps pid ${m.pid}`);
            assert.ok(!snapshot.protectedPids.has(m.pid), `reaps protected pid ${m.pid}`);
            assert.ok(subtree.has(m.pid), `reaps pid ${m.pid} outside the gateway's subtree`);
          }
          assert.ok(inst.ageMs >= policy.minAgeMs, `reaps an instance younger than min-age`);
          const newerKept = type.instances.filter((o) => o !== inst && o.action === "keep" && o.reasonCode !== "protected" && newer(o, inst));
          assert.ok(newerKept.length >= policy.keep, `reaps ${inst.rootPid} with only ${newerKept.length} newer kept of its type (keep ${policy.keep})`);
        }
      }
      assert.deepEqual(shape(plan(snapshot, policy)), shape(p), "equal inputs, different plans");
    });
    assert.ok(reapedSeen > CASES / 4, `only ${reapedSeen} reaped instances over ${CASES} cases: the generator is too tame`);
  });

  it("the plan does not depend on the order children were discovered in", () => {
    forAll("order independence", CASES / 3, (rng) => {
      const { snapshot, policy } = randomCase(rng);
      const shuffled = new Map([...snapshot.children].map(([pid, kids]) => [pid, rng.shuffle(kids)]));
      assert.deepEqual(shape(plan({ ...snapshot, children: shuffled }, policy)), shape(plan(snapshot, policy)));
    });
  });
});
