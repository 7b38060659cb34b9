// Integration: the supervisor loop (the built bin) against real leaky gateways: it keeps every server type
// bounded while sessions keep coming, follows a restarted gateway, refuses a second reaper on the same
// gateway however each reaper names it, and stops cleanly on SIGTERM, also in the middle of a grace wait.
// Every world and loop is stopped.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { DEFAULT_MATCH, instancesOf, plan } from "../../src/decide/planner.js";
import { startWorld, type World } from "../../src/demo/world.js";
import { readStat } from "../../src/proc/read.js";
import { protectedPidsOf, takeSnapshot } from "../../src/proc/snapshot.js";
import { lockDir, lockPathFor } from "../../src/supervise/lock.js";
import { copyForOtherUsers } from "../otheruser.js";
import { parsePrometheusText } from "../unit/prom.js";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));

interface Loop {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let worlds: World[] = [];
let loops: Loop[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const l of loops) if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill("SIGKILL");
  await Promise.all(loops.map((l) => l.exited));
  // A loop killed by SIGKILL (a failed test) leaves its lock behind: remove the ones our loops held.
  const ours = new Set(loops.map((l) => String(l.child.pid)));
  const locks = lockDir(ENV, process.getuid?.() ?? 0);
  for (const f of existsSync(locks) ? readdirSync(locks) : []) {
    const path = join(locks, f);
    try {
      if (ours.has(readFileSync(path, "utf8").split(" ")[0] as string)) rmSync(path, { force: true });
    } catch {
      /* gone meanwhile, or not a file */
    }
  }
  await Promise.all(worlds.map((w) => w.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  worlds = [];
  loops = [];
  dirs = [];
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "reaper-loop-"));
  dirs.push(d);
  return d;
}

/** The environment every reaper here runs with: locks in a directory of this file's own, removed after. */
const LOCKS = mkdtempSync(join(tmpdir(), "reaper-loop-locks-"));
after(() => rmSync(LOCKS, { recursive: true, force: true }));
const ENV = { PATH: process.env.PATH, MCP_REAPER_LOCK_DIR: LOCKS };

function startLoop(args: string[], spawnOptions: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number; cwd?: string } = {}, bin = BIN): Loop {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"], env: ENV, ...spawnOptions });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const loop = { child, stdout: () => out, stderr: () => err, exited };
  loops.push(loop);
  return loop;
}

