// Pure and file-level pieces of the supervisor: schedule (incl. the DST gap), options file, option
// precedence, lock, metrics text format, log lines, ExecStart quoting.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Command, Option } from "commander";
import { parseIdle, UsageError } from "../../src/config.js";
import { readStat } from "../../src/proc/read.js";
import { formatLine, priorityOf } from "../../src/report/line.js";
import { escapeLabelValue, MAX_TYPE_SERIES, MetricsFile, OTHER_TYPES } from "../../src/report/metrics.js";
import { layerOptions } from "../../src/supervise/layers.js";
import { acquireLock, ensureLockDir, LockDirError, LockHeldError, lockDir, lockFileName } from "../../src/supervise/lock.js";
import { parseOptionsFile } from "../../src/supervise/options-file.js";
import { releaseGarbage } from "../../src/supervise/memory.js";
import { Throttle } from "../../src/supervise/run.js";
import { FALLBACK_DELAY_MS, loadSchedule, nextRunAfter } from "../../src/supervise/schedule.js";
import { execWord } from "../../src/systemd/units.js";
import { parsePrometheusText } from "./prom.js";
import { passResult } from "./passfixture.js";

const tmp = mkdtempSync(join(tmpdir(), "reaper-unit-sup-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("schedule", () => {
  const bad: [string, RegExp][] = [
    ["", /need 5 fields .* got 0/],
    ["* * *", /need 5 fields .* got 3/],
    ["* * * * * * *", /got 7/],
    ["61 * * * *", /Constraint error, got value 61 expected range 0-59/],
    ["a b c d e", /Invalid characters/],
    ["0 0 31 2 *", /Invalid explicit day of month/],
  ];
  for (const [expr, reason] of bad) {
    it(`rejects ${JSON.stringify(expr)} with the parser's reason, one line`, async () => {
      await assert.rejects(loadSchedule(expr, "UTC"), (err: Error) => err instanceof UsageError && reason.test(err.message) && !err.message.includes("\n"));
    });
  }

  it("5 fields are minutes, 6 start with seconds; next is strictly after now", async () => {
    const now = Date.parse("2026-01-01T00:00:30.000Z");
    assert.equal((await loadSchedule("* * * * *", "UTC")).nextAfter(now).atMs, Date.parse("2026-01-01T00:01:00Z"));
    assert.equal((await loadSchedule("*/10 * * * * *", "UTC")).nextAfter(now).atMs, Date.parse("2026-01-01T00:00:40Z"));
    // Exactly on a slot: the next one, never the same instant again.
    assert.equal((await loadSchedule("*/10 * * * * *", "UTC")).nextAfter(now + 10_000).atMs, Date.parse("2026-01-01T00:00:50Z"));
  });

  it("never stalls across DST gaps (cron-parser #404): 3 days of Europe/Rome spring-forward, strictly increasing", async () => {
    for (const expr of ["30 2 * * *", "0 3 * * 0", "*/5 * * * *", "0 * * * *", "0 5 * * 0"]) {
      const s = await loadSchedule(expr, "Europe/Rome");
      let t = Date.parse("2025-03-29T00:00:00Z");
      const end = Date.parse("2025-04-01T00:00:00Z");
      let steps = 0;
      while (t < end) {
        const next = s.nextAfter(t);
        assert.ok(next.atMs > t, `${expr}: ${new Date(next.atMs).toISOString()} after ${new Date(t).toISOString()}`);
        assert.ok(next.atMs - t <= 7 * 86_400_000, `${expr}: a gap of ${next.atMs - t} ms`);
        t = next.atMs;
        assert.ok(++steps < 2000);
      }
    }
  });

  it("a parser that throws, goes backwards or stands still is stepped past, then falls back to a fixed delay", () => {
    const now = 1_000_000;
    assert.deepEqual(nextRunAfter((from) => (from === now ? NaN : from + 5), now), { atMs: now + 1005, fallback: false });
    let calls = 0;
    const stuck = nextRunAfter(() => {
      calls++;
      throw new Error("hasNext() false");
    }, now);
    assert.deepEqual(stuck, { atMs: now + FALLBACK_DELAY_MS, fallback: true });
    assert.ok(calls >= 2);
    assert.equal(nextRunAfter(() => now - 1, now).fallback, true);
    assert.equal(nextRunAfter(() => now, now).fallback, true);
  });
});

