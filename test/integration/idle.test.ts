// Integration: the activity guard against real servers. An old instance a client keeps using survives;
// an idle duplicate of the same type is reaped; the history survives a corrupt state file.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startWorld, type World } from "../../src/demo/world.js";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));

function reaper(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Doc {
  instances: { rootPid: number; action: string; reasonCode: string; idleMs: number | null; outcome?: string }[];
}

let world: World | null = null;
let dir: string | null = null;
afterEach(async () => {
  await world?.stop();
  assert.deepEqual(world?.livePids() ?? [], []);
  world = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

describe("--idle", () => {
  it("keeps an older instance in use, reaps an idle duplicate, and learns across runs through the state file", async () => {
    // python servers: an idle one blocks in read() and its counters stand still.
    // Sessions 1 and 2 start together (their start ticks may tie); session 3 comes later, so it is the
    // newest by start time and keep-newest keeps it whatever the tie-break between the other two.
    world = await startWorld({ sessions: 2, types: ["yfinance"], decoy: false });
    await world.startSession();
    dir = mkdtempSync(join(tmpdir(), "mcp-reaper-idle-"));
    const args = ["--gateway-pid", String(world.gatewayPid), "--min-age", "0", "--idle", "1s", "--state-file", join(dir, "activity.json"), "--json"];
    const [s1, s2, s3] = world.servers();
    assert.ok(s1 && s2 && s3);

    // First look: nothing is known, so nothing is idle, so nothing is reaped.
    const first = reaper(args);
    assert.equal(first.code, 0, first.stderr);
    const firstDoc = JSON.parse(first.stdout) as Doc;
    assert.ok(firstDoc.instances.every((i) => i.action === "keep" && i.idleMs === null));

    // A client keeps the oldest session busy for 1.5 s; session 2 sits idle.
    const until = Date.now() + 1500;
    while (Date.now() < until) assert.equal(await world.ping(s1.session, "yfinance"), true);

    const second = reaper(args);
    assert.equal(second.code, 0, second.stderr);
    const by = new Map((JSON.parse(second.stdout) as Doc).instances.map((i) => [i.rootPid, i]));
    assert.equal(by.get(s3.rootPid)?.reasonCode, "newest");
    assert.equal(by.get(s1.rootPid)?.reasonCode, "active", "the busy old instance is kept");
    assert.ok((by.get(s1.rootPid)?.idleMs ?? Infinity) < 1000);
    assert.equal(by.get(s2.rootPid)?.action, "reap", "the idle duplicate is reaped");
    assert.equal(by.get(s2.rootPid)?.outcome, "terminated");
    assert.equal(await world.ping(s1.session, "yfinance"), true);
  });

  it("a corrupt state file is one warning and a fresh start, then repaired", async () => {
    world = await startWorld({ sessions: 2, types: ["yfinance"], decoy: false });
    dir = mkdtempSync(join(tmpdir(), "mcp-reaper-idle-"));
    const stateFile = join(dir, "activity.json");
    writeFileSync(stateFile, '{"format":"mcp-reaper/activity@1","bootId":');
    const before = world.livePids().sort();
    const r = reaper(["--gateway-pid", String(world.gatewayPid), "--min-age", "0", "--idle", "1ms", "--state-file", stateFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1);
    assert.match(r.stderr, /^mcp-reaper: warning: state file .* is corrupt .*starting a fresh activity history/);
    assert.match(r.stdout, /activity unknown/);
    assert.deepEqual(world.livePids().sort(), before, "unknown activity reaps nothing");
    const repaired = JSON.parse(readFileSync(stateFile, "utf8")) as { records: Record<string, unknown> };
    assert.ok(Object.keys(repaired.records).length >= 4, "the new history holds both instances' processes");
  });
});
