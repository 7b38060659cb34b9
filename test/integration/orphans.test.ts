// Integration: escaped orphans and host configs on real processes. Two real gateways of the same user,
// on a host where every process shares one cgroup; their servers escape when a wrapper is SIGKILLed.
// Only the named gateway's escapees may be touched. Every test stops its worlds, also on failure.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startWorld, type World } from "../../src/demo/world.js";
import { readStat } from "../../src/proc/read.js";
import { unreadableFds } from "./worlds.js";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));
const SERVER_JS = fileURLToPath(new URL("../../src/demo/mcp-server.js", import.meta.url));

function reaper(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let worlds: World[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(worlds.map((w) => w.stop()));
  for (const w of worlds) assert.deepEqual(w.livePids(), [], "the world left processes behind");
  worlds = [];
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function world(opts: Parameters<typeof startWorld>[0]): Promise<World> {
  const w = await startWorld(opts);
  worlds.push(w);
  return w;
}

function alive(pid: number, startTicks?: number): boolean {
  const s = readStat("/proc", pid);
  return s !== null && s.state !== "Z" && (startTicks === undefined || s.startTicks === startTicks);
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SIGKILL the wrapper of a session's server: the server is reparented out of the gateway's tree. */
async function escape(w: World, session: number): Promise<number> {
  const s = w.servers().find((x) => x.session === session);
  assert.ok(s, `session ${session} has a server`);
  process.kill(s.rootPid, "SIGKILL");
  const ppid = (): number | undefined => readStat("/proc", s.pid)?.ppid;
  await until(`server ${s.pid} reparented`, () => ppid() !== s.rootPid && ppid() !== undefined);
  return s.pid;
}

/** The environment of a process the test starts beside a world: the world's marker (its stop() sweeps it) and dir. */
function besideEnv(w: World, session: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MCP_REAPER_WORLD: w.marker, MCP_REAPER_WORLD_DIR: w.dir, MCP_REAPER_SESSION: String(session), ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/**
 * Runs `command` in the background from sh, which exits at once: what it started is an orphan from birth.
 * Returns the fake server's pid (from its ready file: in `a | server | b` it is not `$!`).
 */
async function detached(w: World, session: number, command: string, env: NodeJS.ProcessEnv): Promise<number> {
  const sh = spawn("/bin/sh", ["-c", `${command} &`], { stdio: "ignore", env });
  await new Promise((r) => sh.once("exit", r));
  const ready = join(w.dir, "ready", `${session}-fetch.json`);
  await until(`detached server ${session} ready`, () => existsSync(ready));
  return (JSON.parse(readFileSync(ready, "utf8")) as { pid: number }).pid;
}

/**
 * A stdio server with no wrapper left: its stdin is a pipe whose writer (`true`) is gone, its stdout a
 * pipe whose reader (`true`) is gone. No process can talk to it.
 */
function unreachableServer(w: World, session: number, extraEnv: Record<string, string> = {}): Promise<number> {
  return detached(w, session, `true | '${process.execPath}' '${SERVER_JS}' --server fetch --ignore-term 2>/dev/null | true`, besideEnv(w, session, extraEnv));
}

interface Doc {
  instances: { rootPid: number; action: string; reasonCode: string; outcome?: string; orphan?: { evidence: string[]; reach: string }; config?: { name: string; path: string } }[];
  orphansLeft?: { rootPid: number; reason: string }[];
  orphanScan?: { processes: number; socketPeers: boolean; fdsComplete: boolean };
  types: { type: string; instances: number }[];
  configs?: { path: string; how: string; servers: number }[];
}

describe("escaped orphans (--orphans), two real gateways in one cgroup", () => {
  it("this host puts every process in one cgroup: the cgroup can never be the evidence here", () => {
    const text = readFileSync("/proc/self/cgroup", "utf8");
    const unified = /^0::(.*)$/m.exec(text)?.[1];
    assert.equal(readFileSync(`/proc/1/cgroup`, "utf8").match(/^0::(.*)$/m)?.[1], unified, "pid 1 and we share the unified cgroup");
  });

  it("reaps this gateway's escapees (stdio peer; unreachable with a marker) and leaves the other gateway's alone", async () => {
    const a = await world({ sessions: 1, types: ["yfinance"], ignoreTermType: "yfinance", decoy: false });
    const b = await world({ sessions: 2, types: ["yfinance"], ignoreTermType: "yfinance", decoy: false });
    const aEscaped = await escape(a, 1);
    const bEscaped = await escape(b, 1);
    // A's second session starts after the first escaped, so it is the newest for certain (sessions a
    // world starts together can start their roots in any order).
    const aNewest = await a.startSession();
    const aLonely = await unreachableServer(a, 50);
    const bLonely = await unreachableServer(b, 50);
    const aTicks = readStat("/proc", aEscaped)?.startTicks;

    // Without --orphans the escapees are invisible: nothing outside the tree is looked at.
    const plain = JSON.parse(reaper(["--gateway-pid", String(a.gatewayPid), "--min-age", "0", "--dry-run", "--json"]).stdout) as Doc;
    assert.ok(!plain.instances.some((i) => i.rootPid === aEscaped || i.rootPid === aLonely));
    assert.equal(plain.orphanScan, undefined);

    const r = reaper(["--gateway-pid", String(a.gatewayPid), "--orphans", "--orphan-env", `MCP_REAPER_WORLD=${a.marker}`, "--min-age", "0", "--grace", "500ms", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Doc;
    const byRoot = new Map(doc.instances.map((i) => [i.rootPid, i]));

    const escaped = byRoot.get(aEscaped);
    assert.deepEqual(escaped?.orphan?.evidence, ["stdio-peer", "env"], "the gateway still reads its stdout (a socketpair)");
    assert.equal(escaped?.orphan?.reach, "gateway");
    assert.deepEqual([escaped?.action, escaped?.reasonCode, escaped?.outcome], ["reap", "duplicate", "killed"]);
    const lonely = byRoot.get(aLonely);
    assert.deepEqual(lonely?.orphan?.evidence, ["env"]);
    // Provable only where every process's fds can be read; elsewhere the pass is no bolder for the gap.
    const provable = unreadableFds().length === 0;
    assert.deepEqual([lonely?.orphan?.reach, lonely?.action], provable ? ["nobody", "reap"] : ["unknown", "keep"]);
    if (provable) assert.equal(lonely?.reasonCode, "unreachable");

    // The other gateway's servers: never adopted, never signalled, and the report says why.
    const left = new Map((doc.orphansLeft ?? []).map((o) => [o.rootPid, o.reason]));
    assert.match(left.get(bEscaped) ?? "", new RegExp(`held by pid ${b.gatewayPid}, not by this gateway`));
    assert.match(left.get(bLonely) ?? "", /nothing ties it to this gateway/);
    assert.ok(!byRoot.has(bEscaped) && !byRoot.has(bLonely));

    await until("A's escapees gone", () => !alive(aEscaped, aTicks) && (!provable || !alive(aLonely)));
    if (!provable) assert.ok(alive(aLonely), "unprovable: A's lonely server is left alone");
    assert.ok(alive(bEscaped) && alive(bLonely), "B's escaped servers are alive");
    assert.ok(!(String(bEscaped) in b.signalsSeen()) && !(String(bLonely) in b.signalsSeen()), "B's servers saw no signal");
    const newestA = a.servers().find((s) => s.session === aNewest);
    assert.ok(newestA && alive(newestA.pid), "A's newest server is kept");
    for (const s of b.servers()) assert.ok(alive(s.pid), `B's server ${s.pid}`);
  });

  it("a marker alone never adopts a server another gateway talks to", async () => {
    const a = await world({ sessions: 1, types: ["yfinance"], ignoreTermType: "yfinance", decoy: false });
    const b = await world({ sessions: 2, types: ["yfinance"], ignoreTermType: "yfinance", decoy: false });
    const bEscaped = await escape(b, 1);
    // Claim B's marker for A: the stdio peer held by B still wins.
    const r = reaper(["--gateway-pid", String(a.gatewayPid), "--orphans", "--orphan-env", `MCP_REAPER_WORLD=${b.marker}`, "--min-age", "0", "--grace", "500ms", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Doc;
    assert.ok(!doc.instances.some((i) => i.rootPid === bEscaped));
    assert.match(new Map((doc.orphansLeft ?? []).map((o) => [o.rootPid, o.reason])).get(bEscaped) ?? "", /held by pid/);
    assert.ok(alive(bEscaped));
  });
});

describe("escaped orphans (--orphans): processes beside the gateway that are not its escaped servers", () => {
  it("servers the launcher started beside the gateway (stdio on /dev/null; an SSE server fed a secret on stdin, logging to a file), marked: not candidates, never signalled", async () => {
    const w = await world({ sessions: 1, types: ["fetch"], decoy: false });
    const mark = `MARK_${process.pid}`;
    // Started by the gateway's parent (this process), like start.sh's `server >log </dev/null &`: its parent
    // is alive and started it on purpose, so it is no escaped orphan, marker or not.
    const sibling = spawn(process.execPath, [SERVER_JS, "--server", "fetch", "--ignore-term"], { stdio: "ignore", env: besideEnv(w, 60, { [mark]: "1" }) });
    sibling.unref();
    // The reproduced wrong kill: `printf secret | MARK=1 sse-server >log 2>&1 &` from the launcher: stdin a
    // pipe whose writer is gone, stdout a log file.
    const log = openSync(join(w.dir, "sse.log"), "w");
    const sse = spawn(process.execPath, [SERVER_JS, "--server", "fetch", "--ignore-term"], { stdio: ["pipe", log, log], env: besideEnv(w, 63, { [mark]: "1" }) });
    closeSync(log);
    sse.stdin?.end("secret\n");
    sse.unref();
    await until("siblings ready", () => existsSync(join(w.dir, "ready", "60-fetch.json")) && existsSync(join(w.dir, "ready", "63-fetch.json")));
    // The same SSE shape orphaned from birth (parent pid 1): a candidate, left alone for its stdout.
    const orphanSse = await detached(w, 64, `printf '%s' secret | '${process.execPath}' '${SERVER_JS}' --server fetch --ignore-term >'${join(w.dir, "sse-64.log")}' 2>&1`, besideEnv(w, 64, { [mark]: "1" }));
    // Positive control: the same server and marker, its stdin and stdout pipes whose other ends are gone.
    const lonely = await unreachableServer(w, 61, { [mark]: "1" });
    const siblings = [sibling.pid as number, sse.pid as number];

    const r = reaper(["--gateway-pid", String(w.gatewayPid), "--orphans", "--orphan-env", `${mark}=1`, "--min-age", "0", "--grace", "500ms", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Doc;
    const left = new Map((doc.orphansLeft ?? []).map((o) => [o.rootPid, o.reason]));
    for (const pid of [...siblings, orphanSse]) assert.ok(!doc.instances.some((i) => i.rootPid === pid), `${pid} is no instance`);
    for (const pid of siblings) assert.ok(!left.has(pid), `${pid}, the launcher's child, is not even a candidate`);
    assert.equal(left.get(orphanSse), "its stdout is not a pipe or socket: not a stdio server");
    const control = doc.instances.find((i) => i.rootPid === lonely);
    // Provable only where every process's fds can be read; elsewhere the pass is no bolder for the gap.
    const provable = unreadableFds().length === 0;
    assert.deepEqual([control?.orphan?.reach, control?.action], provable ? ["nobody", "reap"] : ["unknown", "keep"]);
    if (provable) {
      assert.equal(control?.reasonCode, "unreachable");
      await until("the control is gone", () => !alive(lonely));
    } else assert.equal(doc.orphanScan?.fdsComplete, false);
    for (const pid of [...siblings, orphanSse]) {
      assert.ok(alive(pid), `${pid} is alive`);
      assert.ok(!(String(pid) in w.signalsSeen()), `${pid} saw no signal`);
    }
  });

  it("a root without the marker whose child carries it is not signalled, nor is the child", async () => {
    const w = await world({ sessions: 1, types: ["fetch"], decoy: false });
    const mark = `MARK_${process.pid}`;
    // bash stays the parent (a command follows) and ignores TERM; only the node child gets the marker.
    const server = `${mark}=1 '${process.execPath}' '${SERVER_JS}' --server fetch --ignore-term; true`;
    // Its stdin and stdout are pipes whose other ends are gone, so nobody can reach it: only the root rule protects it.
    const childPid = await detached(w, 62, `true | bash -c "trap '' TERM; ${server}" 2>/dev/null | true`, besideEnv(w, 62));
    const child = { pid: childPid };
    const bash = readStat("/proc", child.pid)?.ppid ?? 0;
    assert.equal(readStat("/proc", bash)?.comm, "bash", "the marked server is the bash's child");

    const r = reaper(["--gateway-pid", String(w.gatewayPid), "--orphans", "--orphan-env", `${mark}=1`, "--min-age", "0", "--grace", "500ms", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Doc;
    assert.ok(!doc.instances.some((i) => i.rootPid === bash || i.rootPid === child.pid), "neither is an instance");
    assert.match(new Map((doc.orphansLeft ?? []).map((o) => [o.rootPid, o.reason])).get(bash) ?? "", new RegExp(`pid ${child.pid}`));
    assert.ok(alive(bash) && alive(child.pid), "the bash and its child are alive");
    assert.ok(!(String(child.pid) in w.signalsSeen()), "the marked child saw no signal");
  });
});

describe("host configs on a real gateway", () => {
  it("names types after the gateway's own OpenClaw config (OPENCLAW_CONFIG_PATH in its environment)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "reaper-config-"));
    dirs.push(dir);
    const path = join(dir, "openclaw.json");
    writeFileSync(path, `{ mcp: { servers: { // JSON5, as OpenClaw reads it\n yf: { command: "uv", args: ["run", "mcp-yfinance-server", "--server", "yfinance"] }, } } }`);
    process.env.OPENCLAW_CONFIG_PATH = path;
    let w: World;
    try {
      w = await world({ sessions: 2, types: ["yfinance", "fetch"] });
    } finally {
      delete process.env.OPENCLAW_CONFIG_PATH;
    }
    const doc = JSON.parse(reaper(["--gateway-pid", String(w.gatewayPid), "--min-age", "0", "--dry-run", "--json"]).stdout) as Doc;
    assert.deepEqual(doc.configs?.map((c) => [c.path, c.how, c.servers]), [[path, "OPENCLAW_CONFIG_PATH", 1]]);
    // yfinance is named by the config; fetch, which it does not define, falls back to its signature.
    assert.deepEqual(doc.types.find((t) => t.type === "yf")?.instances, 2);
    assert.deepEqual(doc.types.filter((t) => t.type !== "yf").map((t) => [/mcp-server\.js --server fetch/.test(t.type), t.instances]), [[true, 2]]);
    assert.ok(doc.instances.filter((i) => i.config).every((i) => i.config?.name === "yf" && i.config.path === path));
    // --no-config: the same gateway, typed by signature only.
    const off = JSON.parse(reaper(["--gateway-pid", String(w.gatewayPid), "--min-age", "0", "--dry-run", "--json", "--no-config"]).stdout) as Doc;
    assert.equal(off.configs, undefined);
    assert.ok(!off.types.some((t) => t.type === "yf"));
  });
});