describe("options file (systemd EnvironmentFile format)", () => {
  it("reads comments, quotes, escapes and continuations", () => {
    const vars = parseOptionsFile(
      [
        "# comment",
        "; also a comment",
        "",
        "MCP_REAPER_KEEP=2",
        "  MCP_REAPER_GATEWAY_NAME = open claw  ",
        'MCP_REAPER_MATCH="mcp|a \\"b\\" \\\\d"',
        "MCP_REAPER_IGNORE='$literal \\n'",
        "MCP_REAPER_GRACE=1\\",
        "0s",
        "OTHER=x=y",
      ].join("\n"),
      "f",
    );
    assert.deepEqual(Object.fromEntries(vars), {
      MCP_REAPER_KEEP: "2",
      MCP_REAPER_GATEWAY_NAME: "open claw",
      MCP_REAPER_MATCH: 'mcp|a "b" \\d',
      MCP_REAPER_IGNORE: "$literal \\n",
      MCP_REAPER_GRACE: "10s",
      OTHER: "x=y",
    });
  });

  for (const [text, reason] of [
    ["no equals sign", /f:1: expected KEY=VALUE/],
    ["1BAD=x", /f:1: expected KEY=VALUE/],
    ['\nK="open', /f:2: K: missing closing "/],
    ["K='a' b", /text after the closing '/],
  ] as const) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.throws(() => parseOptionsFile(text, "f"), reason));
  }
});

describe("option precedence: command line > options file > environment > default", () => {
  const program = (argv: string[]): Command => {
    const cmd = new Command()
      .exitOverride()
      .addOption(new Option("--keep <n>").argParser((t) => Number(t)).default(1).env("MCP_REAPER_KEEP"))
      .addOption(new Option("--grace <d>").default("5s").env("MCP_REAPER_GRACE"))
      .addOption(new Option("--tz <z>").env("MCP_REAPER_TZ"))
      .addOption(new Option("--user").env("MCP_REAPER_USER_UNIT"));
    cmd.parse(argv, { from: "user" });
    return cmd;
  };
  const file = new Map([
    ["MCP_REAPER_KEEP", "3"],
    ["MCP_REAPER_GRACE", "2s"],
  ]);
  const env = { MCP_REAPER_KEEP: "4", MCP_REAPER_GRACE: "9s", MCP_REAPER_TZ: "UTC", MCP_REAPER_USER_UNIT: "0" };

  it("each option from the highest layer that has it", () => {
    const o = layerOptions<Record<string, unknown>>(program(["--keep", "7"]), file, env, "f");
    assert.deepEqual(o, { keep: 7, grace: "2s", tz: "UTC", user: false });
  });
  it("without a file the environment wins over the default; without both the default stands", () => {
    assert.deepEqual(layerOptions<Record<string, unknown>>(program([]), null, env, "f"), { keep: 4, grace: "9s", tz: "UTC", user: false });
    assert.deepEqual(layerOptions<Record<string, unknown>>(program([]), null, {}, "f"), { keep: 1, grace: "5s", tz: undefined, user: undefined });
  });
  it("a reload re-reads the file: a key removed falls back to the environment", () => {
    const cmd = program([]);
    assert.equal(layerOptions<{ keep: number }>(cmd, file, env, "f").keep, 3);
    assert.equal(layerOptions<{ keep: number }>(cmd, new Map(), env, "f").keep, 4);
  });
  it("a misspelt MCP_REAPER_ key is a usage error; other variables are left alone", () => {
    assert.throws(() => layerOptions(program([]), new Map([["MCP_REAPER_KEPP", "2"]]), {}, "f"), /f: unknown setting MCP_REAPER_KEPP/);
    assert.doesNotThrow(() => layerOptions(program([]), new Map([["NODE_OPTIONS", "x"]]), {}, "f"));
    assert.throws(() => layerOptions(program([]), new Map([["MCP_REAPER_USER_UNIT", "maybe"]]), {}, "f"), /f: MCP_REAPER_USER_UNIT: expected 1\/true/);
  });
});

