// Integration test of the demo world: real wrapper chains under a fake gateway, pings, and a clean stop().
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startWorld, type World } from "../../src/demo/world.js";
import { readCmdline } from "../../src/proc/read.js";

// Read /proc here rather than through the world's own helpers, so the test checks the world independently.
interface Proc {
  pid: number;
  ppid: number;
  state: string;
  startTicks: number;
  comm: string;
  argv: string[];
}
function proc(pid: number): Proc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // comm may hold ')': split after the last
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    while (argv.at(-1) === "") argv.pop();
    const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trimEnd();
    return { pid, ppid: Number(rest[1]), state: rest[0] ?? "?", startTicks: Number(rest[19]), comm, argv };
  } catch {
    return null;
  }
}
const alive = (p: Proc): boolean => {
  const now = proc(p.pid);
  return now !== null && now.startTicks === p.startTicks && now.state !== "Z";
};
function allProcs(): Proc[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => proc(Number(name)))
    .filter((p): p is Proc => p !== null && p.state !== "Z");
}
function carriesMarker(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`MCP_REAPER_WORLD=${marker}`);
  } catch {
    return false;
  }
}
/** The reaper's view of argv: plain words as they are, paths by basename or by package after node_modules/. */
function nameParts(argv: string[]): string[] {
  return argv.map((word) => {
    const at = word.lastIndexOf("node_modules/");
    if (at >= 0) return word.slice(at + "node_modules/".length);
    return word.startsWith("/") || word.startsWith(".") ? basename(word) : word;
  });
}
const MCP = /mcp|modelcontextprotocol/i;

/** Bounded poll for a condition the kernel settles asynchronously (reparenting after a kill). */
async function eventually(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`not true after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

describe("demo world with 3 sessions, fetch ignoring SIGTERM", () => {
  let world: World;
  before(async () => {
    world = await startWorld({ sessions: 3, ignoreTermType: "fetch", gatewayTitle: "openclaw-gateway" });
  });
  after(async () => {
    await world?.stop(); // runs even when an assertion below failed
  });

  it("writes the gateway pid to the pidfile and shows its title", () => {
    assert.equal(Number(readFileSync(world.pidfile, "utf8")), world.gatewayPid);
    const gateway = proc(world.gatewayPid);
    assert.equal(gateway?.comm, "openclaw-gatewa", "process.title sets comm, cut to 15 bytes");
    assert.deepEqual(gateway?.argv, ["openclaw-gateway"]);
    // The title is followed by the NUL padding of the old argv area; the parser drops all of it.
    const raw = readFileSync(`/proc/${world.gatewayPid}/cmdline`);
    assert.ok(raw.length > "openclaw-gateway".length + 1, `padded: ${JSON.stringify(raw.toString())}`);
    assert.deepEqual(readCmdline("/proc", world.gatewayPid), ["openclaw-gateway"]);
  });

  it("builds the real wrapper chains for every session", () => {
    const servers = world.servers();
    assert.deepEqual(
      servers.map((s) => `${s.session}-${s.type}`),
      ["1-yfinance", "1-fetch", "1-filesystem", "2-yfinance", "2-fetch", "2-filesystem", "3-yfinance", "3-fetch", "3-filesystem"],
    );
    for (const s of servers) {
      const server = proc(s.pid);
      const root = proc(s.rootPid);
      assert.ok(server && root, `${s.type} ${s.session}: server and root alive`);
      assert.equal(root.ppid, world.gatewayPid, `${s.type} ${s.session}: root is the gateway's child`);
      assert.ok(nameParts(server.argv).some((w) => MCP.test(w)), `${s.type} server looks like MCP: ${server.argv.join(" ")}`);
      switch (s.type) {
        case "yfinance": // gateway -> uv (bash) -> python
          assert.equal(root.comm, "uv");
          assert.deepEqual(root.argv.slice(0, 4).map((w) => basename(w)), ["bash", "uv", "run", "mcp-yfinance-server"]);
          assert.equal(server.ppid, root.pid);
          assert.equal(server.argv[0], world.python ?? process.execPath);
          break;
        case "fetch": // gateway -> sh -> node: `; :` keeps sh as the parent
          assert.equal(root.comm, "sh");
          assert.deepEqual(root.argv.slice(0, 2), ["/bin/sh", "-c"]);
          assert.equal(server.ppid, root.pid);
          assert.equal(server.comm, "node");
          assert.ok(server.argv.includes("--ignore-term"));
          break;
        case "filesystem": { // gateway -> npx (retitled `npm exec ...`, as npm does) -> sh -> node
          assert.equal(root.comm, "npm exec @model");
          // The title overwrote argv in place: one string, then the NUL padding of the old argv.
          assert.equal(root.argv[0], "npm exec @modelcontextprotocol/server-filesystem /tmp");
          assert.ok(root.argv.slice(1).every((w) => w === ""), JSON.stringify(root.argv));
          const shell = proc(server.ppid);
          assert.equal(shell?.comm, "sh");
          assert.equal(shell?.ppid, root.pid);
          assert.equal(server.comm, "node");
          break;
        }
      }
    }
  });

  it("has exactly one decoy besides the servers, and it does not look like MCP", () => {
    const children = allProcs().filter((p) => p.ppid === world.gatewayPid);
    const roots = new Set(world.servers().map((s) => s.rootPid));
    const others = children.filter((p) => !roots.has(p.pid));
    assert.deepEqual(others.map((p) => p.pid), [world.decoyPid]);
    const decoy = others[0]!;
    assert.equal(basename(decoy.argv[1] ?? ""), "worker.js");
    assert.deepEqual(nameParts(decoy.argv).filter((w) => MCP.test(w)), []);
  });

  it("answers a ping from every server, and not from one that does not exist", async () => {
    for (const s of world.servers()) assert.equal(await world.ping(s.session, s.type), true, `${s.type} of session ${s.session}`);
    assert.equal(await world.ping(99, "fetch", 200), false, "negative control: no session 99");
  });

  it("has sent no signal to any server", () => {
    assert.deepEqual(world.signalsSeen(), {});
  });

  it("starts a 4th session on request, without touching the old ones", async () => {
    const before = world.servers().map((s) => s.pid);
    assert.equal(await world.startSession(), 4);
    const servers = world.servers();
    assert.equal(servers.filter((s) => s.session === 4).length, 3);
    for (const pid of before) assert.ok(servers.some((s) => s.pid === pid), `old server ${pid} still listed`);
    assert.equal(await world.ping(4, "filesystem"), true);
  });

  it("records SIGTERM: uv forwards it and python exits; the fetch server ignores it and stays", async () => {
    const yfinance = world.servers().find((s) => s.session === 1 && s.type === "yfinance")!;
    const fetch = world.servers().find((s) => s.session === 1 && s.type === "fetch")!;
    const [python, uv, node] = [proc(yfinance.pid)!, proc(yfinance.rootPid)!, proc(fetch.pid)!];
    process.kill(uv.pid, "SIGTERM");
    process.kill(node.pid, "SIGTERM");
    await eventually(() => !alive(python) && !alive(uv), "python and uv gone after TERM to uv");
    await eventually(() => world.signalsSeen()[node.pid]?.length === 1, "fetch server recorded TERM");
    assert.deepEqual(world.signalsSeen(), { [python.pid]: ["SIGTERM"], [node.pid]: ["SIGTERM"] });
    assert.ok(alive(node), "TERM-ignoring server still up");
    assert.equal(await world.ping(1, "fetch"), true);
  });

  it("stop() kills everything it started and leaves no process with its marker", async () => {
    const everything = allProcs().filter((p) => carriesMarker(p.pid, world.marker));
    assert.equal(everything.length, 1 + 1 + 4 * 7 - 2, "gateway + decoy + 4 sessions of (2 + 2 + 3) processes - uv and python of session 1");
    assert.deepEqual(world.livePids().sort(), everything.map((p) => p.pid).sort());
    await world.stop();
    await world.stop(); // idempotent
    assert.deepEqual(world.livePids(), []);
    assert.deepEqual(everything.filter(alive).map((p) => `${p.pid} ${p.argv.join(" ")}`), []);
    assert.deepEqual(allProcs().filter((p) => carriesMarker(p.pid, world.marker)), []);
  });
});

