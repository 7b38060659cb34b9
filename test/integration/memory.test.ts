// Integration: the private-memory figure against this test's own read of smaps_rollup, and the supervisor's
// --memory-low trigger on real leaky gateways (a pass at once when crossed; none when not). Every world and loop is stopped.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { DEFAULT_MATCH, instancesOf } from "../../src/decide/planner.js";
import { runPass } from "../../src/pass.js";
import { readStat } from "../../src/proc/read.js";
import { worldPerTest } from "./worlds.js";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));
const startWorld = worldPerTest();

/** This test's own reading of smaps_rollup: Private_Clean + Private_Dirty + SwapPss, in bytes (null if unreadable). */
function oraclePrivate(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  } catch {
    return null;
  }
  let kb = 0;
  for (const key of ["Private_Clean", "Private_Dirty", "SwapPss"]) kb += Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return kb * 1024;
}

function memAvailable(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1]) * 1024;
}

describe("private memory", () => {
  // smaps_rollup is ptrace-checked: another user's process reads as unknown, said so, never as 0.
  it("is unknown (null, with the reason) for a process whose smaps_rollup we may not read", () => {
    const memread = fileURLToPath(new URL("../../src/proc/memread.js", import.meta.url));
    const js = `import(${JSON.stringify(memread)}).then((m) => console.log(JSON.stringify(m.memoryOf("/proc", [1]))))`;
    // As root, read as nobody: root itself may read everything.
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", js], { encoding: "utf8", ...(process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}) });
    assert.equal(r.status, 0, r.stderr);
    const figure = JSON.parse(r.stdout) as { privateBytes: number | null; unknown: string | null };
    assert.equal(figure.privateBytes, null);
    assert.match(figure.unknown ?? "", /not readable \(another user's: needs the same uid or CAP_SYS_PTRACE\)/);
  });

  it("matches this test's own smaps_rollup read within 15% for the demo world's reaped instances, and is well under RSS", async () => {
    const w = await startWorld({ sessions: 3, ignoreTermType: null });
    const config = { gateway: { kind: "pid" as const, pid: w.gatewayPid }, policy: { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null }, graceMs: 2000, procRoot: "/proc", stateFile: null };
    // The oracle reads right after our dry run, before anything is signalled; then the real run reaps.
    const dry = await runPass({ ...config, dryRun: true });
    const reaped = instancesOf(dry.plan).filter((i) => i.action === "reap");
    assert.ok(reaped.length >= 6, `reaped instances: ${reaped.length}`);
    let ours = 0;
    let theirs = 0;
    for (const inst of reaped) {
      const figure = dry.memory?.get(inst.rootPid);
      assert.ok(figure && figure.privateBytes !== null && figure.pssBytes !== null, `instance ${inst.rootPid} has a private figure`);
      const oracle = inst.members.reduce((s, m) => s + (oraclePrivate(m.pid) ?? 0), 0);
      assert.ok(oracle > 0, `oracle read instance ${inst.rootPid}`);
      const diff = Math.abs(figure.privateBytes - oracle) / oracle;
      assert.ok(diff <= 0.15, `instance ${inst.rootPid}: ours ${figure.privateBytes}, oracle ${oracle} (${(diff * 100).toFixed(1)}%)`);
      // Private is part of PSS, and PSS part of RSS: a figure above RSS would be no private figure.
      assert.ok(figure.privateBytes <= figure.pssBytes + 4096 && figure.pssBytes <= inst.rssBytes * 1.05, `instance ${inst.rootPid}: private ${figure.privateBytes} <= pss ${figure.pssBytes} <= rss ${inst.rssBytes}`);
      ours += figure.privateBytes;
      theirs += oracle;
    }
    assert.equal(dry.summary.privateReclaimedBytes, ours);
    assert.ok(Math.abs(ours - theirs) / theirs <= 0.15, `total: ours ${ours}, oracle ${theirs}`);
    // Negative control: summed RSS is not the private figure (shared pages of node and the libraries).
    assert.ok(dry.summary.rssReclaimedBytes > 1.5 * ours, `RSS ${dry.summary.rssReclaimedBytes} vs private ${ours}`);

    const real = await runPass({ ...config, dryRun: false });
    assert.equal(real.summary.reaped, reaped.length);
    assert.ok((real.summary.privateReclaimedBytes ?? 0) > 0 && real.summary.privateUnknown === 0);
    assert.ok(real.hostMemory && real.hostMemory.availableBeforeBytes !== null && real.hostMemory.availableAfterBytes !== null, "MemAvailable read around the act step");
  });
});

interface Loop {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

const LOCKS = mkdtempSync(join(tmpdir(), "reaper-memory-locks-"));
after(() => rmSync(LOCKS, { recursive: true, force: true }));
let loops: Loop[] = [];
afterEach(async () => {
  for (const l of loops) if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill("SIGKILL");
  await Promise.all(loops.map((l) => l.exited));
  loops = [];
});

function startLoop(args: string[]): Loop {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, MCP_REAPER_LOCK_DIR: LOCKS } });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const loop = { child, out: () => out, exited };
  loops.push(loop);
  return loop;
}

