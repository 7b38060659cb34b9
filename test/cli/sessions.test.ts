// CLI: a recorded OpenClaw 2026.4.9 gateway (fake /proc) with its session store: the JSON and the human
// report show each instance's session; --no-sessions gives back the keep-newest plan (negative control).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { FakeProc } from "../unit/fakeproc.js";
import { runOnFakeProc } from "./fakecli.js";
import { T0, turnEvents, writeJsonStore } from "../unit/sessionfixture.js";

const dir = mkdtempSync(join(tmpdir(), "mcp-reaper-cli-sessions-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const MAIN = "11111111-1111-4111-8111-111111111111";
const HOOK = "22222222-2222-4222-8222-222222222222";
const state = join(dir, "state");
writeJsonStore(state, [
  { key: "agent:main:main", sessionId: MAIN, createdMs: T0, turns: [turnEvents(T0 + 50, 3000)] },
  { key: `agent:main:hook:${HOOK}`, sessionId: HOOK, createdMs: T0 + 60_000, turns: [turnEvents(T0 + 60_030, 2000)] },
]);
// The fake uptime is 50,000 s and "now" is when the test file runs; start ticks put the servers 0.8 s
// into each first turn as seen from now, and later by the time the CLI takes its snapshot (the windows
// are open-ended only while a turn runs, so a second or two of drift stays inside them).
const now = Date.now();
const uptime = 50_000;
const ticksAt = (ms: number): number => Math.round((uptime * 1000 - (now - ms)) / 10);
const uid = process.getuid?.() ?? 1000;
const procs: FakeProc[] = [
  { pid: 100, ppid: 1, comm: "openclaw-gatewa", startTicks: 10, argv: ["openclaw-gateway"], uid, environ: { OPENCLAW_STATE_DIR: state } },
  { pid: 200, ppid: 100, startTicks: ticksAt(T0 + 800), argv: ["node", "/opt/node_modules/@modelcontextprotocol/server-memory/dist/index.js"], uid },
  { pid: 300, ppid: 100, startTicks: ticksAt(T0 + 60_800), argv: ["node", "/opt/node_modules/@modelcontextprotocol/server-memory/dist/index.js"], uid },
];

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  return runOnFakeProc(procs, uptime, ["--gateway-pid", "100", "--min-age", "0", "--no-config", ...args]);
}

describe("sessions in the report", () => {
  it("JSON: each instance's session (key, kind, state, since, evidence), reasons, the store read, reaps by reason", () => {
    const r = run(["--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const byPid = new Map(doc.instances.map((i: { rootPid: number }) => [i.rootPid, i]));
    const main = byPid.get(200) as Record<string, any>;
    const hook = byPid.get(300) as Record<string, any>;
    assert.deepEqual([main.action, main.reasonCode, main.session.state, main.session.key, main.session.kind], ["keep", "live-session", "live", "agent:main:main", "main"]);
    assert.deepEqual([hook.action, hook.reasonCode, hook.session.state, hook.session.kind], ["reap", "session-ended", "ended", "hook"]);
    assert.match(hook.session.evidence, /^started \d+\.\d s into the first turn of agent:main:hook:2222…, ended \S+ ago: isolated hook run, its turn finished$/);
    assert.equal(typeof hook.session.since, "string");
    assert.equal(doc.sessions.layout, "sessions.json");
    assert.deepEqual(doc.summary.reapedByReason, { "session-ended": 1 });
    assert.deepEqual(doc.warnings, []);
  });
  it("human: a session line per instance and the store in the header", () => {
    const r = run([]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sessions: openclaw sessions\.json, 2 sessions that may own an instance, 2 transcripts read/);
    assert.match(r.stdout, /session agent:main:main \(main, live\): started \d+\.\d s into the first turn of agent:main:main/);
    assert.match(r.stdout, /session agent:main:hook:2222… \(hook, ended\)/);
  });
  it("negative control: --no-sessions reaps the main session's set (keep-newest) and says nothing of sessions", () => {
    const r = run(["--json", "--no-sessions"]);
    const doc = JSON.parse(r.stdout);
    const byPid = new Map(doc.instances.map((i: { rootPid: number; action: string; session?: unknown }) => [i.rootPid, i]));
    assert.equal((byPid.get(200) as { action: string }).action, "reap");
    assert.equal((byPid.get(300) as { action: string }).action, "keep");
    assert.equal(doc.sessions, undefined);
    assert.equal((byPid.get(200) as { session?: unknown }).session, undefined);
  });
});
