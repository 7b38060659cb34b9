// Unit: the pure planner over tables of snapshots. No processes, no /proc: snapshots are built in memory.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_MATCH, instancesOf, keptPids, plan, type Policy } from "../../src/decide/planner.js";
import type { ProcInfo, Snapshot } from "../../src/proc/snapshot.js";

const UPTIME_MS = 100_000_000;

interface P {
  pid: number;
  ppid: number;
  argv: string[];
  startTicks: number;
  state?: string;
  rssKb?: number;
  cwd?: string;
}

function snapshot(gatewayPid: number, procs: P[], protectedPids: number[] = [999_999]): Snapshot {
  const info = (p: P): ProcInfo => ({
    pid: p.pid,
    ppid: p.ppid,
    pgid: p.pid,
    comm: (p.argv[0] ?? "").slice(0, 15),
    state: p.state ?? "S",
    utimeTicks: 0,
    stimeTicks: 0, threads: 1, rssPages: 0,
    startTicks: p.startTicks,
    ageMs: UPTIME_MS - p.startTicks * 10,
    startedAtMs: 1_700_000_000_000 + p.startTicks * 10,
    rssBytes: (p.rssKb ?? 1000) * 1024,
    uid: 1000,
    argv: p.argv,
    cwd: p.cwd ?? "/home/u",
    io: null,
  });
  const procs2 = new Map(procs.map((p) => [p.pid, info(p)]));
  const children = new Map<number, number[]>();
  for (const p of procs) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid)?.push(p.pid);
  }
  return {
    procRoot: "/nonexistent",
    takenAtMs: 1_800_000_000_000,
    uptimeMs: UPTIME_MS,
    gateway: info({ pid: gatewayPid, ppid: 1, argv: ["openclaw-gateway"], startTicks: 100 }),
    procs: procs2,
    children,
    protectedPids: new Set(protectedPids),
    method: "full-scan",
    skipped: [],
  };
}

const policy = (over: Partial<Policy> = {}): Policy => ({ keep: 1, minAgeMs: 60_000, match: DEFAULT_MATCH, ignore: null, idleMs: null, ...over });

/** The seed's tree: three heartbeats' worth of uv -> python, plus an npx chain per session and a worker. */
function seedTree(): P[] {
  const procs: P[] = [];
  [1000, 2000, 3000].forEach((t, s) => {
    const base = 200 + s * 10;
    procs.push({ pid: base, ppid: 100, argv: ["uv", "run", "mcp-yfinance-server"], startTicks: t });
    procs.push({ pid: base + 1, ppid: base, argv: ["/venv/bin/python", "/venv/bin/mcp-yfinance-server"], startTicks: t + 2 });
    procs.push({ pid: base + 2, ppid: 100, argv: ["npm", "exec", "@modelcontextprotocol/server-filesystem", "/tmp"], startTicks: t + 1 });
    procs.push({ pid: base + 3, ppid: base + 2, argv: ["sh", "-c", "mcp-server-filesystem /tmp"], startTicks: t + 3 });
    procs.push({ pid: base + 4, ppid: base + 3, argv: ["node", "/n/node_modules/.bin/mcp-server-filesystem", "/tmp"], startTicks: t + 4 });
  });
  procs.push({ pid: 500, ppid: 100, argv: ["node", "/srv/mcp-gateway/worker.js"], startTicks: 500 });
  return procs;
}