/** Polls until `ok()` holds; fails with `what` and the loop's output after the timeout. */
async function waitFor(ok: () => boolean, timeoutMs: number, what: string, loop?: Loop): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms${loop ? `\nstdout:\n${loop.stdout()}\nstderr:\n${loop.stderr()}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** MCP instances per server type under the gateway right now, by the planner's own grouping. */
function countsByType(gatewayPid: number): Map<string, number> {
  const snap = takeSnapshot({ gatewayPid, protectedPids: protectedPidsOf("/proc", process.pid) });
  const p = plan(snap, { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null });
  return new Map(p.types.map((t) => [t.label, instancesOf({ ...p, types: [t] }).length]));
}

/** Zombies count as gone: pid 1 here reaps them late. */
function isRunning(pid: number): boolean {
  const stat = readStat("/proc", pid);
  return stat !== null && stat.state !== "Z";
}

/** A gateway as the lock names it: pid and start ticks. */
function identity(pid: number): { pid: number; startTicks: number } {
  const stat = readStat("/proc", pid);
  assert.ok(stat !== null, `process ${pid} is running`);
  return { pid, startTicks: stat.startTicks };
}

/** One sample of a metric in the metrics file (0 when it is not there yet). */
function metricValue(path: string, name: string, kind: string): number {
  if (!existsSync(path)) return 0;
  const samples = parsePrometheusText(readFileSync(path, "utf8")).get(name)?.samples ?? [];
  return samples.find((x) => x.labels.kind === kind)?.value ?? 0;
}

async function stopLoop(loop: Loop, boundMs: number): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  loop.child.kill("SIGTERM");
  const { code } = await loop.exited;
  const ms = Date.now() - t0;
  assert.ok(ms <= boundMs, `stopped in ${ms} ms, bound ${boundMs} ms`);
  return { code, ms };
}

describe("supervisor loop", () => {
  it("keeps every type at <= keep + 1 for 20 s while a session starts every second; the newest still answers", async () => {
    const w = await startWorld({ sessions: 2, types: ["fetch", "filesystem"], decoy: true });
    worlds.push(w);
    const d = tempDir();
    const metrics = join(d, "reaper.prom");
    const loop = startLoop(["--gateway-pid", String(w.gatewayPid), "--schedule", "* * * * * *", "--min-age", "0", "--grace", "2s", "--metrics-file", metrics]);
    await waitFor(() => /pass: gateway/.test(loop.stdout()), 10_000, "first pass", loop);

    let sessions = 0;
    let starting: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      starting = starting.then(() => w.startSession().then(() => sessions++));
    }, 1000);
    let worst = 0;
    const samples: string[] = [];
    try {
      const end = Date.now() + 20_000;
      while (Date.now() < end) {
        const counts = countsByType(w.gatewayPid);
        for (const [type, n] of counts) {
          worst = Math.max(worst, n);
          if (n > 2) samples.push(`${new Date().toISOString()} ${type}: ${n}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      clearInterval(timer);
      await starting;
    }
    assert.ok(sessions >= 15, `sessions started: ${sessions}`);
    assert.deepEqual(samples, [], `more than keep + 1 instances of a type:\n${samples.join("\n")}\n${loop.stdout().slice(-2000)}`);
    // Let the loop catch up with the last session, then the newest of each type must still answer.
    await waitFor(() => [...countsByType(w.gatewayPid).values()].every((n) => n === 1), 10_000, "one instance per type", loop);
    const newest = Math.max(...w.servers().map((s) => s.session));
    for (const type of ["fetch", "filesystem"] as const) assert.equal(await w.ping(newest, type), true, `${type} of session ${newest} answers`);
    assert.ok(w.decoyPid !== null && readStat("/proc", w.decoyPid) !== null, "the decoy worker is untouched");

    const { code, ms } = await stopLoop(loop, 2000 + 2000);
    assert.equal(code, 0, loop.stderr());
    assert.match(loop.stderr(), /info: stopping \(SIGTERM\)/);
    const m = parsePrometheusText(readFileSync(metrics, "utf8"));
    const reaped = (m.get("mcp_reaper_reaped_instances_total")?.samples ?? []).reduce((s, x) => s + x.value, 0);
    // Every session but the newest was reaped, 2 types each; plus the 2 sessions the world started with.
    assert.equal(reaped, (sessions + 2 - 1) * 2, "metrics count every reap");
    assert.ok((m.get("mcp_reaper_passes_total")?.samples[0]?.value ?? 0) >= 20);
    console.log(`# loop: ${sessions} sessions in 20 s, at most ${worst} instances of a type, ${reaped} reaped, stopped in ${ms} ms`);
  });

  it("follows a restarted gateway through its pidfile, logs its absence once; a second reaper is refused (exit 5)", async () => {
    const d = tempDir();
    const wdir = join(d, "world");
    mkdirSync(wdir);
    const a = await startWorld({ sessions: 2, types: ["fetch"], decoy: false, dir: wdir });
    worlds.push(a);
    const metrics = join(d, "reaper.prom");
    const loop = startLoop(["--gateway-pidfile", a.pidfile, "--schedule", "* * * * * *", "--min-age", "0", "--grace", "1s", "--metrics-file", metrics]);
    await waitFor(() => new RegExp(`pass: gateway ${a.gatewayPid} .*1 reaped`).test(loop.stdout()), 10_000, "a pass on the first gateway", loop);
    const lockA = lockPathFor(identity(a.gatewayPid), ENV);
    assert.equal(readFileSync(lockA, "utf8").split(" ")[0], String(loop.child.pid), "the loop holds the first gateway's lock");

    // Same gateway: the second loop and a one-shot real run are refused; a dry run is not.
    const second = startLoop(["--gateway-pidfile", a.pidfile, "--schedule", "* * * * * *"]);
    assert.equal((await second.exited).code, 5, second.stderr());
    assert.match(second.stderr(), new RegExp(`^mcp-reaper: another mcp-reaper \\(pid ${loop.child.pid}\\) already watches this gateway`));
    const once = spawnSync(process.execPath, [BIN, "--gateway-pidfile", a.pidfile], { encoding: "utf8", env: ENV });
    assert.equal(once.status, 5, once.stderr);

    await a.stop();
    await waitFor(() => /warning: gateway not found/.test(loop.stderr()), 10_000, "absence logged", loop);
    const passesBefore = (loop.stdout().match(/pass: /g) ?? []).length;
    // Evidence the loop kept ticking: three more passes that found no gateway, counted in the metrics file.
    const notFound = (): number => metricValue(metrics, "mcp_reaper_errors_total", "gateway_not_found");
    const notFoundBefore = notFound();
    await waitFor(() => notFound() >= notFoundBefore + 3, 10_000, "three more passes without a gateway", loop);
    assert.equal((loop.stderr().match(/gateway not found/g) ?? []).length, 1, `absence logged once:\n${loop.stderr()}`);
    assert.equal((loop.stdout().match(/pass: /g) ?? []).length, passesBefore);

    // One session first, the second once the loop has found the new gateway: with both started at once
    // under the running loop (--min-age 0), a pass could reap session 1 before it was ready, failing the
    // start (seen at load average 20+ on 2 cores).
    const b = await startWorld({ sessions: 1, types: ["fetch"], decoy: false, dir: wdir });
    worlds.push(b);
    assert.notEqual(b.gatewayPid, a.gatewayPid);
    await waitFor(() => new RegExp(`info: gateway is back: pid ${b.gatewayPid}`).test(loop.stderr()), 10_000, "new gateway found", loop);
    await b.startSession();
    await waitFor(() => countsByType(b.gatewayPid).get([...countsByType(b.gatewayPid).keys()][0] as string) === 1, 10_000, "new gateway's duplicate reaped", loop);
    // The restarted gateway is another process: its own lock, the old one let go.
    assert.equal(readFileSync(lockPathFor(identity(b.gatewayPid), ENV), "utf8").split(" ")[0], String(loop.child.pid), "the loop holds the new gateway's lock");
    assert.ok(!existsSync(lockA), "the old gateway's lock is released");

    const { code } = await stopLoop(loop, 1000 + 2000);
    assert.equal(code, 0);
  });

  it("SIGTERM in the middle of a grace wait cuts it: exit 0 within grace + 2 s, the TERM-ignoring server killed", async () => {
    const w = await startWorld({ sessions: 2, types: ["fetch"], ignoreTermType: "fetch", decoy: false });
    worlds.push(w);
    const old = w.servers().find((s) => s.session === 1)!;
    const loop = startLoop(["--gateway-pid", String(w.gatewayPid), "--schedule", "* * * * * *", "--min-age", "0", "--grace", "20s"]);
    await waitFor(() => (w.signalsSeen()[old.pid] ?? []).includes("SIGTERM"), 10_000, "SIGTERM reached the old server", loop);
    const { code, ms } = await stopLoop(loop, 20_000 + 2000);
    assert.equal(code, 0, loop.stderr());
    assert.ok(ms < 5000, `the grace wait was cut: ${ms} ms`);
    const stat = readStat("/proc", old.pid);
    assert.ok(stat === null || stat.state === "Z", "the TERM-ignoring server was killed");
    assert.match(loop.stdout(), /1 killed/);
  });
});

