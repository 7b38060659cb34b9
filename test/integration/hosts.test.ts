// Integration: every host, alive or gone, on real processes. Two hosts of one name under --all; a host
// SIGKILLed after starting stdio servers, whose orphans host-wide --orphans reaps (and leaves alone what
// it must); a pid namespace whose pid 1 is the gateway. Every --match carries a random marker, so no
// other process on a shared machine can be reached; every test kills what it started, also on failure.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { readStat } from "../../src/proc/read.js";
import { unreadableFds } from "./worlds.js";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../../../test/fixtures/hosts/", import.meta.url));

let pids: number[] = [];
let children: ChildProcess[] = [];
const dirs: string[] = [];
/** A pid and everything below it, read before any of it is killed (a killed sh orphans its node). */
function withDescendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    try {
      out.push(...readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(" ").filter(Boolean).map(Number));
    } catch {
      // gone
    }
  }
  return out;
}

afterEach(() => {
  const all = [...children.map((c) => c.pid).filter((p): p is number => p !== undefined), ...pids].flatMap(withDescendants);
  for (const c of children) c.kill("SIGKILL");
  for (const pid of all) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  pids = [];
  children = [];
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function reaper(args: string[], wrap: string[] = []): { code: number | null; stdout: string; stderr: string } {
  const argv = [...wrap, process.execPath, BIN, ...args];
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function alive(pid: number): boolean {
  const s = readStat("/proc", pid);
  return s !== null && s.state !== "Z";
}

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "mcp-reaper-hosts-"));
  dirs.push(d);
  return d;
}

