// Unit: smaps_rollup, meminfo, PSI, cgroup pids and limits parsing; reads under a fake /proc; the pressure
// triggers' hysteresis and rate bound; the memory figures in the report, JSON and metrics.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  parseCgroupPaths,
  parseLoadavgTasks,
  parseMeminfo,
  parseNprocLimit,
  parsePidsCurrent,
  parsePidsMax,
  parsePidsMounts,
  parsePsiSomeAvg10,
  parseSmapsRollup,
} from "../../src/proc/memparse.js";
import { memoryOf, pidsLeft, pidsLimitsOf, readMeminfo, readMemoryPsi, readSmapsRollup, RollupCache } from "../../src/proc/memread.js";
import { ProcParseError } from "../../src/proc/parse.js";
import { formatPass } from "../../src/report/human.js";
import { passDocument } from "../../src/report/json.js";
import { passLine } from "../../src/report/line.js";
import { MetricsFile } from "../../src/report/metrics.js";
import { summarize, type PassResult } from "../../src/pass.js";
import { parseMemoryLow, parsePsiPercent, PressureSensor } from "../../src/supervise/pressure.js";
import { assess, INITIAL_TRIGGER_STATE, type PressureConfig, type PressureReading } from "../../src/supervise/trigger.js";
import { makeFakeProc, type FakeProcRoot } from "./fakeproc.js";
import { passResult } from "./passfixture.js";
import { parsePrometheusText } from "./prom.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";

const MB = 2 ** 20;

// Linux 6.x: every field.
const ROLLUP_6 = `559e15e7c000-7ffce52f7000 ---p 00000000 00:00 0                          [rollup]
Rss:                1756 kB
Pss:                 218 kB
Pss_Dirty:           116 kB
Pss_Anon:            116 kB
Pss_File:            102 kB
Pss_Shmem:             0 kB
Shared_Clean:       1600 kB
Shared_Dirty:          0 kB
Private_Clean:        40 kB
Private_Dirty:       116 kB
Referenced:         1756 kB
Anonymous:           116 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
Swap:                 64 kB
SwapPss:              32 kB
Locked:                0 kB
`;
// Linux 4.14: no Pss_* breakdown, no SwapPss line in this cut-down text (a kernel that lacks a field).
const ROLLUP_OLD = `00400000-7ffc1d5ff000 ---p 00000000 00:00 0                          [rollup]
Rss:                2000 kB
Pss:                 500 kB
Shared_Clean:       1500 kB
Shared_Dirty:          0 kB
Private_Clean:       100 kB
Private_Dirty:       400 kB
`;

describe("parseSmapsRollup", () => {
  it("private = Private_Clean + Private_Dirty + SwapPss; PSS and RSS as written", () => {
    assert.deepEqual(parseSmapsRollup(ROLLUP_6), { privateBytes: (40 + 116 + 32) * 1024, pssBytes: 218 * 1024, rssBytes: 1756 * 1024, swapCounted: true });
  });
  it("a kernel without SwapPss or the Pss_* lines: private from the Private_* lines alone", () => {
    assert.deepEqual(parseSmapsRollup(ROLLUP_OLD), { privateBytes: 500 * 1024, pssBytes: 500 * 1024, rssBytes: 2000 * 1024, swapCounted: false });
  });
  it("no Private_Dirty or no Pss: an error, never a guess", () => {
    assert.throws(() => parseSmapsRollup(ROLLUP_OLD.replace(/^Private_Dirty.*\n/m, "")), ProcParseError);
    assert.throws(() => parseSmapsRollup(ROLLUP_OLD.replace(/^Pss.*\n/m, "")), /no Pss line/);
  });
  it("empty (a zombie, a kernel thread): null, nothing to free", () => {
    assert.equal(parseSmapsRollup(""), null);
  });
});

