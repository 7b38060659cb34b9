// Integration: the act step against real processes under faults: a target that exits before its
// signal, a pid whose start ticks changed, EPERM (the CLI run as another user), a gateway that dies
// mid-pass. Every signal goes through a recorder: nothing outside the plan may be signalled.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { execute } from "../../src/act/execute.js";
import { DEFAULT_MATCH, instancesOf, plan, type Plan, type PlannedInstance, type Policy } from "../../src/decide/planner.js";
import { type World } from "../../src/demo/world.js";
import { runPass } from "../../src/pass.js";
import { readStat } from "../../src/proc/read.js";
import { protectedPidsOf, takeSnapshot } from "../../src/proc/snapshot.js";
import { formatPass } from "../../src/report/human.js";
import { copyForOtherUsers } from "../otheruser.js";
import { scriptedGateway, until, worldPerTest } from "./worlds.js";

const POLICY: Policy = { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null };
const NOBODY = 65534;

const world = worldPerTest();

/** Gone for our purposes: no such pid, another process on it, or a zombie. */
function gone(pid: number, startTicks: number): boolean {
  const s = readStat("/proc", pid);
  return s === null || s.startTicks !== startTicks || s.state === "Z" || s.state === "X";
}

function snapshotPlan(w: World): Plan {
  const protectedPids = protectedPidsOf("/proc", process.pid);
  return plan(takeSnapshot({ gatewayPid: w.gatewayPid, protectedPids }), POLICY);
}

/** A kill() that records every signal, then sends it for real (or throws what `fail` says for that pid). */
function recorder(fail: (pid: number) => string | null = () => null): { kill: (pid: number, s: NodeJS.Signals) => void; sent: [number, string][] } {
  const sent: [number, string][] = [];
  return {
    sent,
    kill(pid, signal) {
      const code = fail(pid);
      if (code !== null) throw Object.assign(new Error(`kill ${pid}: ${code}`), { code });
      sent.push([pid, signal]);
      process.kill(pid, signal);
    },
  };
}

function reapedPids(p: Plan): Set<number> {
  return new Set(instancesOf(p).filter((i) => i.action === "reap").flatMap((i) => i.members.map((m) => m.pid)));
}

function assertOnlyPlanned(p: Plan, sent: [number, string][]): void {
  const allowed = reapedPids(p);
  for (const [pid, sig] of sent) assert.ok(allowed.has(pid), `${sig} sent to ${pid}, which the plan does not reap`);
}

