// Test helper: worlds started by a test file are stopped after each test, also on failure, and must
// leave no process behind.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach } from "node:test";
import { startWorld, type World } from "../../src/demo/world.js";

/** Registers the clean-up for the calling test file; returns the function its tests start worlds with. */
export function worldPerTest(): (opts: Parameters<typeof startWorld>[0]) => Promise<World> {
  let worlds: World[] = [];
  afterEach(async () => {
    await Promise.all(worlds.map((w) => w.stop()));
    for (const w of worlds) assert.deepEqual(w.livePids(), [], "the world left processes behind");
    worlds = [];
  });
  return async (opts) => {
    const w = await startWorld(opts);
    worlds.push(w);
    return w;
  };
}

/** Bounded wait (no sleeps for readiness): polls every 10 ms, fails with what it waited for. */
export async function until(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A gateway of a test's own, for shapes the demo world does not make: `files` are written to a fresh
 * dir (their paths in env as FILE_<name without extension, upper-cased, - as _>, the dir as DIR), then
 * `node -e gatewayJs` starts in a process group of its own, killed with everything in it after the
 * test. Resolves once `ready` files named ready-* exist in the dir.
 */
export async function scriptedGateway(
  t: { after: (fn: () => void) => void },
  o: { files: Record<string, string>; gatewayJs: string; ready: number; /** Start-up of the fixture's own tree, not a measured bound. Default 5000. */ readyTimeoutMs?: number },
): Promise<{ gatewayPid: number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "mcp-reaper-scripted-"));
  const env: NodeJS.ProcessEnv = { ...process.env, DIR: dir, MCP_REAPER_WORLD: `scripted-${process.pid}` };
  for (const [name, text] of Object.entries(o.files)) {
    // A name may hold a folder (`spawn-broker/worker.js`: layers are matched by their last path parts).
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
    env[`FILE_${name.replace(/\.[^.]*$/, "").replace(/[-/]/g, "_").toUpperCase()}`] = join(dir, name);
  }
  const gateway = spawn(process.execPath, ["-e", o.gatewayJs], { stdio: "ignore", detached: true, env });
  t.after(() => {
    try {
      process.kill(-(gateway.pid as number), "SIGKILL");
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await until(`${o.ready} ready files`, () => readdirSync(dir).filter((n) => n.startsWith("ready-")).length >= o.ready, o.readyTimeoutMs);
  return { gatewayPid: gateway.pid as number, dir };
}

/**
 * Live processes on this host with an fd link we may not read (on some sandboxes: a pid 1 from a parent
 * namespace). Where there are any, no pipe's other end can be proven gone: tests expect "unknown" there.
 */
export function unreadableFds(): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    try {
      if (fds[0] !== undefined) readlinkSync(`/proc/${name}/fd/${fds[0]}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EACCES" || (err as NodeJS.ErrnoException).code === "EPERM") out.push(Number(name));
    }
  }
  return out;
}