describe("plan", () => {
  it("keeps the newest instance per type and reaps the rest, whole subtrees counted once", () => {
    const p = plan(snapshot(100, seedTree()), policy());
    assert.equal(p.types.length, 2);
    for (const t of p.types) {
      assert.equal(t.instances.length, 3, t.label);
      assert.deepEqual(t.instances.map((i) => i.action), ["keep", "reap", "reap"]);
    }
    const fs = p.types.find((t) => t.label.startsWith("@modelcontextprotocol"));
    assert.deepEqual(fs?.instances[0]?.members.map((m) => m.pid), [222, 223, 224]);
    assert.equal(fs?.instances[1]?.reason, "older duplicate: 1 newer of this type, newest is pid 222");
  });

  it("never treats a non-MCP child as an instance, even under an mcp-named directory", () => {
    const p = plan(snapshot(100, seedTree()), policy());
    assert.deepEqual(p.ignored.map((i) => i.rootPid), [500]);
    assert.ok(keptPids(p).has(500));
  });

  it("keeps N newest with --keep", () => {
    const p = plan(snapshot(100, seedTree()), policy({ keep: 2 }));
    for (const t of p.types) assert.deepEqual(t.instances.map((i) => i.action), ["keep", "keep", "reap"]);
  });

  it("never reaps an instance younger than --min-age", () => {
    // Ages: startTicks 1000 -> UPTIME - 10 s. A min-age longer than the oldest instance keeps them all.
    const p = plan(snapshot(100, seedTree()), policy({ minAgeMs: UPTIME_MS }));
    assert.ok(instancesOf(p).every((i) => i.action === "keep"));
    assert.ok(instancesOf(p).some((i) => i.reasonCode === "too-young"));
  });

  it("breaks start-tick ties by the newest tick in the subtree, then by pid", () => {
    const procs: P[] = [
      { pid: 300, ppid: 100, argv: ["uvx", "mcp-server-fetch"], startTicks: 5000 },
      { pid: 301, ppid: 300, argv: ["python", "mcp-server-fetch"], startTicks: 5009 },
      { pid: 302, ppid: 100, argv: ["uvx", "mcp-server-fetch"], startTicks: 5000 },
      { pid: 303, ppid: 302, argv: ["python", "mcp-server-fetch"], startTicks: 5003 },
      { pid: 304, ppid: 100, argv: ["uvx", "mcp-server-fetch"], startTicks: 5000 },
      { pid: 305, ppid: 100, argv: ["uvx", "mcp-server-fetch"], startTicks: 5000 },
    ];
    const p = plan(snapshot(100, procs), policy({ minAgeMs: 0 }));
    assert.deepEqual(p.types[0]?.instances.map((i) => i.rootPid), [300, 302, 305, 304]);
  });

  it("splits types by argument and working directory", () => {
    const procs: P[] = [
      { pid: 300, ppid: 100, argv: ["npx", "mcp-fs", "/a"], startTicks: 1 },
      { pid: 301, ppid: 100, argv: ["npx", "mcp-fs", "/b"], startTicks: 2 },
      { pid: 302, ppid: 100, argv: ["npx", "mcp-fs", "/a"], startTicks: 3, cwd: "/elsewhere" },
    ];
    const p = plan(snapshot(100, procs), policy({ minAgeMs: 0 }));
    assert.equal(p.types.length, 3);
    assert.ok(instancesOf(p).every((i) => i.action === "keep"));
  });

  it("reports zombie children apart and never as instances", () => {
    const procs: P[] = [
      { pid: 300, ppid: 100, argv: [], startTicks: 1, state: "Z" },
      { pid: 301, ppid: 100, argv: ["uvx", "mcp-a"], startTicks: 2 },
    ];
    const p = plan(snapshot(100, procs), policy());
    assert.deepEqual(p.zombies.map((z) => z.pid), [300]);
    assert.equal(instancesOf(p).length, 1);
  });

  it("never reaps an instance that holds mcp-reaper or its ancestors", () => {
    const procs: P[] = [
      { pid: 300, ppid: 100, argv: ["sh", "-c", "mcp-reaper --gateway-pid 100"], startTicks: 1 },
      { pid: 301, ppid: 300, argv: ["node", "/usr/lib/node_modules/mcp-reaper/bin/mcp-reaper.js"], startTicks: 2 },
      { pid: 302, ppid: 100, argv: ["sh", "-c", "mcp-reaper --gateway-pid 100"], startTicks: 3 },
    ];
    const p = plan(snapshot(100, procs, [301, 300, 100, 1]), policy());
    const byRoot = new Map(instancesOf(p).map((i) => [i.rootPid, i]));
    assert.equal(byRoot.get(300)?.reasonCode, "protected");
    assert.equal(byRoot.get(300)?.action, "keep");
    assert.equal(byRoot.get(302)?.action, "keep");
  });

  it("honours --match and --ignore", () => {
    const procs: P[] = [
      { pid: 300, ppid: 100, argv: ["node", "weather.js"], startTicks: 1 },
      { pid: 301, ppid: 100, argv: ["node", "weather.js"], startTicks: 2 },
      { pid: 302, ppid: 100, argv: ["uvx", "mcp-server-fetch"], startTicks: 3 },
    ];
    const p = plan(snapshot(100, procs), policy({ match: /weather/i, ignore: /fetch/i }));
    assert.deepEqual(instancesOf(p).map((i) => [i.rootPid, i.action]), [[301, "keep"], [300, "reap"]]);
    assert.deepEqual(p.ignored.map((i) => [i.rootPid, i.reason]), [[302, "matches --ignore"]]);
  });

  it("is a function of its inputs: the same snapshot gives the same plan", () => {
    const s = snapshot(100, seedTree());
    assert.deepEqual(plan(s, policy()), plan(s, policy()));
  });

  it("sums RSS over the subtree", () => {
    const p = plan(snapshot(100, seedTree()), policy());
    const fs = p.types.find((t) => t.label.startsWith("@modelcontextprotocol"));
    assert.equal(fs?.instances[0]?.rssBytes, 3 * 1000 * 1024);
  });
});