async function readyFile<T>(path: string): Promise<T> {
  await until(`ready file ${path}`, () => existsSync(path));
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

const marker = (): string => `q${randomBytes(5).toString("hex")}`;

type SessionHost = { host: number; servers: { pid: number; type: string; session: number }[] };

/** Two hosts of one name (test/fixtures/hosts/session-host.cjs), each with `sessions` x two server types, started and ready. */
async function twoHosts(dir: string, name: string, mark: string, sessions: number): Promise<SessionHost[]> {
  const hosts: SessionHost[] = [];
  for (const i of [1, 2]) {
    children.push(spawn(process.execPath, [join(FIXTURES, "session-host.cjs"), name, mark, join(dir, `ready-${i}`), String(sessions)], { stdio: "ignore" }));
    const ready = await readyFile<SessionHost>(join(dir, `ready-${i}`));
    await until("servers started", () => ready.servers.every((s) => alive(s.pid)));
    hosts.push(ready);
  }
  return hosts;
}

describe("--all: every process of a name is a gateway of its own", () => {
  it("two hosts of one name, three sessions each, two server types: one of each type stays under each host", async () => {
    const dir = tempDir();
    const mark = marker();
    const name = `host-${mark}`;
    const hosts = await twoHosts(dir, name, mark, 3);
    // Without --all, two matches stay an error that lists them and suggests --all.
    const one = reaper(["--gateway-name", name, "-n"]);
    assert.equal(one.code, 3, one.stderr);
    assert.match(one.stderr, /2 processes are named/);
    assert.match(one.stderr, /--all/);
    for (const h of hosts) assert.ok(one.stderr.includes(String(h.host)), one.stderr);

    // A dry run first: it signals nobody.
    const dry = reaper(["--gateway-name", name, "--all", "--min-age", "0", "--match", mark, "-n", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    for (const h of hosts) for (const s of h.servers) assert.ok(alive(s.pid), `dry run left ${s.pid} alive`);

    const r = reaper(["--gateway-name", name, "--all", "--min-age", "0", "--grace", "2s", "--match", mark, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const docs = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { gateway: { pid: number }; all: { of: number }; summary: { reaped: number; kept: number } });
    assert.equal(docs.length, 2, "one document per gateway");
    assert.deepEqual(docs.map((d) => d.gateway.pid).sort(), hosts.map((h) => h.host).sort());
    for (const d of docs) {
      assert.equal(d.all.of, 2);
      assert.deepEqual([d.summary.kept, d.summary.reaped], [2, 4]);
    }
    for (const h of hosts) {
      for (const type of ["alpha", "beta"]) {
        const left = h.servers.filter((s) => s.type === type && alive(s.pid));
        assert.deepEqual(left.map((s) => s.session), [3], `host ${h.host} keeps its newest ${type} only`);
      }
    }
  });
});

describe("--all in the supervisor", () => {
  it("a loop with --all reaps under each gateway of the name and holds a lock per gateway", async () => {
    const dir = tempDir();
    const mark = marker();
    const name = `loop-${mark}`;
    const hosts = await twoHosts(dir, name, mark, 2);
    const env: NodeJS.ProcessEnv = { ...process.env, MCP_REAPER_LOCK_DIR: join(dir, "locks") };
    delete env.NODE_TEST_CONTEXT;
    const loop = spawn(process.execPath, [BIN, "--gateway-name", name, "--all", "--schedule", "* * * * * *", "--min-age", "0", "--grace", "1s", "--match", mark], { stdio: ["ignore", "pipe", "pipe"], env });
    children.push(loop);
    let out = "";
    loop.stdout?.on("data", (d: Buffer) => (out += String(d)));
    loop.stderr?.on("data", (d: Buffer) => (out += String(d)));
    try {
      await until("both gateways reaped", () => hosts.every((h) => h.servers.filter((s) => s.session === 1).every((s) => !alive(s.pid))), 20_000);
      for (const h of hosts) for (const s of h.servers.filter((x) => x.session === 2)) assert.ok(alive(s.pid), `newest ${s.type} of ${h.host} kept`);
      // The pass line comes once every gateway's act step is over.
      await until("a pass line per gateway", () => hosts.every((h) => new RegExp(`pass: gateway ${h.host} \\S+ \\(\\d of 2\\)`).test(out)), 20_000);
      assert.equal(readdirSync(join(dir, "locks")).filter((f) => f.endsWith(".lock")).length, 2, "one lock per gateway");
    } finally {
      loop.kill("SIGTERM");
      await new Promise((r) => loop.once("exit", r));
    }
  });
});

/** Why a pid namespace with its own /proc cannot be made and entered here, or null when it can. */
function noPidNamespace(): string | null {
  const probe = spawnSync("unshare", ["--pid", "--fork", "--mount-proc", "true"], { encoding: "utf8" });
  if (probe.status !== 0) return `unshare --pid --fork --mount-proc is not allowed here: ${(probe.stderr || probe.error?.message || "").trim()}`;
  if (spawnSync("nsenter", ["--version"]).status !== 0) return "nsenter is not installed";
  return null;
}

/**
 * Runs a node script as pid 1 of a fresh pid namespace with its own /proc, and waits for its ready file.
 * `outer`: its pid out here (unshare's one child; killing it ends the whole namespace, which the test's
 * clean-up does); `enter`: the prefix that runs a command inside.
 */
async function inPidNamespace<T>(script: string[], ready: string): Promise<{ ready: T; outer: number; enter: string[] }> {
  const u = spawn("unshare", ["--pid", "--fork", "--mount-proc", process.execPath, ...script], { stdio: "ignore" });
  children.push(u);
  const doc = await readyFile<T>(ready);
  const outer = Number(readFileSync(`/proc/${u.pid}/task/${u.pid}/children`, "utf8").trim().split(" ")[0]);
  pids.push(outer);
  return { ready: doc, outer, enter: ["nsenter", "-t", String(outer), "-p", "-m"] };
}

type Crashed = { host: number; pipe: number; sock: number; held: number; holder: number; devnull: number };

/**
 * The crashed host's orphans, seen by a host-wide pass (`wrap` runs it in their pid namespace): a dry run
 * plans and signals nobody; a real run reaps what nobody can reach. The pipe server is provably dead only
 * where every process's fds can be read; where some cannot, it is left alone as unknown.
 */
async function crashedHostCase(p: Crashed, mark: string, isAlive: (pid: number) => boolean, wrap: string[], allReadable: boolean): Promise<void> {
  const servers = [p.pipe, p.sock, p.held, p.devnull];
  const dead = allReadable ? [p.pipe, p.sock] : [p.sock];
  const args = ["--orphans", "--match", `mcp-${mark}`, "--min-age", "0", "--grace", "2s", "--json"];
  const dry = reaper([...args, "--dry-run"], wrap);
  assert.equal(dry.code, 0, dry.stderr);
  const plan = JSON.parse(dry.stdout) as { gateway: null; scope: string; instances: { rootPid: number; action: string; reasonCode: string }[]; orphansLeft: { rootPid: number; reason: string }[] };
  assert.equal(plan.gateway, null);
  assert.equal(plan.scope, "host");
  assert.deepEqual(plan.instances.map((i) => [i.rootPid, i.action, i.reasonCode]).sort(), dead.map((pid) => [pid, "reap", "unreachable"]).sort());
  const left = new Map(plan.orphansLeft.map((o) => [o.rootPid, o.reason]));
  assert.match(left.get(p.held) ?? "", new RegExp(`held by live pid ${p.holder}`));
  assert.match(left.get(p.devnull) ?? "", /stdin is \/dev\/null/);
  if (!allReadable) assert.match(left.get(p.pipe) ?? "", /unknown: some processes' fds could not be read/);
  assert.ok(!left.has(p.holder), "sleep is no MCP server: not even listed");
  for (const pid of [...servers, p.holder]) assert.ok(isAlive(pid), `the dry run signalled nobody (${pid})`);

  const real = reaper(args, wrap);
  assert.equal(real.code, 0, real.stderr);
  const done = JSON.parse(real.stdout) as { summary: { reaped: number } };
  assert.equal(done.summary.reaped, dead.length);
  await until("reaped orphans gone", () => dead.every((pid) => !isAlive(pid)));
  for (const pid of [p.held, p.devnull, p.holder, ...(allReadable ? [] : [p.pipe])]) assert.ok(isAlive(pid), `${pid} was left alone`);
}

describe("host-wide --orphans: a crashed host's stdio servers", () => {
  it("on this host: reaps what nobody can reach; leaves the held one and the /dev/null one (and the pipe one where some fds cannot be read); a dry run signals nobody", async (t) => {
    if (spawnSync("python3", ["-c", "0"]).status !== 0) return t.skip("python3 is not installed: the crashing host is a python script");
    const dir = tempDir();
    const mark = marker();
    const c = spawn("python3", [join(FIXTURES, "crash-host.py"), mark, join(dir, "ready"), join(dir, "devnull.log")], { stdio: "ignore" });
    children.push(c);
    const p = await readyFile<Crashed>(join(dir, "ready"));
    const servers = [p.pipe, p.sock, p.held, p.devnull];
    pids.push(...servers, p.holder);
    await until("servers started", () => servers.every(alive));
    process.kill(p.host, "SIGKILL");
    await until("orphans reparented", () => servers.every((pid) => readStat("/proc", pid)?.ppid !== p.host));
    await crashedHostCase(p, mark, alive, [], unreadableFds().length === 0);
  });

  it("in a pid namespace whose pid 1 is ours (every fd readable): reaps both dead ones, the pipe one too", async (t) => {
    if (spawnSync("python3", ["-c", "0"]).status !== 0) return t.skip("python3 is not installed: the crashing host is a python script");
    const noNs = noPidNamespace();
    if (noNs !== null) return t.skip(noNs);
    const dir = tempDir();
    const mark = marker();
    const { ready: p, outer, enter } = await inPidNamespace<Crashed>([join(FIXTURES, "ns-crash.cjs"), join(FIXTURES, "crash-host.py"), mark, dir], join(dir, "ready"));
    // The namespace's own /proc, seen through its pid 1's root: inner pids mean something there.
    const inside = `/proc/${outer}/root/proc`;
    const aliveInside = (pid: number): boolean => {
      const s = readStat(inside, pid);
      return s !== null && s.state !== "Z";
    };
    await crashedHostCase(p, mark, aliveInside, enter, true);
  });
});

describe("containers: the gateway is pid 1 of its own pid namespace", () => {
  it("--gateway-pid 1 inside reaps two duplicates, keeps one, and pid 1 lives", async (t) => {
    const noNs = noPidNamespace();
    if (noNs !== null) return t.skip(noNs);
    const dir = tempDir();
    const mark = marker();
    const { ready, outer, enter } = await inPidNamespace<{ self: number; servers: number[] }>([join(FIXTURES, "pid1-gateway.cjs"), mark, join(dir, "ready")], join(dir, "ready"));
    assert.equal(ready.self, 1, "the fake gateway is pid 1 inside");
    const inside = (): number[] => readFileSync(`/proc/${outer}/task/${outer}/children`, "utf8").trim().split(" ").filter(Boolean).map(Number);
    await until("three servers", () => inside().length === 3);

    const r = reaper(["--gateway-pid", "1", "--min-age", "0", "--grace", "2s", "--match", `mcp-dup-${mark}`, "--json"], enter);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { gateway: { pid: number }; summary: { kept: number; reaped: number } };
    assert.equal(doc.gateway.pid, 1);
    assert.deepEqual([doc.summary.kept, doc.summary.reaped], [1, 2]);
    await until("two reaped", () => inside().length === 1);
    assert.ok(alive(outer), "pid 1 of the namespace lives");
  });
});

describe("systemd units without a gateway, or for every gateway of a name", () => {
  it("systemd print --orphans (no gateway) and --gateway-name --all put the options on both ExecStart lines", () => {
    for (const args of [["--orphans", "--match", "mcp-server-postgres"], ["--gateway-name", "claude", "--all"]]) {
      const r = reaper(["systemd", "print", ...args]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n").filter((l) => l.startsWith("ExecStart="));
      assert.equal(lines.length, 2);
      for (const l of lines) assert.ok(l.endsWith(args.join(" ")), l);
    }
  });
});