describe("demo world after a wrapper is SIGKILLed", () => {
  let world: World;
  before(async () => {
    // yfinance plays a stuck server (ignores TERM, stays after stdin EOF); fetch is well behaved.
    world = await startWorld({ sessions: 1, types: ["yfinance", "fetch"], ignoreTermType: "yfinance", decoy: false });
  });
  after(async () => {
    await world?.stop();
  });

  it("a well-behaved server exits on its own: the gateway closes its stdin when the wrapper dies", async () => {
    const fetch = world.servers().find((s) => s.type === "fetch");
    assert.ok(fetch);
    const server = proc(fetch.pid);
    assert.ok(server);
    process.kill(fetch.rootPid, "SIGKILL"); // sh dies; node's ChildProcess then destroys the stdin pipe
    await eventually(() => !alive(server), "fetch server gone after stdin EOF");
  });

  it("stop() still finds and kills a stuck server reparented away from the gateway, by its marker", async () => {
    const yfinance = world.servers().find((s) => s.type === "yfinance");
    assert.ok(yfinance);
    const python = proc(yfinance.pid);
    assert.ok(python);
    process.kill(yfinance.rootPid, "SIGKILL"); // uv dies without forwarding anything
    await eventually(() => proc(yfinance.pid)?.ppid !== yfinance.rootPid, "python reparented away from uv");
    assert.ok(alive(python), "the stuck python outlives its wrapper");
    assert.notEqual(proc(yfinance.pid)?.ppid, world.gatewayPid);
    assert.ok(world.livePids().includes(yfinance.pid));
    assert.deepEqual(world.signalsSeen(), {}, "SIGKILL only: nothing recorded");

    await world.stop();
    assert.equal(alive(python), false);
    assert.deepEqual(world.livePids(), []);
  });
});

describe("demo world that cannot get ready in time (negative control)", () => {
  it("rejects naming what was not ready, and leaves no process behind", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "reaper-world-test-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    await assert.rejects(startWorld({ sessions: 2, dir, readyTimeoutMs: 1 }), /^Error: startWorld: not ready after 1 ms: /);
    const mine = allProcs().filter((p) => {
      try {
        return readFileSync(`/proc/${p.pid}/environ`, "utf8").split("\0").includes(`MCP_REAPER_WORLD_DIR=${dir}`);
      } catch {
        return false;
      }
    });
    assert.deepEqual(mine.map((p) => p.argv.join(" ")), []);
  });
});
