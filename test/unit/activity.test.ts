// Unit: the activity guard: history folding, idle time of a subtree, planner decisions, the state file.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { emptyHistory, idleForMs, observe, recordKey } from "../../src/decide/activity.js";
import { DEFAULT_MATCH, instancesOf, plan } from "../../src/decide/planner.js";
import type { IoCounters } from "../../src/proc/parse.js";
import type { ProcInfo, Snapshot } from "../../src/proc/snapshot.js";
import { defaultStateFile, loadHistory, pruneHistory, saveHistory } from "../../src/state.js";
import { makeFakeProc } from "./fakeproc.js";

const io = (n: number): IoCounters => ({ rchar: n, wchar: n, syscr: n, syscw: n });

function snap(procs: { pid: number; ppid: number; startTicks: number; io: IoCounters | null; cpu?: number; argv?: string[] }[]): Snapshot {
  const info = (p: (typeof procs)[number]): ProcInfo => ({
    pid: p.pid,
    ppid: p.ppid,
    pgid: p.pid,
    comm: "x",
    state: "S",
    utimeTicks: p.cpu ?? 0,
    stimeTicks: 0, threads: 1, rssPages: 0,
    startTicks: p.startTicks,
    ageMs: 3_600_000,
    startedAtMs: 0,
    rssBytes: 1024,
    uid: 0,
    argv: p.argv ?? ["uvx", "mcp-server-fetch"],
    cwd: "/",
    io: p.io,
  });
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  return {
    procRoot: "/nonexistent",
    takenAtMs: 0,
    uptimeMs: 0,
    gateway: info({ pid: 100, ppid: 1, startTicks: 1, io: null, argv: ["gw"] }),
    procs: new Map(procs.map((p) => [p.pid, info(p)])),
    children,
    protectedPids: new Set(),
    method: "full-scan",
    skipped: [],
  };
}

describe("observe", () => {
  it("first look is unknown, then idle time grows until the counters change", () => {
    const h = emptyHistory("boot");
    assert.equal(observe(h, snap([{ pid: 5, ppid: 100, startTicks: 9, io: io(1) }]), 1000).get(5), null);
    assert.equal(observe(h, snap([{ pid: 5, ppid: 100, startTicks: 9, io: io(1) }]), 4000).get(5), 3000);
    assert.equal(observe(h, snap([{ pid: 5, ppid: 100, startTicks: 9, io: io(2) }]), 5000).get(5), 0);
    assert.equal(observe(h, snap([{ pid: 5, ppid: 100, startTicks: 9, io: io(2), cpu: 1 }]), 6000).get(5), 0, "CPU time counts as activity");
    assert.equal(observe(h, snap([{ pid: 5, ppid: 100, startTicks: 9, io: io(2), cpu: 1 }]), 9000).get(5), 3000);
  });
  it("a reused pid starts a new record; unreadable io is unknown", () => {
    const h = emptyHistory("boot");
    observe(h, snap([{ pid: 5, ppid: 100, startTicks: 9, io: io(1) }]), 1000);
    assert.equal(observe(h, snap([{ pid: 5, ppid: 100, startTicks: 10, io: io(1) }]), 5000).get(5), null);
    assert.ok(h.records.has(recordKey(5, 10)));
    assert.equal(observe(h, snap([{ pid: 6, ppid: 100, startTicks: 9, io: null }]), 5000).get(6), null);
  });
  it("a subtree is as idle as its least idle member, and unknown if any member is", () => {
    assert.equal(idleForMs([1, 2], new Map([[1, 5000], [2, 200]])), 200);
    assert.equal(idleForMs([1, 2], new Map([[1, 5000], [2, null]])), null);
    assert.equal(idleForMs([1, 3], new Map([[1, 5000]])), null);
  });
});