describe("MCP_REAPER_IDLE: the options file can turn off the guard the units switch on", () => {
  it("0 (any unit), off and an empty value are off; a duration stays a duration; garbage is an error", () => {
    for (const off of ["0", "0s", "0ms", "off", "OFF", "", " "]) assert.equal(parseIdle(off), null, JSON.stringify(off));
    assert.equal(parseIdle("10m"), 600_000);
    assert.equal(parseIdle("2"), 2000);
    assert.throws(() => parseIdle("soon"), UsageError);
  });
  it("from the file over the units' Environment=MCP_REAPER_IDLE=10m", () => {
    const cmd = new Command().exitOverride().addOption(new Option("--idle <d>").argParser(parseIdle).env("MCP_REAPER_IDLE"));
    cmd.parse([], { from: "user" });
    const env = { MCP_REAPER_IDLE: "10m" };
    assert.equal(layerOptions<{ idle: number | null }>(cmd, null, env, "f").idle, 600_000);
    assert.equal(layerOptions<{ idle: number | null }>(cmd, new Map([["MCP_REAPER_IDLE", "0"]]), env, "f").idle, null);
    assert.equal(layerOptions<{ idle: number | null }>(cmd, new Map([["MCP_REAPER_IDLE", ""]]), env, "f").idle, null);
  });
});