describe("meminfo, PSI, pids, limits, loadavg", () => {
  it("parseMeminfo reads MemTotal and MemAvailable; a kernel without MemAvailable is an error", () => {
    const text = "MemTotal:       24683756 kB\nMemFree:        1000 kB\nMemAvailable:   22679440 kB\nBuffers: 1 kB\n";
    assert.deepEqual(parseMeminfo(text), { memTotalBytes: 24683756 * 1024, memAvailableBytes: 22679440 * 1024 });
    assert.throws(() => parseMeminfo("MemTotal: 1 kB\nMemFree: 1 kB\n"), /no MemAvailable line/);
  });
  it("parsePsiSomeAvg10", () => {
    assert.equal(parsePsiSomeAvg10("some avg10=23.50 avg60=1.00 avg300=0.00 total=12345\nfull avg10=2.00 avg60=0.00 avg300=0.00 total=1\n"), 23.5);
    assert.throws(() => parsePsiSomeAvg10("full avg10=2.00 avg60=0.00 avg300=0.00 total=1\n"), ProcParseError);
  });
  it("pids.max: a number or max; pids.current a number", () => {
    assert.equal(parsePidsMax("512\n"), 512);
    assert.equal(parsePidsMax("max\n"), null);
    assert.throws(() => parsePidsMax("lots\n"), ProcParseError);
    assert.equal(parsePidsCurrent("37\n"), 37);
    assert.throws(() => parsePidsCurrent(""), ProcParseError);
  });
  it("limits: Max processes soft limit, or null when unlimited", () => {
    const head = "Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \n";
    assert.equal(parseNprocLimit(`${head}Max processes             96369                96369                processes \n`), 96369);
    assert.equal(parseNprocLimit(`${head}Max processes             unlimited            unlimited            processes \n`), null);
    assert.throws(() => parseNprocLimit(head), /no Max processes/);
  });
  it("loadavg: the host's task count", () => {
    assert.equal(parseLoadavgTasks("5.42 3.60 1.63 4/130 24929\n"), 130);
    assert.throws(() => parseLoadavgTasks("garbage"), ProcParseError);
  });
  it("mountinfo: v1 pids and v2 mounts, escaped paths; cgroup: v2 and v1 pids paths", () => {
    const hybrid = [
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
      "41 30 0:38 /ns /mnt/my\\040cg rw shared:1 - cgroup2 cgroup2 rw",
    ].join("\n");
    assert.deepEqual(parsePidsMounts(hybrid), [
      { version: 1, mountPoint: "/sys/fs/cgroup/pids", root: "/" },
      { version: 2, mountPoint: "/sys/fs/cgroup/unified", root: "/" },
      { version: 2, mountPoint: "/mnt/my cg", root: "/ns" },
    ]);
    assert.deepEqual(parseCgroupPaths("9:name=systemd:/\n8:pids:/system.slice/gw.service\n4:memory:/x\n0::/system.slice/gw.service\n"), { v2: "/system.slice/gw.service", pidsV1: "/system.slice/gw.service" });
    assert.deepEqual(parseCgroupPaths("0::/user.slice\n"), { v2: "/user.slice", pidsV1: null });
  });
});

/** Extra files in a fake proc root (relative path -> text). */
function writeFiles(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
}

function withFake<T>(fake: FakeProcRoot, fn: (root: string) => T): T {
  try {
    return fn(fake.root);
  } finally {
    fake.cleanup();
  }
}

