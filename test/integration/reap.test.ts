// Integration: the whole one-shot reaper against real process trees (a fake gateway leaking real wrapper
// chains, one server that ignores SIGTERM, a decoy worker). Every test stops its world, also on failure.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { execute } from "../../src/act/execute.js";
import { DEFAULT_MATCH, instancesOf, plan } from "../../src/decide/planner.js";
import { readStat } from "../../src/proc/read.js";
import { protectedPidsOf, takeSnapshot } from "../../src/proc/snapshot.js";
import { worldPerTest } from "./worlds.js";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));

function reaper(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface JsonInstance {
  type: string;
  rootPid: number;
  pids: number[];
  action: string;
  reason: string;
  outcome?: string;
  processes: { pid: number; startTicks: number }[];
}

const world = worldPerTest();

/** Is (pid, startTicks) still that process, and not a zombie? */
function alive(pid: number, startTicks: number): boolean {
  const s = readStat("/proc", pid);
  return s !== null && s.startTicks === startTicks && s.state !== "Z";
}

describe("one-shot reap of a leaky gateway", () => {
  it("keeps exactly the newest instance per type, kills the SIGTERM-ignorer after grace, orphans nothing", async () => {
    const w = await world({ sessions: 3, ignoreTermType: "fetch" });
    const r = reaper(["--gateway-pid", String(w.gatewayPid), "--min-age", "0", "--grace", "1s", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { instances: JsonInstance[]; ignored: { rootPid: number }[]; summary: Record<string, number> };

    // 3 types x 3 sessions, counted as instances, not pids.
    assert.equal(doc.instances.length, 9);
    assert.equal(doc.summary.types, 3);
    assert.deepEqual([doc.summary.kept, doc.summary.reaped], [3, 6]);
    assert.deepEqual(doc.ignored.map((i) => i.rootPid), [w.decoyPid]);

    // The kept instances are the newest session's servers.
    const servers = w.servers();
    const newest = Math.max(...servers.map((s) => s.session));
    const keptRoots = new Set(doc.instances.filter((i) => i.action === "keep").map((i) => i.rootPid));
    assert.deepEqual(keptRoots, new Set(servers.filter((s) => s.session === newest).map((s) => s.rootPid)));

    // The SIGTERM-ignoring type needed SIGKILL; the others went on SIGTERM.
    for (const inst of doc.instances.filter((i) => i.action === "reap")) {
      assert.equal(inst.outcome, inst.type.includes("--ignore-term") ? "killed" : "terminated", inst.type);
    }

    // No process of a reaped instance is alive anywhere (reparented ones included); kept ones all are.
    for (const inst of doc.instances) {
      for (const p of inst.processes) assert.equal(alive(p.pid, p.startTicks), inst.action === "keep", `${inst.type} pid ${p.pid}`);
    }
    const expectedLive = new Set([w.gatewayPid, w.decoyPid as number, ...doc.instances.filter((i) => i.action === "keep").flatMap((i) => i.pids)]);
    assert.deepEqual(new Set(w.livePids()), expectedLive);

    // Kept servers still answer on their stdio, and were never signalled.
    for (const type of ["yfinance", "fetch", "filesystem"] as const) assert.equal(await w.ping(newest, type), true, type);
    const signalled = Object.keys(w.signalsSeen()).map(Number);
    for (const s of servers.filter((x) => x.session === newest)) assert.ok(!signalled.includes(s.pid));
  });

  it("a dry run signals nobody", async () => {
    const w = await world({ sessions: 3, ignoreTermType: "fetch" });
    const before = w.livePids().sort();
    const r = reaper(["--gateway-pid", String(w.gatewayPid), "--min-age", "0", "--dry-run"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /9 instances of 3 types: 3 kept, 6 would be reaped/);
    assert.match(r.stdout, /dry run: no process was signalled/);
    assert.deepEqual(w.signalsSeen(), {});
    assert.deepEqual(w.livePids().sort(), before);
    // --check is a dry run too, with its own exit code.
    assert.equal(reaper(["--gateway-pid", String(w.gatewayPid), "--min-age", "0", "--check"]).code, 4);
    assert.deepEqual(w.livePids().sort(), before);
  });

  it("respects --min-age: young duplicates are kept", async () => {
    const w = await world({ sessions: 2, decoy: false });
    const before = w.livePids().sort();
    const r = reaper(["--gateway-pid", String(w.gatewayPid), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { instances: JsonInstance[] };
    assert.ok(doc.instances.every((i) => i.action === "keep"));
    assert.ok(doc.instances.some((i) => /younger than --min-age 60s/.test(i.reason)));
    assert.deepEqual(w.livePids().sort(), before);
  });

  it("finds the gateway by name and by pidfile", async () => {
    const w = await world({ sessions: 2, gatewayTitle: `gw-${process.pid}-${Date.now() % 100000}` });
    for (const args of [["--gateway-name", (await import("node:fs")).readFileSync(`/proc/${w.gatewayPid}/cmdline`, "utf8").split("\0")[0] as string], ["--gateway-pidfile", w.pidfile]]) {
      const r = reaper([...args, "--dry-run", "--json", "--min-age", "0"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).gateway.pid, w.gatewayPid, args.join(" "));
    }
  });
});

describe("act step identity checks", () => {
  it("skips a planned target whose start ticks changed (pid reuse), and signals nothing outside the plan", async () => {
    // "fetch" runs under `sh -c` without exec: the shell dies on TERM and does not forward it. The
    // server ignores TERM and outlives its stdin closing, so only our signals could end it.
    const w = await world({ sessions: 2, decoy: false, types: ["fetch"], ignoreTermType: "fetch" });
    const protectedPids = protectedPidsOf("/proc", process.pid);
    const snapshot = takeSnapshot({ gatewayPid: w.gatewayPid, protectedPids });
    const p = plan(snapshot, { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null });
    const victim = instancesOf(p).find((i) => i.action === "reap");
    assert.ok(victim, "one instance to reap");
    // Pretend the server inside it was replaced by another process with the same pid.
    const server = victim.members[1];
    assert.ok(server);
    const realTicks = server.startTicks;
    server.startTicks = realTicks - 1;
    const sent: [number, string][] = [];
    const results = await execute(p, {
      procRoot: "/proc",
      protectedPids,
      graceMs: 1000,
      kill: (pid, sig) => {
        sent.push([pid, sig]);
        process.kill(pid, sig);
      },
    });
    const target = results[0]?.targets.find((t) => t.pid === server.pid);
    assert.equal(target?.result, "skipped");
    assert.match(target?.detail ?? "", /pid reused/);
    assert.ok(alive(server.pid, realTicks), "the 'reused' pid was not signalled");
    assert.ok(!sent.some(([pid]) => pid === server.pid));
    // Only the victim's root was signalled: nothing outside the plan.
    assert.deepEqual(sent.map(([pid]) => pid), [victim.rootPid]);
  });
});