/** A cron schedule whose next run is a year away: this minute, hour, day and month, one day back. */
function aYearAway(): string {
  const d = new Date(Date.now() - 86_400_000);
  return `${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
}

function isRunning(pid: number): boolean {
  const stat = readStat("/proc", pid);
  return stat !== null && stat.state !== "Z";
}

async function waitFor(ok: () => boolean, timeoutMs: number, what: string, loop: Loop): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms\n${loop.out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("supervisor pressure trigger", () => {
  it("--memory-low above MemAvailable: a pass within seconds on a schedule a year away, and the log says why", async () => {
    const w = await startWorld({ sessions: 3, types: ["fetch", "filesystem"] });
    const older = w.servers().filter((s) => s.session < 3).map((s) => s.rootPid);
    const low = `${Math.ceil((memAvailable() + 2 ** 30) / 2 ** 20)}M`;
    const t0 = Date.now();
    const loop = startLoop(["--gateway-pid", String(w.gatewayPid), "--schedule", aYearAway(), "--tz", "UTC", "--min-age", "0", "--grace", "1s", "--memory-low", low, "--pressure-every", "500ms"]);
    await waitFor(() => older.every((pid) => !isRunning(pid)) && /pass: gateway/.test(loop.out()), 8000, "older duplicates reaped", loop);
    const ms = Date.now() - t0;
    assert.match(loop.out(), /warning: memory pressure: MemAvailable [\d.]+ [KMG]B < [\d.]+ [KMG]B: pass now/);
    assert.match(loop.out(), /pass: gateway \d+ .*reaped .*freed \(private\)/);
    assert.ok(ms < 8000, `reaped after ${ms} ms`);
    // The newest session is kept.
    for (const s of w.servers().filter((x) => x.session === 3)) assert.ok(isRunning(s.rootPid), `newest ${s.type} kept`);
    loop.child.kill("SIGTERM");
    assert.equal(await loop.exited, 0, loop.out());
  });

  it("--memory-low below MemAvailable: no pass runs", async () => {
    const w = await startWorld({ sessions: 2, types: ["fetch"] });
    const loop = startLoop(["--gateway-pid", String(w.gatewayPid), "--schedule", aYearAway(), "--tz", "UTC", "--min-age", "0", "--memory-low", "1M", "--pressure-every", "200ms"]);
    await waitFor(() => /info: started: /.test(loop.out()), 5000, "loop started", loop);
    // 15 looks' time: a pass would have run at the first.
    await new Promise((r) => setTimeout(r, 3000));
    assert.doesNotMatch(loop.out(), /pass: gateway|memory pressure/);
    assert.ok(w.servers().every((s) => isRunning(s.rootPid)), "nothing reaped");
    loop.child.kill("SIGTERM");
    assert.equal(await loop.exited, 0, loop.out());
  });
});