describe("reads under a fake /proc", () => {
  it("smaps_rollup: ok, gone, empty (zombie), unavailable (old kernel, or a field missing)", () => {
    const fake = makeFakeProc([
      { pid: 10, ppid: 1, startTicks: 1 },
      { pid: 11, ppid: 10, startTicks: 2 },
      { pid: 12, ppid: 10, startTicks: 3, state: "Z" },
      { pid: 13, ppid: 10, startTicks: 4 },
    ]);
    withFake(fake, (root) => {
      writeFiles(root, { "11/smaps_rollup": ROLLUP_6, "12/smaps_rollup": "", "13/smaps_rollup": ROLLUP_OLD.replace(/^Pss.*\n/m, "") });
      assert.equal(readSmapsRollup(root, 11).kind, "ok");
      assert.equal(readSmapsRollup(root, 12).kind, "gone");
      assert.equal(readSmapsRollup(root, 99).kind, "gone");
      assert.deepEqual(readSmapsRollup(root, 10), { kind: "unavailable", why: "no smaps_rollup (kernel before 4.14)" });
      assert.equal(readSmapsRollup(root, 13).kind, "unavailable");
      // Summed over an instance: a gone or zombie process adds nothing; an unavailable one makes it unknown.
      assert.deepEqual(memoryOf(root, [11, 12, 99]), { privateBytes: 188 * 1024, pssBytes: 218 * 1024, unknown: null });
      const unknown = memoryOf(root, [11, 13]);
      assert.equal(unknown.privateBytes, null);
      assert.match(unknown.unknown ?? "", /no Pss line/);
    });
  });

  it("RollupCache: reused while the process and its RSS hold, read again when RSS moves, it is another process, time passes, or a pass reaped", () => {
    withFake(makeFakeProc([{ pid: 11, ppid: 1, startTicks: 2 }]), (root) => {
      writeFiles(root, { "11/smaps_rollup": ROLLUP_OLD });
      let now = 0;
      const cache = new RollupCache(() => now);
      const key = { pid: 11, startTicks: 2, rssBytes: 2000 * 1024 };
      const priv = (k = key): number | null => memoryOf(root, [k], cache).privateBytes;
      assert.equal(priv(), 500 * 1024);
      writeFiles(root, { "11/smaps_rollup": ROLLUP_6 });
      assert.equal(priv({ ...key, rssBytes: key.rssBytes + 200 * 1024 }), 500 * 1024, "RSS within 256 KiB: the cached read");
      assert.equal(priv({ ...key, rssBytes: key.rssBytes + 300 * 1024 }), 188 * 1024, "RSS moved: read again");
      writeFiles(root, { "11/smaps_rollup": ROLLUP_OLD });
      assert.equal(priv({ ...key, startTicks: 3, rssBytes: key.rssBytes + 300 * 1024 }), 500 * 1024, "another process with the same pid");
      now = RollupCache.MAX_AGE_MS + 1;
      writeFiles(root, { "11/smaps_rollup": ROLLUP_6 });
      assert.equal(priv({ ...key, startTicks: 3, rssBytes: key.rssBytes + 300 * 1024 }), 188 * 1024, "too old: read again");
      cache.endPass(false);
      assert.equal(cache.size, 2);
      priv({ ...key, startTicks: 3, rssBytes: key.rssBytes + 300 * 1024 });
      cache.endPass(false);
      assert.equal(cache.size, 1, "the process not seen this pass is forgotten");
      cache.endPass(true);
      assert.equal(cache.size, 0, "a pass that reaped clears it");
    });
  });

  it("meminfo and pressure/memory: null when missing", () => {
    withFake(makeFakeProc([]), (root) => {
      assert.equal(readMeminfo(root), null);
      assert.equal(readMemoryPsi(root), null);
      writeFiles(root, { meminfo: "MemTotal: 1000 kB\nMemAvailable: 300 kB\n", "pressure/memory": "some avg10=1.50 avg60=0 avg300=0 total=0\n" });
      assert.deepEqual(readMeminfo(root), { memTotalBytes: 1000 * 1024, memAvailableBytes: 300 * 1024 });
      assert.equal(readMemoryPsi(root), 1.5);
    });
  });

  it("cgroup v2: the tightest pids limit on the way up from the gateway's cgroup", () => {
    withFake(makeFakeProc([{ pid: 10, ppid: 1, startTicks: 1, cgroup: "0::/user.slice/user-1000.slice/user@1000.service/app.slice/gw.service\n" }]), (root) => {
      const cg = join(root, "cgroupfs");
      writeFiles(root, {
        "self/mountinfo": `40 30 0:37 / ${cg} rw,relatime - cgroup2 cgroup2 rw\n`,
        "cgroupfs/user.slice/user-1000.slice/user@1000.service/app.slice/gw.service/pids.max": "max\n",
        "cgroupfs/user.slice/user-1000.slice/user@1000.service/app.slice/gw.service/pids.current": "40\n",
        "cgroupfs/user.slice/user-1000.slice/pids.max": "200\n",
        "cgroupfs/user.slice/user-1000.slice/pids.current": "180\n",
        "cgroupfs/user.slice/pids.max": "max\n",
      });
      const levels = pidsLimitsOf(root, 10);
      assert.deepEqual(levels, [{ dir: join(cg, "user.slice/user-1000.slice"), max: 200 }]);
      assert.equal(pidsLeft(levels), 20);
    });
  });

  it("cgroup v1 pids hierarchy first on a hybrid host; none set: nothing to watch", () => {
    withFake(makeFakeProc([{ pid: 10, ppid: 1, startTicks: 1, cgroup: "8:pids:/system.slice/gw.service\n0::/system.slice/gw.service\n" }]), (root) => {
      const v1 = join(root, "pids");
      const v2 = join(root, "unified");
      writeFiles(root, {
        "self/mountinfo": `38 30 0:35 / ${v1} rw - cgroup cgroup rw,pids\n40 30 0:37 / ${v2} rw - cgroup2 cgroup2 rw\n`,
        "pids/system.slice/gw.service/pids.max": "64\n",
        "pids/system.slice/gw.service/pids.current": "60\n",
      });
      assert.deepEqual(pidsLimitsOf(root, 10), [{ dir: join(v1, "system.slice/gw.service"), max: 64 }]);
      writeFiles(root, { "pids/system.slice/gw.service/pids.max": "max\n" });
      assert.deepEqual(pidsLimitsOf(root, 10), []);
    });
  });

  it("RLIMIT_NPROC: the host's task count bounds the user's; the user's tasks are walked only near the limit; root is not bound", () => {
    const procs = [
      { pid: 10, ppid: 1, startTicks: 1, uid: 1000 },
      { pid: 11, ppid: 10, startTicks: 2, uid: 1000 },
      { pid: 12, ppid: 1, startTicks: 3, uid: 0 },
    ];
    withFake(makeFakeProc(procs), (root) => {
      const limits = (n: string): string => `Limit Soft Limit Hard Limit Units\nMax processes             ${n}                ${n}                processes \n`;
      writeFiles(root, { "10/limits": limits("100"), "12/limits": limits("100"), loadavg: "0.1 0.1 0.1 1/50 999\n", "self/mountinfo": "" });
      const sensor = new PressureSensor({ memoryLow: null, tasksLow: 10, memoryPsi: null, everyMs: 2000 }, root);
      assert.match(sensor.target(10) ?? "", /watching RLIMIT_NPROC 100 of uid 1000/);
      // 100 - 50 host tasks >= 10: no walk, the bound is the figure.
      assert.equal(sensor.look().tasksLeft, 50);
      // 95 host tasks: within 10 of the limit, so the user's own tasks are counted (2 processes, 1 thread each).
      writeFiles(root, { loadavg: "0.1 0.1 0.1 1/95 999\n" });
      assert.equal(sensor.look().tasksLeft, 98);
      assert.match(sensor.target(12) ?? "", /RLIMIT_NPROC does not bind root/);
      assert.equal(sensor.look().tasksLeft, null);
    });
  });
});