describe("act step under faults", () => {
  it("a target that exits between snapshot and signal is reported gone, and is not signalled", async () => {
    const w = await world({ sessions: 2 });
    const p = snapshotPlan(w);
    const reaped = instancesOf(p).filter((i) => i.action === "reap");
    assert.equal(reaped.length, 3);
    const victim = reaped[0] as PlannedInstance;
    // Children first; a wrapper may exit on its own once its child is gone (ESRCH is that, not a failure).
    for (const m of [...victim.members].reverse()) {
      try {
        process.kill(m.pid, "SIGKILL");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
      }
    }
    await until(`instance ${victim.rootPid} gone`, () => victim.members.every((m) => gone(m.pid, m.startTicks)));

    const rec = recorder();
    const results = await execute(p, { procRoot: "/proc", protectedPids: protectedPidsOf("/proc", process.pid), graceMs: 3000, kill: rec.kill });
    const byRoot = new Map(results.map((r) => [r.rootPid, r]));
    assert.equal(byRoot.get(victim.rootPid)?.outcome, "gone");
    assert.ok(rec.sent.every(([pid]) => !victim.members.some((m) => m.pid === pid)), "signalled a process that had already exited");
    for (const inst of reaped.slice(1)) assert.equal(byRoot.get(inst.rootPid)?.outcome, "terminated");
    assertOnlyPlanned(p, rec.sent);
  });

  it("a pid whose start ticks changed is skipped and never signalled", async () => {
    const w = await world({ sessions: 2, types: ["fetch"] });
    const p = snapshotPlan(w);
    const victim = instancesOf(p).find((i) => i.action === "reap") as PlannedInstance;
    // As if every pid of the instance had been reused since the snapshot: same pids, other start ticks.
    for (const m of victim.members) m.startTicks += 1;
    const rec = recorder();
    const [result] = await execute(p, { procRoot: "/proc", protectedPids: protectedPidsOf("/proc", process.pid), graceMs: 1000, kill: rec.kill });
    assert.equal(result?.outcome, "skipped");
    assert.ok(result?.targets.every((t) => t.result === "skipped" && /pid reused/.test(t.detail ?? "")), JSON.stringify(result?.targets));
    assert.deepEqual(rec.sent, []);
    for (const m of victim.members) assert.ok(!gone(m.pid, m.startTicks - 1), `pid ${m.pid} was hit`);
  });

  it("EPERM for one instance fails that instance only; the others are still reaped", async () => {
    const w = await world({ sessions: 3, types: ["yfinance"] });
    const rec = recorder((pid) => (denied.has(pid) ? "EPERM" : null));
    const p0 = snapshotPlan(w);
    const first = instancesOf(p0).find((i) => i.action === "reap") as PlannedInstance;
    const denied = new Set(first.members.map((m) => m.pid));
    const r = await runPass({ gateway: { kind: "pid", pid: w.gatewayPid }, policy: POLICY, graceMs: 3000, dryRun: false, procRoot: "/proc", stateFile: null }, { kill: rec.kill });
    const outcomes = new Map(r.results?.map((x) => [x.rootPid, x.outcome]));
    assert.equal(outcomes.get(first.rootPid), "failed");
    assert.deepEqual([...outcomes.values()].sort(), ["failed", "terminated"]);
    assert.equal(r.summary.failed, 1);
    assert.match(formatPass(r), /EPERM/);
    assertOnlyPlanned(r.plan, rec.sent);
    for (const m of first.members) assert.ok(!gone(m.pid, m.startTicks), `denied pid ${m.pid} is gone`);
  });

  it("the CLI run as another user gets EPERM: exit 1, every reaped instance failed and named, nothing crashes", async (t) => {
    const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => {
      try {
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    if (setpriv === undefined) return t.skip("setpriv is not installed: cannot run the CLI as another user");
    if (process.getuid?.() !== 0) return t.skip("not running as root: cannot start a world another user may not signal");
    // The run takes its gateway lock: give uid 65534 a lock directory of its own for this test
    // (MCP_REAPER_LOCK_DIR), removed after, instead of leaving /tmp/mcp-reaper-65534 behind.
    const lockDir = mkdtempSync(join(tmpdir(), "mcp-reaper-faults-"));
    chownSync(lockDir, NOBODY, NOBODY);
    t.after(() => rmSync(lockDir, { recursive: true, force: true }));
    const env = { ...process.env, MCP_REAPER_LOCK_DIR: lockDir };
    // A copy of the CLI that user can reach: the checkout may sit under a 0700 directory.
    const copy = copyForOtherUsers();
    if ("skip" in copy) return t.skip(copy.skip);
    t.after(copy.remove);
    const asNobody = (args: string[]): ReturnType<typeof spawnSync> =>
      spawnSync(setpriv, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, copy.bin, ...args], { encoding: "utf8", timeout: 30_000, cwd: copy.root, env });
    const probe = asNobody(["--version"]);
    if (probe.status !== 0) return t.skip(`uid ${NOBODY} cannot run ${copy.bin}: ${String(probe.stderr).trim().split("\n")[0]}`);

    const w = await world({ sessions: 2 });
    const r = asNobody(["--gateway-pid", String(w.gatewayPid), "--min-age", "0", "--grace", "1s", "--json"]);
    assert.equal(r.status, 1, String(r.stderr));
    assert.equal(String(r.stderr), "");
    const doc = JSON.parse(String(r.stdout)) as { instances: { action: string; outcome?: string; targets?: { detail?: string }[] }[]; summary: { failed: number; reaped: number } };
    const reaped = doc.instances.filter((i) => i.action === "reap");
    assert.equal(reaped.length, 3);
    assert.equal(doc.summary.failed, 3);
    for (const inst of reaped) {
      assert.equal(inst.outcome, "failed");
      assert.ok(inst.targets?.some((x) => /EPERM/.test(x.detail ?? "")), JSON.stringify(inst.targets));
    }
    const human = asNobody(["--gateway-pid", String(w.gatewayPid), "--min-age", "0", "--grace", "1s", "--no-color"]);
    assert.equal(human.status, 1);
    assert.match(String(human.stdout), /EPERM/);
    assert.match(String(human.stdout), /3 failed/);
    // Nobody was touched: every server still runs and recorded no signal.
    assert.equal(w.servers().length, 6);
    for (const s of w.servers()) assert.ok(!gone(s.pid, readStat("/proc", s.pid)?.startTicks ?? -1), `server ${s.pid} is gone`);
    assert.deepEqual(w.signalsSeen(), {});
  });

  it("a gateway that dies between snapshot and act: the pass completes and reports each instance", async () => {
    const w = await world({ sessions: 2, ignoreTermType: "fetch" });
    const rec = recorder();
    const r = await runPass(
      { gateway: { kind: "pid", pid: w.gatewayPid }, policy: POLICY, graceMs: 1000, dryRun: false, procRoot: "/proc", stateFile: null },
      {
        kill: rec.kill,
        onPlan: () => {
          process.kill(w.gatewayPid, "SIGKILL");
          const deadline = Date.now() + 5000;
          while (!gone(w.gatewayPid, readStat("/proc", w.gatewayPid)?.startTicks ?? -1) && Date.now() < deadline);
        },
      },
    );
    assert.equal(r.results?.length, 3);
    for (const x of r.results ?? []) assert.ok(["terminated", "killed", "gone"].includes(x.outcome), `${x.rootPid}: ${x.outcome}`);
    assert.equal(r.summary.failed, 0);
    assertOnlyPlanned(r.plan, rec.sent);
    assert.ok(!rec.sent.some(([pid]) => pid === w.gatewayPid));
    // Every process of a reaped instance is gone, reparented ones included.
    for (const inst of instancesOf(r.plan).filter((i) => i.action === "reap")) {
      for (const m of inst.members) assert.ok(gone(m.pid, m.startTicks), `${m.pid} (${m.argv.join(" ")}) survived`);
    }
    assert.match(formatPass(r), /3 reaped/);
  });

  it("a gateway that dies during the grace wait: the TERM-ignoring server is still killed", async () => {
    const w = await world({ sessions: 2, ignoreTermType: "fetch", types: ["fetch", "yfinance"] });
    const rec = recorder();
    let gatewayKilled = false;
    const r = await runPass(
      { gateway: { kind: "pid", pid: w.gatewayPid }, policy: POLICY, graceMs: 1500, dryRun: false, procRoot: "/proc", stateFile: null },
      {
        kill: (pid, sig) => {
          rec.kill(pid, sig);
          if (!gatewayKilled) {
            gatewayKilled = true;
            setTimeout(() => process.kill(w.gatewayPid, "SIGKILL"), 100);
          }
        },
      },
    );
    assert.ok(gatewayKilled);
    const outcomes = new Map(r.results?.map((x) => [x.rootPid, x.outcome]));
    const ignorer = instancesOf(r.plan).find((i) => i.action === "reap" && i.signature.label.includes("--ignore-term")) as PlannedInstance;
    assert.equal(outcomes.get(ignorer.rootPid), "killed");
    assert.equal(r.summary.failed, 0);
    assertOnlyPlanned(r.plan, rec.sent);
    for (const inst of instancesOf(r.plan).filter((i) => i.action === "reap")) {
      for (const m of inst.members) assert.ok(gone(m.pid, m.startTicks), `${m.pid} (${m.argv.join(" ")}) survived`);
    }
  });

  it("a process started inside a reaped instance after the snapshot is stopped with it, not orphaned", async (t) => {
    // Each line on its FIFO makes the shell server start one more child (as a wrapper restarting its
    // server would). The older instance is planned for reaping; then, before the act step, it starts a
    // child the snapshot never saw.
    const { gatewayPid, dir } = await shellServers(t, ['while read -r _ <&3; do sleep 300 & echo "$!" > "$DIR/late-$$"; done']);
    let old: PlannedInstance | undefined;
    let late: { pid: number; startTicks: number } | undefined;
    const rec = recorder();
    const r = await runPass(
      { gateway: { kind: "pid", pid: gatewayPid }, policy: POLICY, graceMs: 2000, dryRun: false, procRoot: "/proc", stateFile: null },
      {
        kill: rec.kill,
        onPlan: (p) => {
          const reaped = instancesOf(p).filter((i) => i.action === "reap");
          assert.equal(reaped.length, 1, JSON.stringify(instancesOf(p).map((i) => [i.rootPid, i.action, i.reason])));
          old = reaped[0] as PlannedInstance;
          assert.deepEqual(old.members.map((m) => m.pid), [old.rootPid]);
          // Between plan and act: the planned instance starts a child.
          writeFileSync(join(dir, `fifo-${old.rootPid}`), "go\n");
          const lateFile = join(dir, `late-${old.rootPid}`);
          const deadline = Date.now() + 5000;
          while (!(existsSync(lateFile) && readFileSync(lateFile, "utf8").endsWith("\n")) && Date.now() < deadline);
          const pid = Number(readFileSync(lateFile, "utf8").trim());
          const stat = readStat("/proc", pid);
          assert.equal(stat?.ppid, old.rootPid);
          late = { pid, startTicks: stat?.startTicks ?? -1 };
        },
      },
    );
    assert.ok(old && late);
    const [result] = r.results ?? [];
    assert.equal(result?.outcome, "terminated", JSON.stringify(result));
    const target = result?.targets.find((x) => x.pid === late?.pid);
    assert.deepEqual({ late: target?.late, result: target?.result, signals: target?.signals }, { late: true, result: "terminated", signals: ["SIGTERM"] });
    assert.ok(gone(late.pid, late.startTicks), "the late child outlived its instance");
    assert.ok(gone(old.rootPid, old.rootStartTicks));
    // Only the reaped instance was signalled: its root and the child it started.
    assert.deepEqual(rec.sent.map(([pid]) => pid).sort((a, b) => a - b), [old.rootPid, late.pid].sort((a, b) => a - b));
    assert.match(formatPass(r), /with 1 process started after the scan/);
  });

  it("a wrapper that ignores SIGTERM and starts a new child on it: both are killed after the grace", async (t) => {
    const { gatewayPid, dir } = await shellServers(t, [
      'trap \'sleep 300 & echo "$!" > "$DIR/respawn-$$"\' TERM',
      // read is interrupted by the TERM; the loop goes on.
      "while :; do read -r _ <&3; done",
    ]);
    const rec = recorder();
    const r = await runPass({ gateway: { kind: "pid", pid: gatewayPid }, policy: POLICY, graceMs: 500, dryRun: false, procRoot: "/proc", stateFile: null }, { kill: rec.kill });
    const [result] = r.results ?? [];
    const old = instancesOf(r.plan).find((i) => i.action === "reap") as PlannedInstance;
    const respawnFile = join(dir, `respawn-${old.rootPid}`);
    assert.ok(existsSync(respawnFile), "the wrapper started a child on SIGTERM");
    const respawned = Number(readFileSync(respawnFile, "utf8").trim());
    assert.equal(result?.outcome, "killed", JSON.stringify(result));
    const target = result?.targets.find((x) => x.pid === respawned);
    assert.deepEqual({ late: target?.late, result: target?.result, signals: target?.signals }, { late: true, result: "killed", signals: ["SIGKILL"] });
    assert.ok(gone(respawned, target?.startTicks ?? -1), "the respawned child outlived its wrapper");
    assert.deepEqual(rec.sent, [[old.rootPid, "SIGTERM"], [old.rootPid, "SIGKILL"], [respawned, "SIGKILL"]]);
  });
});

/**
 * Two instances of a shell "MCP server" (`sh mcp-server-late.sh`, FIFO on fd 3), 50 ms apart so the
 * second is the newest, whose loop is `body`, under a gateway of the test's own.
 */
function shellServers(t: { after: (fn: () => void) => void }, body: string[]): Promise<{ gatewayPid: number; dir: string }> {
  return scriptedGateway(t, {
    files: { "mcp-server-late.sh": ['mkfifo "$DIR/fifo-$$"', 'exec 3<>"$DIR/fifo-$$"', 'echo ready > "$DIR/ready-$$"', ...body].join("\n") },
    gatewayJs: "const start = () => require('node:child_process').spawn('sh', [process.env.FILE_MCP_SERVER_LATE], { stdio: 'ignore' }); start(); setTimeout(start, 50); setInterval(() => {}, 1000);",
    ready: 2,
  });
}
