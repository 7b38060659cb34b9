// Unit: the activity guard: history folding, idle time of a subtree, planner decisions, the state file.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { emptyHistory, HOUSEKEEPING_CPU_TICKS, idleSpanOf, isHousekeeping, observe, recordKey, type IdleSpan } from "../../src/decide/activity.js";
import { countersAt, SERIES, type Series } from "../fixtures/activity-series.js";
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

const span = (minMs: number, maxMs: number | null): IdleSpan => ({ minMs, maxMs });

describe("observe", () => {
  it("first look is unknown; activity is dated between the look before and the look that saw it", () => {
    const h = emptyHistory("boot");
    const at = (ms: number, n: number, cpu = 0) => observe(h, snap([{ pid: 5, ppid: 100, startTicks: 9, io: io(n), cpu }]), ms).get(5);
    assert.equal(at(1000, 1), null);
    assert.deepEqual(at(4000, 1), span(3000, null), "no change since the first look: idle at least since then");
    assert.deepEqual(at(5000, 2), span(0, 1000), "changed between the looks at 4 s and 5 s");
    assert.deepEqual(at(9000, 2), span(4000, 5000));
    assert.deepEqual(at(10_000, 2, HOUSEKEEPING_CPU_TICKS + 1), span(0, 1000), "CPU beyond housekeeping with no I/O is work");
  });
  it("a tool call 24.5 s before a look is dated within the 30 s between looks, not at the look", () => {
    const h = emptyHistory("boot");
    const at = (ms: number, n: number) => observe(h, snap([{ pid: 5, ppid: 100, startTicks: 9, io: io(n) }]), ms).get(5);
    at(0, 1);
    // the call happened at 5.5 s; the next look is at 30 s
    const seen = at(30_000, 500);
    assert.deepEqual(seen, span(0, 30_000));
    assert.ok(seen && seen.minMs <= 24_500 && 24_500 < (seen.maxMs ?? Infinity), "the true 24.5 s lies in the span");
    assert.deepEqual(at(90_000, 500), span(60_000, 90_000));
  });
  it("a reused pid starts a new record; unreadable io is unknown", () => {
    const h = emptyHistory("boot");
    observe(h, snap([{ pid: 5, ppid: 100, startTicks: 9, io: io(1) }]), 1000);
    assert.equal(observe(h, snap([{ pid: 5, ppid: 100, startTicks: 10, io: io(1) }]), 5000).get(5), null);
    assert.ok(h.records.has(recordKey(5, 10)));
    assert.equal(observe(h, snap([{ pid: 6, ppid: 100, startTicks: 9, io: null }]), 5000).get(6), null);
  });
  it("a subtree is as idle as its least idle member, for both bounds, and unknown if any member is", () => {
    assert.deepEqual(idleSpanOf([1, 2], new Map([[1, span(5000, 6000)], [2, span(200, null)]])), span(200, 6000));
    assert.deepEqual(idleSpanOf([1, 2], new Map([[1, span(5000, null)], [2, span(200, null)]])), span(200, null));
    assert.equal(idleSpanOf([1, 2], new Map([[1, span(5000, null)], [2, null]])), null);
    assert.equal(idleSpanOf([1, 3], new Map([[1, span(5000, null)]])), null);
  });
});