describe("lock", () => {
  const startTicksOf = (pid: number): number => (readStat("/proc", pid) as { startTicks: number }).startTicks;

  it("names the file after the gateway process; one directory per user, from the uid and the filesystem only", () => {
    assert.equal(lockFileName({ pid: 4242, startTicks: 987 }), "mcp-reaper.gateway.4242.987.lock");
    assert.notEqual(lockFileName({ pid: 4242, startTicks: 988 }), lockFileName({ pid: 4242, startTicks: 987 }), "a reused pid is another gateway");
    /** A filesystem where these directories exist, owned by these uids. */
    const fs = (owners: Record<string, number>) => (path: string): number | null => owners[path] ?? null;
    // Neither systemd's RUNTIME_DIRECTORY nor XDG_RUNTIME_DIR moves the lock: a shell, cron, sudo and a unit meet.
    const noisy = { RUNTIME_DIRECTORY: "/run/elsewhere", XDG_RUNTIME_DIR: "/run/user/elsewhere" };
    const table: [NodeJS.ProcessEnv, number, Record<string, number>, string][] = [
      [noisy, 0, {}, "/run/mcp-reaper"],
      [{}, 0, { "/run/mcp-reaper": 1000 }, "/run/mcp-reaper"],
      // A --run-as system unit (User=1000, RuntimeDirectory=mcp-reaper) made /run/mcp-reaper ours.
      [noisy, 1000, { "/run/mcp-reaper": 1000, "/run/user/1000": 1000 }, "/run/mcp-reaper"],
      [noisy, 1000, { "/run/mcp-reaper": 0, "/run/user/1000": 1000 }, "/run/user/1000/mcp-reaper"],
      [{}, 1000, { "/run/user/1000": 1000 }, "/run/user/1000/mcp-reaper"],
      // Someone else's /run/user/1000 is not ours to trust.
      [noisy, 1000, { "/run/mcp-reaper": 0, "/run/user/1000": 0 }, "/tmp/mcp-reaper-1000"],
      [noisy, 1000, {}, "/tmp/mcp-reaper-1000"],
      [{}, 1000, {}, "/tmp/mcp-reaper-1000"],
      // The one override wins for every uid.
      [{ ...noisy, MCP_REAPER_LOCK_DIR: "/srv/locks" }, 1000, { "/run/mcp-reaper": 1000 }, "/srv/locks"],
      [{ MCP_REAPER_LOCK_DIR: "/srv/locks" }, 0, {}, "/srv/locks"],
      [{ MCP_REAPER_LOCK_DIR: "" }, 1000, {}, "/tmp/mcp-reaper-1000"],
    ];
    for (const [env, uid, owners, want] of table) assert.equal(lockDir(env, uid, fs(owners)), want, JSON.stringify([env, uid, owners]));
    assert.throws(() => lockDir({ MCP_REAPER_LOCK_DIR: "locks" }, 1000, fs({})), (e: Error) => e instanceof LockDirError && /MCP_REAPER_LOCK_DIR must be an absolute path, got "locks"/.test(e.message));
  });

  it("creates the lock directory 0700 and refuses one that is someone else's, shared, or a symlink", () => {
    const uid = process.getuid?.() ?? 0;
    const fresh = join(tmp, "locks");
    ensureLockDir(fresh, uid);
    assert.equal(statSync(fresh).mode & 0o777, 0o700);
    ensureLockDir(fresh, uid); // an existing good one is fine
    chmodSync(fresh, 0o755);
    ensureLockDir(fresh, uid); // as systemd's RuntimeDirectory= makes it
    const refused = (dir: string, asUid: number, pattern: RegExp): void =>
      assert.throws(() => ensureLockDir(dir, asUid), (e: Error) => e instanceof LockDirError && pattern.test(e.message) && !e.message.includes("\n"));
    refused(fresh, uid + 1, new RegExp(`lock directory ${fresh} is owned by uid ${uid}, not by us \\(uid ${uid + 1}\\); refusing it`));
    chmodSync(fresh, 0o777);
    refused(fresh, uid, /is group- or world-writable \(mode 0777\); refusing it/);
    chmodSync(fresh, 0o770);
    refused(fresh, uid, /\(mode 0770\)/);
    chmodSync(fresh, 0o700);
    const link = join(tmp, "locks-link");
    symlinkSync(fresh, link);
    refused(link, uid, /is not a directory \(a symlink\)/);
    refused(join(tmp, "no", "such"), uid, /cannot create lock directory .*: ENOENT/);
  });

  it("is refused while a live holder has it, taken over when the holder is gone or its pid reused", () => {
    const path = join(tmp, "a.lock");
    const parent = { pid: process.ppid, startTicks: startTicksOf(process.ppid) };
    writeFileSync(path, `${parent.pid} ${parent.startTicks}\n`);
    assert.throws(() => acquireLock(path), (e: Error) => e instanceof LockHeldError && e.message.includes(`pid ${parent.pid}`));
    assert.equal(readFileSync(path, "utf8"), `${parent.pid} ${parent.startTicks}\n`, "a live holder's lock is left as it was");

    // Same pid, other start ticks: that process is gone and the pid names another one now.
    writeFileSync(path, `${parent.pid} ${parent.startTicks + 1}\n`);
    const lock = acquireLock(path);
    assert.deepEqual(lock.tookOverFrom, { pid: parent.pid, startTicks: parent.startTicks + 1 });
    assert.equal(readFileSync(path, "utf8"), `${process.pid} ${startTicksOf(process.pid)}\n`);
    assert.deepEqual(lock.check(), { state: "held" });
    rmSync(path);
    assert.deepEqual(lock.check(), { state: "recreated" });
    assert.ok(existsSync(path));
    lock.release();
    assert.ok(!existsSync(path));
  });

  it("a dead pid and a garbage file are stale", () => {
    const path = join(tmp, "b.lock");
    const dead = spawnSync("true").pid as number; // exited and reaped: nothing has this pid right now
    writeFileSync(path, `${dead} 1\n`);
    const lock = acquireLock(path);
    assert.equal((lock.tookOverFrom as { pid: number }).pid, dead);
    lock.release();
    writeFileSync(path, "garbage");
    const again = acquireLock(path);
    assert.equal(again.tookOverFrom, "unreadable");
    again.release();
  });

  it("a FIFO or a symlink at the lock path is garbage: never waited on or followed, taken over", () => {
    const path = join(tmp, "d.lock");
    assert.equal(spawnSync("mkfifo", [path]).status, 0);
    const lock = acquireLock(path); // would block forever reading a FIFO opened for blocking reads
    assert.equal(lock.tookOverFrom, "unreadable");
    assert.equal(readFileSync(path, "utf8"), `${process.pid} ${startTicksOf(process.pid)}\n`);
    lock.release();
    // A symlink to a file naming a live holder: not followed (that holder is not ours to obey), and the
    // file it points to is left alone.
    const target = join(tmp, "d.target");
    const parent = `${process.ppid} ${startTicksOf(process.ppid)}\n`;
    writeFileSync(target, parent);
    symlinkSync(target, path);
    const again = acquireLock(path);
    assert.equal(again.tookOverFrom, "unreadable");
    assert.equal(readFileSync(target, "utf8"), parent);
    again.release();
    assert.ok(!existsSync(path));
    // An oversized file is garbage too, not read whole.
    writeFileSync(path, "9".repeat(1 << 20));
    const third = acquireLock(path);
    assert.equal(third.tookOverFrom, "unreadable");
    third.release();
  });

  it("a lock file that cannot be written is one error line naming it", () => {
    const missing = join(tmp, "no-such-dir", "e.lock");
    assert.throws(() => acquireLock(missing), /^Error: cannot create lock file .*e\.lock: ENOENT$/);
  });

  it("notices when another live reaper holds it now", () => {
    const path = join(tmp, "c.lock");
    const lock = acquireLock(path);
    writeFileSync(path, `${process.ppid} ${startTicksOf(process.ppid)}\n`);
    assert.deepEqual(lock.check(), { state: "lost", holder: { pid: process.ppid, startTicks: startTicksOf(process.ppid) } });
    lock.release();
    assert.ok(existsSync(path), "release leaves someone else's lock alone");
  });
});