describe("one reaper per gateway process, however it is named", () => {
  it("a loop on --gateway-pid: real runs on --gateway-pidfile and --gateway-name exit 5 and signal nobody; once it stops, they reap", async () => {
    const title = `gw-lock-${process.pid}`;
    const w = await startWorld({ sessions: 3, types: ["fetch"], decoy: false, gatewayTitle: title });
    worlds.push(w);
    // --keep 5: the loop holds the lock but reaps nothing, so any signal would be the one-shot runs'.
    const loop = startLoop(["--gateway-pid", String(w.gatewayPid), "--schedule", "* * * * * *", "--keep", "5"]);
    await waitFor(() => new RegExp(`pass: gateway ${w.gatewayPid} .*0 reaped`).test(loop.stdout()), 10_000, "a pass of the loop", loop);
    const before = w.livePids().sort((x, y) => x - y);

    for (const spec of [["--gateway-pidfile", w.pidfile], ["--gateway-name", title]]) {
      const once = spawnSync(process.execPath, [BIN, ...spec, "--min-age", "0", "--grace", "1s"], { encoding: "utf8", timeout: 20_000, env: ENV });
      assert.equal(once.status, 5, `${spec.join(" ")}: ${once.stderr}`);
      assert.match(once.stderr, new RegExp(`^mcp-reaper: another mcp-reaper \\(pid ${loop.child.pid}\\) already watches this gateway; lock .*\\n$`));
    }
    assert.deepEqual(w.signalsSeen(), {}, "nobody was signalled");
    assert.deepEqual(w.livePids().sort((x, y) => x - y), before, "every process still runs");

    // Negative control: without the loop the same run reaps the two older sessions.
    await stopLoop(loop, 3000);
    const once = spawnSync(process.execPath, [BIN, "--gateway-name", title, "--min-age", "0", "--grace", "1s"], { encoding: "utf8", timeout: 20_000, env: ENV });
    assert.equal(once.status, 0, once.stderr);
    assert.deepEqual(w.servers().filter((s) => s.session < 3).filter((s) => isRunning(s.pid)), [], `the run reaped the older servers:\n${once.stdout}`);
  });

  it("without MCP_REAPER_LOCK_DIR the lock directory ignores XDG_RUNTIME_DIR: a one-shot with another one, or none, exits 5", async (t) => {
    if (process.getuid?.() !== 0) return t.skip("needs root to run the reapers as another user");
    const copy = copyForOtherUsers();
    if ("skip" in copy) return t.skip(copy.skip);
    t.after(copy.remove);
    // As uid 65534, whose lock directory is /tmp/mcp-reaper-65534 here (no /run/mcp-reaper or /run/user/65534
    // of its own): removed after unless it was there before.
    const NOBODY = 65534;
    const nobodyLocks = `/tmp/mcp-reaper-${NOBODY}`;
    const existed = existsSync(nobodyLocks);
    t.after(() => {
      if (!existed) rmSync(nobodyLocks, { recursive: true, force: true });
    });
    const xdg = (): string => {
      const d = tempDir();
      chownSync(d, NOBODY, NOBODY);
      return d;
    };
    const w = await startWorld({ sessions: 3, types: ["fetch"], decoy: false });
    worlds.push(w);
    const asNobody = { uid: NOBODY, gid: NOBODY, cwd: copy.root };
    // --keep 5: the loop holds the lock but reaps nothing.
    const loop = startLoop(["--gateway-pid", String(w.gatewayPid), "--schedule", "* * * * * *", "--keep", "5"], { ...asNobody, env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: xdg() } }, copy.bin);
    await waitFor(() => new RegExp(`pass: gateway ${w.gatewayPid} .*0 reaped`).test(loop.stdout()), 10_000, "a pass of the loop", loop);
    const before = w.livePids().sort((x, y) => x - y);
    const once = (env: NodeJS.ProcessEnv): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, [copy.bin, "--gateway-pid", String(w.gatewayPid), "--min-age", "0", "--grace", "1s"], { encoding: "utf8", timeout: 20_000, ...asNobody, env });
    for (const env of [{ PATH: process.env.PATH }, { PATH: process.env.PATH, XDG_RUNTIME_DIR: xdg() }]) {
      const r = once(env);
      assert.equal(r.status, 5, `${JSON.stringify(env)}: ${String(r.stderr)}`);
      assert.match(String(r.stderr), new RegExp(`^mcp-reaper: another mcp-reaper \\(pid ${loop.child.pid}\\) already watches this gateway; lock ${nobodyLocks}/`));
    }
    assert.deepEqual(w.signalsSeen(), {}, "nobody was signalled");
    assert.deepEqual(w.livePids().sort((x, y) => x - y), before, "every process still runs");

    // Negative control: without the loop the same run goes past the lock and tries to reap (EPERM: the
    // world is root's), so exit 5 above was the lock and nothing else.
    await stopLoop(loop, 3000);
    const free = once({ PATH: process.env.PATH });
    assert.equal(free.status, 1, String(free.stderr));
    assert.match(String(free.stdout), /EPERM/);
  });

  it("a loop whose gateway turns out locked later keeps going without acting, and acts once the lock is free", async () => {
    const w = await startWorld({ sessions: 3, types: ["fetch"], decoy: false });
    worlds.push(w);
    const d = tempDir();
    const holder = startLoop(["--gateway-pid", String(w.gatewayPid), "--schedule", "* * * * * *", "--keep", "5"]);
    await waitFor(() => /pass: gateway/.test(holder.stdout()), 10_000, "a pass of the first loop", holder);
    // The second loop starts while its pidfile names no process: no gateway, no lock, no exit 5.
    const pidfile = join(d, "gw.pid");
    writeFileSync(pidfile, `${spawnSync("true").pid}\n`);
    const late = startLoop(["--gateway-pidfile", pidfile, "--schedule", "* * * * * *", "--min-age", "0", "--grace", "1s"]);
    await waitFor(() => /warning: gateway not found/.test(late.stderr()), 10_000, "no gateway yet", late);
    writeFileSync(pidfile, `${w.gatewayPid}\n`);
    await waitFor(() => /warning: not acting this pass: another mcp-reaper/.test(late.stderr()), 10_000, "the lock refused", late);
    assert.equal(late.child.exitCode, null, "the late loop keeps running");
    assert.deepEqual(w.signalsSeen(), {}, "nobody was signalled");

    await stopLoop(holder, 3000);
    await waitFor(() => !w.servers().some((s) => s.session < 3 && isRunning(s.pid)), 10_000, "the late loop reaps once the lock is free", late);
    assert.equal((late.stderr().match(/not acting this pass/g) ?? []).length, 1, `logged once (throttled):\n${late.stderr()}`);
    const { code } = await stopLoop(late, 1000 + 2000);
    assert.equal(code, 0);
  });
});