describe("pressure triggers (pure)", () => {
  const config: PressureConfig = { memoryLow: { kind: "bytes", bytes: 300 * MB }, tasksLow: 50, memoryPsi: 20, everyMs: 2000 };
  const reading = (o: Partial<PressureReading>): PressureReading => ({ memAvailableBytes: 1000 * MB, memTotalBytes: 4000 * MB, psiSomeAvg10: 0, tasksLeft: 500, tasksLimit: "pids.max 512", ...o });

  it("crossing runs a pass at once and says why; above the threshold nothing happens", () => {
    const d = assess(config, reading({ memAvailableBytes: 212 * MB }), INITIAL_TRIGGER_STATE, 10_000, null);
    assert.equal(d.run, true);
    assert.deepEqual(d.reasons, ["memory pressure: MemAvailable 212.0 MB < 300.0 MB"]);
    const quiet = assess(config, reading({}), INITIAL_TRIGGER_STATE, 10_000, null);
    assert.deepEqual([quiet.run, quiet.reasons, [...quiet.state.crossed]], [false, [], []]);
  });

  it("hysteresis: stays crossed until 10% past the threshold, then clears once", () => {
    let d = assess(config, reading({ memAvailableBytes: 290 * MB }), INITIAL_TRIGGER_STATE, 0, null);
    assert.ok(d.state.crossed.has("memory"));
    // Back above 300 MB but under 330 MB: still crossed, and the reason says it is not yet recovered.
    d = assess(config, reading({ memAvailableBytes: 320 * MB }), d.state, 20_000, 5_000);
    assert.ok(d.state.crossed.has("memory") && d.run);
    assert.match(d.reasons[0] ?? "", /not yet back to 330\.0 MB/);
    d = assess(config, reading({ memAvailableBytes: 331 * MB }), d.state, 22_000, 20_000);
    assert.deepEqual([d.run, [...d.state.crossed], d.cleared], [false, [], ["memory pressure over: MemAvailable 331.0 MB >= 330.0 MB"]]);
    // Not crossed before: 320 MB does not cross.
    assert.equal(assess(config, reading({ memAvailableBytes: 320 * MB }), d.state, 40_000, 20_000).run, false);
  });

  it("at most one pressure pass per everyMs x 5 after the last pass while it stays crossed", () => {
    let d = assess(config, reading({ tasksLeft: 10 }), INITIAL_TRIGGER_STATE, 100_000, 95_000);
    assert.equal(d.run, false, "a pass ended 5 s ago: the bound is 10 s");
    assert.ok(d.state.crossed.has("tasks"));
    d = assess(config, reading({ tasksLeft: 10 }), d.state, 105_000, 95_000);
    assert.equal(d.run, true);
    assert.deepEqual(d.reasons, ["task pressure: 10 tasks left < 50 (pids.max 512)"]);
  });

  it("PSI above its percentage crosses, clears at 80% of it; several triggers give several reasons", () => {
    let d = assess(config, reading({ psiSomeAvg10: 25, memAvailableBytes: 100 * MB }), INITIAL_TRIGGER_STATE, 0, null);
    assert.deepEqual(d.reasons, ["memory pressure: MemAvailable 100.0 MB < 300.0 MB", "memory pressure: PSI some avg10 25% > 20%"]);
    d = assess(config, reading({ psiSomeAvg10: 17 }), d.state, 0, null);
    assert.ok(d.state.crossed.has("psi"));
    d = assess(config, reading({ psiSomeAvg10: 16 }), d.state, 0, null);
    assert.ok(!d.state.crossed.has("psi"));
  });

  it("a figure that cannot be read never crosses and clears a crossed trigger (missing evidence never adds passes)", () => {
    let d = assess(config, reading({ memAvailableBytes: 1 * MB }), INITIAL_TRIGGER_STATE, 0, null);
    assert.ok(d.run);
    d = assess(config, reading({ memAvailableBytes: null, tasksLeft: null, psiSomeAvg10: null }), d.state, 60_000, null);
    assert.equal(d.run, false);
    assert.deepEqual(d.cleared, ["memory pressure: MemAvailable not readable; trigger idle"]);
  });

  it("a percentage floor needs MemTotal", () => {
    const pct: PressureConfig = { ...config, memoryLow: { kind: "percent", percent: 10 }, tasksLow: null, memoryPsi: null };
    assert.equal(assess(pct, reading({ memAvailableBytes: 399 * MB }), INITIAL_TRIGGER_STATE, 0, null).run, true);
    assert.equal(assess(pct, reading({ memAvailableBytes: 401 * MB }), INITIAL_TRIGGER_STATE, 0, null).run, false);
    assert.equal(assess(pct, reading({ memAvailableBytes: 1 * MB, memTotalBytes: null }), INITIAL_TRIGGER_STATE, 0, null).run, false);
  });

  it("option values: sizes with units, percentages, PSI percent", () => {
    assert.deepEqual(parseMemoryLow("300M"), { kind: "bytes", bytes: 300 * MB });
    assert.deepEqual(parseMemoryLow("1.5GiB"), { kind: "bytes", bytes: 1.5 * 1024 * MB });
    assert.deepEqual(parseMemoryLow("10%"), { kind: "percent", percent: 10 });
    for (const bad of ["300", "0%", "100%", "-1M", "1X", ""]) assert.throws(() => parseMemoryLow(bad), /--memory-low/, bad);
    assert.equal(parsePsiPercent("20"), 20);
    assert.equal(parsePsiPercent("12.5%"), 12.5);
    for (const bad of ["0", "101", "x"]) assert.throws(() => parsePsiPercent(bad), /--memory-psi/, bad);
  });
});