describe("plan with --idle", () => {
  const tree = [
    { pid: 200, ppid: 100, startTicks: 1000, io: io(1) },
    { pid: 201, ppid: 200, startTicks: 1001, io: io(1) },
    { pid: 300, ppid: 100, startTicks: 2000, io: io(1) },
    { pid: 400, ppid: 100, startTicks: 3000, io: io(1) },
  ];
  const policy = { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: 60_000 };

  it("keeps an older duplicate that is in use, reaps the idle one, keeps unknowns", () => {
    const activity = new Map<number, number | null>([[200, 600_000], [201, 5_000], [300, 600_000], [400, 0]]);
    const p = plan(snap(tree), policy, activity);
    const by = new Map(instancesOf(p).map((i) => [i.rootPid, i]));
    assert.equal(by.get(400)?.reasonCode, "newest");
    assert.equal(by.get(300)?.action, "reap");
    assert.equal(by.get(200)?.action, "keep");
    assert.match(by.get(200)?.reason ?? "", /in use: active 5s ago \(--idle 60s\)/);
    const unknown = plan(snap(tree), policy, new Map([[200, 600_000]]));
    assert.ok(instancesOf(unknown).every((i) => i.action === "keep"));
  });
  it("negative control: without --idle the same in-use instance is reaped", () => {
    const p = plan(snap(tree), { ...policy, idleMs: null }, new Map([[201, 0]]));
    assert.equal(instancesOf(p).find((i) => i.rootPid === 200)?.action, "reap");
  });
});

describe("state file", () => {
  const dir = mkdtempSync(join(tmpdir(), "mcp-reaper-state-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips, and starts fresh silently when missing or from another boot", () => {
    const path = join(dir, "a", "activity.json");
    assert.deepEqual(loadHistory(path, "b1"), { history: emptyHistory("b1"), warning: null });
    const h = emptyHistory("b1");
    h.records.set("5:9", { fingerprint: "1/1/1/1/0", lastChangeMs: 10, seenMs: 20 });
    assert.equal(saveHistory(path, h), null);
    assert.deepEqual(readdirSync(join(dir, "a")), ["activity.json"], "no temp file left");
    assert.deepEqual(loadHistory(path, "b1").history, h);
    assert.deepEqual(loadHistory(path, "b2"), { history: emptyHistory("b2"), warning: null });
  });
  it("a corrupt file gives one warning and a fresh start; the next save repairs it", () => {
    const path = join(dir, "corrupt.json");
    for (const text of ["{not json", '{"format":"other"}', "", "null"]) {
      writeFileSync(path, text);
      const { history, warning } = loadHistory(path, "b1");
      assert.equal(history.records.size, 0);
      assert.match(warning ?? "", /is corrupt/, JSON.stringify(text));
    }
    assert.equal(saveHistory(path, emptyHistory("b1")), null);
    assert.equal(loadHistory(path, "b1").warning, null);
    assert.match(readFileSync(path, "utf8"), /mcp-reaper\/activity@1/);
  });
  it("an unwritable location is a warning, not a crash", () => {
    writeFileSync(join(dir, "file"), "");
    assert.match(saveHistory(join(dir, "file", "x.json"), emptyHistory("b")) ?? "", /cannot write state file/);
    assert.ok(!existsSync(join(dir, "file", "x.json")));
  });
  it("prunes records of processes that are gone or whose pid was reused", () => {
    const fake = makeFakeProc([{ pid: 5, ppid: 1, startTicks: 9 }, { pid: 6, ppid: 1, startTicks: 77 }]);
    try {
      const h = emptyHistory("b");
      for (const key of ["5:9", "6:70", "7:1"]) h.records.set(key, { fingerprint: "", lastChangeMs: 0, seenMs: 0 });
      pruneHistory(h, fake.root);
      assert.deepEqual([...h.records.keys()], ["5:9"]);
    } finally {
      fake.cleanup();
    }
  });
  it("lives in $STATE_DIRECTORY under systemd, else the XDG state dir", () => {
    assert.equal(defaultStateFile({ STATE_DIRECTORY: "/var/lib/mcp-reaper:/x" }), "/var/lib/mcp-reaper/activity.json");
    assert.equal(defaultStateFile({ XDG_STATE_HOME: "/s", HOME: "/h" }), "/s/mcp-reaper/activity.json");
    assert.equal(defaultStateFile({ HOME: "/h" }), "/h/.local/state/mcp-reaper/activity.json");
  });
});