describe("housekeeping (a node process's own wake-ups) is not activity", () => {
  const c = (rchar: number, wchar: number, syscr: number, syscw: number, cpuTicks: number) => ({ rchar, wchar, syscr, syscw, cpuTicks });
  it("8-byte transfers with little CPU are housekeeping; anything else is work", () => {
    assert.equal(isHousekeeping("100/200/10/20/40", c(108, 208, 11, 21, 40)), true, "one memory-reducer wake-up");
    assert.equal(isHousekeeping("100/200/10/20/40", c(100 + 8 * 337, 200 + 8 * 337, 347, 357, 48)), true, "the last GC: 337 wake-ups, 8 ticks");
    assert.equal(isHousekeeping("100/200/10/20/40", c(100, 200, 10, 20, 41)), true, "a CPU tick alone");
    assert.equal(isHousekeeping("100/200/10/20/40", c(201, 379, 12, 22, 41)), false, "a tools/call: 101 bytes in, 179 out");
    assert.equal(isHousekeeping("100/200/10/20/40", c(209, 387, 13, 23, 41)), false, "a call mixed with a wake-up");
    assert.equal(isHousekeeping("100/200/10/20/40", c(100, 200, 10, 20, 40 + HOUSEKEEPING_CPU_TICKS + 1)), false, "a long computation");
    assert.equal(isHousekeeping("100/200/10/20/40", c(92, 192, 9, 19, 40)), false, "counters going backwards");
    assert.equal(isHousekeeping("garbage", c(108, 208, 11, 21, 40)), false, "an unreadable fingerprint");
  });

  // Replays the recorded series with a look every `everyMs` from `firstMs` on, as repeated passes would.
  function replay(series: Series, firstMs: number, everyMs: number, countWakeups = false): { atMs: number; span: IdleSpan | null }[] {
    const h = emptyHistory("boot");
    const out: { atMs: number; span: IdleSpan | null }[] = [];
    for (let t = firstMs; t <= series.endMs; t += everyMs) {
      const s = countersAt(series, t);
      if (!s) continue;
      const [, rchar, wchar, syscr, syscw, cpu] = s;
      // The negative control: every change of the counters looks like work (one byte more per sample,
      // so no change is made of 8-byte units), as when every change was dated as activity.
      const extra = countWakeups ? series.samples.indexOf(s) : 0;
      const view = observe(h, snap([{ pid: 5, ppid: 100, startTicks: 9, io: { rchar: rchar + extra, wchar, syscr, syscw }, cpu }]), t);
      out.push({ atMs: t, span: view.get(5) ?? null });
    }
    return out;
  }

  for (const series of SERIES) {
    it(`recorded: ${series.what}`, () => {
      for (const [firstMs, everyMs] of [[3000, 15_000], [10_000, 15_000], [10_000, 60_000], [30_000, 4_000]] as const) {
        const looks = replay(series, firstMs, everyMs);
        const lastRequest = Math.max(...series.requestsAtMs, 0);
        for (const { atMs, span } of looks.slice(1)) {
          assert.ok(span, `known after the first look (look at ${atMs})`);
          // The last real activity (a request, else the start-up output at ~2 s) lies inside the span.
          const lastWork = series.requestsAtMs.filter((r) => r <= atMs).pop() ?? (firstMs < 2015 ? 2015 : null);
          if (lastWork !== null && lastWork > firstMs) {
            assert.ok(atMs - span.minMs >= lastWork, `look ${atMs}: dated no earlier than the request at ${lastWork} (${JSON.stringify(span)})`);
            assert.ok(span.maxMs !== null && atMs - span.maxMs < lastWork, `look ${atMs}: dated after the look before it (${JSON.stringify(span)})`);
          }
        }
        // Wake-ups and the last GC after the last request never count: at the end the server has been
        // idle since the first look after that request.
        const end = looks[looks.length - 1]!;
        const firstAfter = looks.find((l) => l.atMs >= lastRequest)!;
        assert.ok(end.span && end.span.minMs >= end.atMs - firstAfter.atMs, `${firstMs}/${everyMs}: ${JSON.stringify(end)} vs ${firstAfter.atMs}`);
      }
    });
  }

  it("negative control: counting wake-ups as activity dates the last request ~35 s too late", () => {
    const series = SERIES[1]!; // last request seen at 7 s, the last GC at 41-42 s
    const counted = replay(series, 10_000, 15_000, true);
    const lookAt = (looks: typeof counted, ms: number) => looks.find((l) => l.atMs === ms)!.span!;
    // the look at 55 s sees the GC of 41-42 s: "active 0-15 s ago"
    assert.deepEqual(lookAt(counted, 55_000), span(0, 15_000));
    const honest = replay(series, 10_000, 15_000);
    assert.deepEqual(lookAt(honest, 55_000), span(45_000, null), "idle since before the first look at 10 s");
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
    const activity = new Map<number, IdleSpan | null>([[200, span(600_000, null)], [201, span(5_000, 30_000)], [300, span(600_000, 660_000)], [400, span(0, 15_000)]]);
    const p = plan(snap(tree), policy, activity);
    const by = new Map(instancesOf(p).map((i) => [i.rootPid, i]));
    assert.equal(by.get(400)?.reasonCode, "newest");
    assert.equal(by.get(300)?.action, "reap");
    assert.equal(by.get(200)?.action, "keep");
    assert.match(by.get(200)?.reason ?? "", /in use: active 5s-30s ago \(--idle 60s\)/);
    assert.equal(by.get(200)?.idleMs, 5_000, "the sure lower bound decides");
    assert.equal(by.get(200)?.idleMaxMs, 30_000);
    assert.equal(by.get(300)?.idleMaxMs, 660_000);
    const unknown = plan(snap(tree), policy, new Map([[200, span(600_000, null)]]));
    assert.ok(instancesOf(unknown).every((i) => i.action === "keep"));
  });
  it("negative control: without --idle the same in-use instance is reaped", () => {
    const p = plan(snap(tree), { ...policy, idleMs: null }, new Map([[201, span(0, 1000)]]));
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
    h.records.set("5:9", { fingerprint: "1/1/1/1/0", lastChangeMs: 10, seenMs: 20, changeAfterMs: 5 });
    h.records.set("6:9", { fingerprint: "1/1/1/1/0", lastChangeMs: 10, seenMs: 20, changeAfterMs: null });
    assert.equal(saveHistory(path, h), null);
    assert.deepEqual(readdirSync(join(dir, "a")), ["activity.json"], "no temp file left");
    assert.deepEqual(loadHistory(path, "b1").history, h);
    assert.deepEqual(loadHistory(path, "b2"), { history: emptyHistory("b2"), warning: null });
  });
  it("a record written before changeAfterMs existed only knows its lower bound", () => {
    const path = join(dir, "old.json");
    writeFileSync(path, JSON.stringify({ format: "mcp-reaper/activity@1", bootId: "b1", records: { "5:9": { fingerprint: "1/1/1/1/0", lastChangeMs: 10, seenMs: 20 } } }));
    const rec = loadHistory(path, "b1").history.records.get("5:9");
    assert.equal(rec?.changeAfterMs, null);
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