/** passResult with private figures: kept instances 10 MB each, reaped ones 30 MB, one reaped unknown. */
function withMemory(r: PassResult, unknownRoot: number | null): PassResult {
  const memory = new Map<number, { privateBytes: number | null; pssBytes: number | null; unknown: string | null }>();
  for (const t of r.plan.types)
    for (const i of t.instances) {
      const unknown = i.rootPid === unknownRoot;
      memory.set(i.rootPid, unknown ? { privateBytes: null, pssBytes: null, unknown: "not readable" } : { privateBytes: i.action === "keep" ? 10 * MB : 30 * MB, pssBytes: 40 * MB, unknown: null });
    }
  return { ...r, memory, summary: summarize(r.plan, r.results, memory), hostMemory: r.dryRun ? null : { availableBeforeBytes: 500 * MB, availableAfterBytes: 560 * MB, settleMs: 100 } };
}

describe("memory figures in the report, JSON and metrics", () => {
  it("the report leads with private, then RSS, then the host's change; per instance private", () => {
    const r = withMemory(passResult({ label: "srv", kept: 1, outcomes: ["terminated", "killed", "terminated"], rssBytes: 100 * MB }), 104);
    assert.equal(r.summary.privateReclaimedBytes, 60 * MB);
    assert.equal(r.summary.privateUnknown, 1);
    const text = formatPass(r);
    assert.match(text, /60\.0 MB freed \(private; 1 instance unknown\), 300\.0 MB RSS; host MemAvailable \+60\.0 MB over the pass \(the host's change, not only ours\)/);
    assert.match(text, /rss 100\.0 MB {2}private 30\.0 MB/);
    assert.match(text, /private unknown/);
    assert.match(passLine(r), /60\.0 MB freed \(private; 1 instance unknown\), 300\.0 MB RSS/);
    const dry = withMemory(passResult({ label: "srv", kept: 1, outcomes: ["terminated"], rssBytes: 100 * MB, dryRun: true }), null);
    assert.match(formatPass(dry), /30\.0 MB reclaimable \(private\), 100\.0 MB RSS/);
  });

  it("JSON: privateBytes and pssBytes per instance (null when unknown), summary.privateReclaimedBytes, hostMemory", () => {
    const r = withMemory(passResult({ label: "srv", kept: 1, outcomes: ["terminated", "failed"], rssBytes: 100 * MB }), 102);
    const doc = passDocument(r) as { instances: Record<string, unknown>[]; summary: Record<string, unknown>; hostMemory: Record<string, unknown> };
    assert.deepEqual(doc.instances.map((i) => [i.privateBytes, i.pssBytes]), [[10 * MB, 40 * MB], [null, null], [30 * MB, 40 * MB]]);
    assert.equal(doc.instances[1]?.memoryUnknown, "not readable");
    // The failed instance freed nothing; the terminated one's figure is unknown.
    assert.equal(doc.summary.privateReclaimedBytes, 0);
    assert.equal(doc.summary.privateUnknown, 1);
    assert.deepEqual(doc.hostMemory, { memAvailableBeforeBytes: 500 * MB, memAvailableAfterBytes: 560 * MB, memAvailableChangeBytes: 60 * MB, settleMs: 100 });
  });

  it("metrics: reclaimed private counter for instances really reaped, private gauge by type and state", () => {
    const dir = mkdtempSync(join(tmpdir(), "reaper-unit-mem-"));
    try {
      const m = new MetricsFile(join(dir, "m.prom"));
      m.recordPass(withMemory(passResult({ label: "srv", kept: 1, outcomes: ["terminated", "failed"], rssBytes: 100 * MB }), null), 1_700_000_000_000);
      const fams = parsePrometheusText(m.render());
      assert.equal(fams.get("mcp_reaper_reclaimed_private_bytes_total")?.samples[0]?.value, 30 * MB);
      const gauge = fams.get("mcp_reaper_private_bytes")?.samples ?? [];
      assert.deepEqual(gauge.map((s) => [s.labels.type, s.labels.state, s.value]).sort(), [["srv", "kept", 10 * MB], ["srv", "reaped", 60 * MB]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