describe("metrics", () => {
  it("escapes label values: backslash, quote, newline", () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  });

  it(`caps the per-type counters at ${MAX_TYPE_SERIES} types; the rest count under "${OTHER_TYPES}", across runs`, () => {
    const path = join(tmp, "cap.prom");
    let m = new MetricsFile(path);
    for (let i = 0; i < MAX_TYPE_SERIES + 30; i++) {
      if (i === MAX_TYPE_SERIES) {
        m.write();
        m = new MetricsFile(path); // a new run reads the counters back: the cap holds across runs too
      }
      m.recordPass(passResult({ label: `server --session=${i}`, kept: 1, outcomes: ["terminated"], rssBytes: 1 }), 1_700_000_000_000 + i);
    }
    m.write();
    const reaped = parsePrometheusText(readFileSync(path, "utf8")).get("mcp_reaper_reaped_instances_total")?.samples ?? [];
    assert.equal(reaped.length, MAX_TYPE_SERIES + 1);
    assert.equal(reaped.find((x) => x.labels.type === OTHER_TYPES)?.value, 30);
    assert.equal(reaped.reduce((sum, x) => sum + x.value, 0), MAX_TYPE_SERIES + 30);
  });

  it("writes a valid text-format file; counters carry over into the next run, gauges do not", () => {
    const path = join(tmp, "m.prom");
    const m1 = new MetricsFile(path);
    assert.equal(m1.carryOverProblem, null);
    m1.recordPass(passResult({ label: 'we"ird\\type\nx', kept: 1, outcomes: ["terminated", "killed", "failed"], rssBytes: 1000 }), 1_700_000_000_000);
    m1.write();
    const first = parsePrometheusText(readFileSync(path, "utf8"));
    const v = (f: typeof first, name: string, labels: Record<string, string> = {}): number | undefined => f.get(name)?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
    assert.equal(first.get("mcp_reaper_passes_total")?.type, "counter");
    assert.equal(v(first, "mcp_reaper_reaped_instances_total", { type: 'we"ird\\type\nx' }), 2);
    assert.equal(v(first, "mcp_reaper_killed_instances_total", { type: 'we"ird\\type\nx' }), 1);
    assert.equal(v(first, "mcp_reaper_errors_total", { kind: "reap" }), 1);
    assert.equal(v(first, "mcp_reaper_reclaimed_bytes_total"), 2000);
    assert.equal(v(first, "mcp_reaper_instances", { type: 'we"ird\\type\nx', state: "kept" }), 1);
    assert.equal(v(first, "mcp_reaper_instances", { type: 'we"ird\\type\nx', state: "reaped" }), 3);
    assert.equal(v(first, "mcp_reaper_last_pass_timestamp_seconds"), 1_700_000_000);
    assert.equal(v(first, "mcp_reaper_last_pass_success"), 0);
    assert.equal(first.get("mcp_reaper_last_success_timestamp_seconds")?.samples.length, 0);

    const m2 = new MetricsFile(path);
    m2.recordError("gateway_not_found", 1_700_000_060_000, 3);
    m2.write();
    const second = parsePrometheusText(readFileSync(path, "utf8"));
    assert.equal(v(second, "mcp_reaper_passes_total"), 2);
    assert.equal(v(second, "mcp_reaper_reaped_instances_total", { type: 'we"ird\\type\nx' }), 2);
    assert.equal(v(second, "mcp_reaper_errors_total", { kind: "gateway_not_found" }), 1);
    assert.equal(v(second, "mcp_reaper_gateway_up"), 0);
    assert.equal(second.get("mcp_reaper_instances")?.samples.length, 0, "no instance gauges without a plan");
    assert.ok(!readFileSync(path, "utf8").includes(".tmp"));
  });

  it("a corrupt previous file: counters start from zero and the reason is kept for one warning", () => {
    const path = join(tmp, "bad.prom");
    writeFileSync(path, "this is { not metrics\n");
    const m = new MetricsFile(path);
    assert.match(m.carryOverProblem ?? "", /counters start from 0/);
    m.recordError("pass", 1000, 1);
    m.write();
    assert.equal(parsePrometheusText(readFileSync(path, "utf8")).get("mcp_reaper_passes_total")?.samples[0]?.value, 1);
  });

  it("dry runs count passes but no reaps", () => {
    const path = join(tmp, "dry.prom");
    const m = new MetricsFile(path);
    m.recordPass(passResult({ label: "t", kept: 1, outcomes: ["terminated"], rssBytes: 5, dryRun: true }), 1000);
    m.write();
    const f = parsePrometheusText(readFileSync(path, "utf8"));
    assert.equal(f.get("mcp_reaper_reaped_instances_total")?.samples.length, 0);
    assert.equal(f.get("mcp_reaper_passes_total")?.samples[0]?.value, 1);
  });
});

describe("log lines", () => {
  it("one line per event; journal priority by severity; timestamps only outside the journal", () => {
    const r = passResult({ label: "fetch\u001b[31m", kept: 1, outcomes: ["terminated", "failed"], rssBytes: 1024 });
    const line = formatLine({ kind: "pass", at: 0, result: r }, true);
    assert.match(line, /^<3>pass: gateway 10 gw: 3 instances of 1 type: 1 kept, 2 reaped \(1 terminated, 1 failed\); 1\.0 KB RSS reclaimed/);
    assert.ok(!line.includes("\n") && !line.includes("\u001b"), line);
    assert.equal(priorityOf({ kind: "warning", at: 0, message: "x" }), 4);
    assert.equal(formatLine({ kind: "info", at: 0, message: "a\nb" }, true), "<6>info: a\\nb");
    assert.equal(formatLine({ kind: "error", at: 0, message: "x" }, false), "1970-01-01T00:00:00.000Z error: x");
    const ok = formatLine({ kind: "pass", at: 0, result: passResult({ label: "t", kept: 1, outcomes: ["terminated"], rssBytes: 1 }) }, true);
    assert.match(ok, /^<6>pass: /);
  });

  it("a throttle lets the same error through once per interval and counts the rest", () => {
    const t = new Throttle(1000);
    assert.equal(t.pass("boom", 0), "boom");
    assert.equal(t.pass("boom", 500), null);
    assert.equal(t.pass("boom", 900), null);
    assert.equal(t.pass("other", 900), "other");
    assert.equal(t.pass("boom", 1000), "boom (and 2 more times since it was last logged)");
  });
});

describe("ExecStart words", () => {
  const table: [string, string][] = [
    ["plain", "plain"],
    ["/usr/bin/node", "/usr/bin/node"],
    ["open claw", '"open claw"'],
    ["a$b", '"a$$b"'],
    ["100%", '"100%%"'],
    ['say "hi"\\', '"say \\"hi\\"\\\\"'],
    ["* * * * *", '"* * * * *"'],
    ["x;y", '"x;y"'],
  ];
  for (const [word, expected] of table) it(JSON.stringify(word), () => assert.equal(execWord(word), expected));
});

describe("releaseGarbage (after each loop pass)", () => {
  it("runs a full collection: an object nothing refers to is gone right after", async () => {
    const ref = new WeakRef({ payload: new Array(10_000).fill("x") });
    const nextJob = (): Promise<unknown> => new Promise((resolve) => setImmediate(resolve));
    // A WeakRef target made (or deref'd) in a job stays alive until that job ends.
    await nextJob();
    assert.notEqual(ref.deref(), undefined, "nothing collected it yet (the check below means something)");
    await nextJob();
    releaseGarbage();
    assert.equal(ref.deref(), undefined);
  });
});
