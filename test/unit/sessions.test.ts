// Unit: session attribution and liveness (pure tables), the 2026.4.9 store reader over a state dir read
// through a fake /proc/PID/root, and the planner's session rules with a keep-newest negative control.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { HostSession, SessionStore } from "../../src/hosts/adapter.js";
import { gatewayView } from "../../src/hosts/adapter.js";
import { openclawAdapter } from "../../src/hosts/openclaw/sessions.js";
import { transcriptName } from "../../src/hosts/openclaw/parse.js";
import { DEFAULT_MATCH, instancesOf, plan } from "../../src/decide/planner.js";
import { attribute, livenessOf, WINDOW_MARGIN_MS } from "../../src/decide/sessions.js";
import { classifyKey } from "../../src/hosts/openclaw/keys.js";
import { takeSnapshot } from "../../src/proc/snapshot.js";
import { makeFakeProc, type FakeProc } from "./fakeproc.js";
import { T0, turnEvents, writeJsonStore } from "./sessionfixture.js";

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

const HOOK_A = "agent:main:hook:2e14c3b0-8f2a-4d1e-9c3b-0a1b2c3d4e5f";
const HOOK_B = "agent:main:hook:7a21d0c4-1b2c-4d3e-8f40-5a6b7c8d9e0f";

function session(o: Partial<HostSession> & { key: string | null; startMs: number; endMs: number | null }): HostSession {
  return {
    key: o.key,
    sessionId: o.sessionId ?? `${o.key}-id`,
    firstTurn: { startMs: o.startMs, endMs: o.endMs },
    current: o.current === undefined ? true : o.current,
    turnFinished: o.turnFinished ?? true,
    endedAtMs: o.endedAtMs ?? o.endMs,
    lastActivityMs: o.lastActivityMs ?? o.endMs ?? o.startMs,
    ...(o.archived ? { archived: true, hostStatus: "transcript archived (reset)" } : {}),
    kind: o.kind ?? classifyKey(o.key),
  };
}

function store(sessions: HostSession[], blind: SessionStore["blind"] = []): SessionStore {
  return { host: "openclaw", layout: "test", sessions, sources: [], blind, transcriptsRead: 0 };
}

describe("classifyKey: what a session key says (openclaw 2026.4.9 / 2026.9.6)", () => {
  const table: [string, string, boolean][] = [
    ["agent:main:main", "main", false],
    [HOOK_A, "hook", true],
    ["agent:main:hook:ingress", "hook", true],
    ["agent:main:main:heartbeat", "heartbeat", true],
    ["agent:main:openai:0d9c6a4e-2f1b-4c3d-9e8f-7a6b5c4d3e2f", "stateless-chat", true],
    ["agent:main:openresponses:0d9c6a4e-2f1b-4c3d-9e8f-7a6b5c4d3e2f", "stateless-chat", true],
    ["agent:main:openai-user:alice", "other", false],
    ["agent:main:cron:job1", "cron", false],
    ["agent:main:cron:job1:run:0d9c6a4e-2f1b-4c3d-9e8f-7a6b5c4d3e2f", "cron", false],
    ["agent:main:subagent:x", "subagent", false],
    ["agent:main:telegram:direct:42", "other", false],
  ];
  for (const [key, kind, isolated] of table) it(key, () => assert.deepEqual(classifyKey(key), { kind, isolated }));
});

describe("livenessOf", () => {
  const now = T0 + 600_000;
  const table: [string, HostSession, number | null, string][] = [
    ["main session, turn finished: live", session({ key: "agent:main:main", startMs: T0, endMs: T0 + 3000 }), null, "live"],
    ["hook run, turn finished: ended", session({ key: HOOK_A, startMs: T0, endMs: T0 + 3000 }), null, "ended"],
    ["hook run still running: live", session({ key: HOOK_A, startMs: T0, endMs: null, turnFinished: false }), null, "live"],
    ["stateless chat call finished: ended", session({ key: "agent:main:openai:0d9c6a4e-2f1b-4c3d-9e8f-7a6b5c4d3e2f", startMs: T0, endMs: T0 + 1000 }), null, "ended"],
    ["cron session, turn finished: live until replaced", session({ key: "agent:main:cron:job1", startMs: T0, endMs: T0 + 1000 }), null, "live"],
    ["reset main session (sessionId no longer current): ended", session({ key: "agent:main:main", startMs: T0, endMs: T0 + 1000, current: false }), null, "ended"],
    ["archived transcript: ended", session({ key: null, startMs: T0, endMs: T0 + 1000, current: false, archived: true }), null, "ended"],
    ["not in the store, not archived: unknown", session({ key: null, startMs: T0, endMs: T0 + 1000, current: null }), null, "unknown"],
    ["main session quiet for 10 min with --session-idle 5m: idle", session({ key: "agent:main:main", startMs: T0, endMs: T0 + 1000 }), 300_000, "idle"],
    ["main session quiet for 10 min with --session-idle 1h: live", session({ key: "agent:main:main", startMs: T0, endMs: T0 + 1000 }), 3_600_000, "live"],
    ["a run in progress is never idle", session({ key: "agent:main:main", startMs: T0, endMs: null, turnFinished: false }), 1000, "live"],
  ];
  for (const [name, s, idle, want] of table) it(name, () => assert.equal(livenessOf(s, now, idle).state, want));
});

describe("attribute: exactly one first-turn window holds the instance root's start", () => {
  const now = T0 + 600_000;
  const at = (ms: number) => [{ rootPid: 1, startedAtMs: ms }];
  const one = (s: SessionStore, ms: number) => attribute(at(ms), s, { nowMs: now, idleMs: null }).get(1);

  it("a start inside one window is that session's, with the evidence in words", () => {
    const a = one(store([session({ key: HOOK_A, startMs: T0, endMs: T0 + 3000 })]), T0 + 400);
    assert.equal(a?.state, "ended");
    assert.equal(a?.key, HOOK_A);
    assert.match(a?.evidence ?? "", /^started 0\.4 s into the first turn of agent:main:hook:2e14…, ended 9m ago: isolated hook run, its turn finished$/);
  });
  it("two sessions starting in the same second: a start both windows hold is either's; one only one holds is attributed", () => {
    const s = store([session({ key: HOOK_A, startMs: T0, endMs: T0 + 3000 }), session({ key: HOOK_B, startMs: T0 + 900, endMs: T0 + 3900 })]);
    // Both ended: whichever it belongs to has ended.
    assert.equal(one(s, T0 + 1200)?.state, "ended");
    assert.equal(one(s, T0 + 1200)?.key, null);
    assert.match(one(s, T0 + 1200)?.evidence ?? "", /first turns of 2 sessions .*all ended/);
    assert.equal(one(s, T0 + 100)?.key, HOOK_A);
    assert.equal(one(s, T0 + 3600)?.key, HOOK_B);
  });
  it("a start inside a live session's window and ended ones' is kept as possibly live (the real 2026.4.9 main turn followed by quick hook runs)", () => {
    const s = store([
      session({ key: "agent:main:main", startMs: T0, endMs: T0 + 3000 }),
      session({ key: HOOK_A, startMs: T0 + 500, endMs: T0 + 4000 }),
      session({ key: HOOK_B, startMs: T0 + 900, endMs: T0 + 5000 }),
    ]);
    const a = one(s, T0 + 1000);
    assert.equal(a?.state, "live");
    assert.equal(a?.key, "agent:main:main");
    assert.match(a?.evidence ?? "", /of which agent:main:main may still be live: kept/);
    // Negative control: the same start among ended sessions only is reaped as ended.
    assert.equal(one(store([session({ key: HOOK_A, startMs: T0 + 500, endMs: T0 + 4000 }), session({ key: HOOK_B, startMs: T0 + 900, endMs: T0 + 5000 })]), T0 + 1000)?.state, "ended");
  });
  it("ms clocks against 10 ms start ticks: a start a tick before the window's first event is still inside (margin)", () => {
    const s = store([session({ key: HOOK_A, startMs: T0, endMs: T0 + 3000 })]);
    assert.equal(one(s, T0 - 10)?.key, HOOK_A);
    assert.equal(one(s, T0 - WINDOW_MARGIN_MS - 1)?.state, "unattributed");
    assert.equal(one(s, T0 + 3000 + WINDOW_MARGIN_MS + 1)?.state, "unattributed");
  });
  it("a reset main session: its old set is garbage, the new one live", () => {
    const s = store([
      session({ key: "agent:main:main", sessionId: "old", startMs: T0, endMs: T0 + 3000, current: false, endedAtMs: T0 + 60_000 }),
      session({ key: "agent:main:main", sessionId: "new", startMs: T0 + 120_000, endMs: T0 + 123_000 }),
    ]);
    assert.equal(one(s, T0 + 500)?.state, "ended");
    assert.equal(one(s, T0 + 120_500)?.state, "live");
  });
  it("a store that lags the processes: a start after every known window is unattributed; an open first turn holds it", () => {
    assert.equal(one(store([session({ key: HOOK_A, startMs: T0, endMs: T0 + 3000 })]), T0 + 30_000)?.state, "unattributed");
    assert.equal(one(store([session({ key: HOOK_A, startMs: T0, endMs: null, turnFinished: false })]), T0 + 30_000)?.state, "live");
  });
  it("a session whose window could not be read makes every start while it was active ambiguous", () => {
    const s = store([session({ key: HOOK_A, startMs: T0, endMs: T0 + 3000 })], [{ fromMs: T0 - 1000, toMs: T0 + 5000, why: "EACCES" }]);
    assert.equal(one(s, T0 + 400)?.state, "unattributed");
  });
  it("a session of unknown state (not in the store, not archived) leaves its instance unattributed", () => {
    assert.equal(one(store([session({ key: null, startMs: T0, endMs: T0 + 3000, current: null })]), T0 + 400)?.state, "unattributed");
  });
});

describe("transcriptName (2026.4.9 file names)", () => {
  it("current, topic and archived transcripts", () => {
    assert.deepEqual(transcriptName("9f0e.jsonl"), { sessionId: "9f0e", archived: null, archivedAtMs: null });
    assert.deepEqual(transcriptName("9f0e-topic-42.jsonl"), { sessionId: "9f0e", archived: null, archivedAtMs: null });
    assert.deepEqual(transcriptName("9f0e.jsonl.reset.2026-12-03T21-14-05.123Z"), { sessionId: "9f0e", archived: "reset", archivedAtMs: Date.parse("2026-12-03T21:14:05.123Z") });
    assert.deepEqual(transcriptName("2026-12-03T21-14-05-123Z_9f0e.jsonl"), { sessionId: "9f0e", archived: null, archivedAtMs: null });
    assert.equal(transcriptName("sessions.json"), null);
  });
});

/** A 2026.4.9 gateway (pid 100) with its state dir in a temp dir, its children given. */
function gatewayWith(state: string, kids: FakeProc[], uptimeSeconds: number) {
  const uid = process.getuid?.() ?? 1000;
  const procs: FakeProc[] = [
    { pid: 100, ppid: 1, comm: "openclaw-gatewa", startTicks: 10, argv: ["openclaw-gateway"], uid, environ: { OPENCLAW_STATE_DIR: state } },
    ...kids.map((k) => ({ ...k, uid })),
  ];
  const fake = makeFakeProc(procs, { childrenFiles: true, uptimeSeconds });
  cleanups.push(fake.cleanup);
  return fake;
}

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), "mcp-reaper-sessions-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A memory server started at `ms` (wall clock), as a child of the gateway: ticks from the fake uptime. */
function server(pid: number, ms: number, nowMs: number, uptimeSeconds: number): FakeProc {
  const startTicks = Math.round((uptimeSeconds * 1000 - (nowMs - ms)) / 10);
  return { pid, ppid: 100, startTicks, argv: ["node", "/opt/node_modules/@modelcontextprotocol/server-memory/dist/index.js"] };
}

describe("openclaw 2026.4.9 store through /proc/PID/root, and the plan it gives", () => {
  const state = tmp();
  const mainId = "11111111-1111-4111-8111-111111111111";
  const hooks = ["22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"];
  // The main session's first tool turn, then three isolated hook runs a minute apart (the sequence).
  writeJsonStore(state, [
    { key: "agent:main:main", sessionId: mainId, createdMs: T0, turns: [turnEvents(T0 + 50, 3000), turnEvents(T0 + 400_000, 2000)], updatedAt: T0 + 402_000 },
    ...hooks.map((id, i) => ({ key: `agent:main:hook:${id}`, sessionId: id, createdMs: T0 + 60_000 * (i + 1), turns: [turnEvents(T0 + 60_000 * (i + 1) + 30, 2500)] })),
  ]);
  const uptime = 50_000;
  const now = T0 + 600_000;
  const kids = [server(200, T0 + 800, now, uptime), ...hooks.map((_, i) => server(300 + i, T0 + 60_000 * (i + 1) + 700, now, uptime))];

  async function planWith(sessionsOn: boolean, sessionIdleMs: number | null = null) {
    const fake = gatewayWith(state, kids, uptime);
    const snapshot = takeSnapshot({ procRoot: fake.root, gatewayPid: 100, protectedPids: new Set([999_999]), now: () => now });
    const view = gatewayView(fake.root, snapshot.gateway, join(state, "no-passwd"));
    const sensed = sessionsOn ? await openclawAdapter.readSessions(view, T0, now) : null;
    const policy = { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null, sessionIdleMs };
    return { p: plan(snapshot, policy, new Map(), sensed?.store ?? null), sensed };
  }

  it("reads the store and each candidate transcript once, through the gateway's root", async () => {
    const { sensed } = await planWith(true);
    assert.equal(sensed?.warning, null);
    assert.equal(sensed?.store?.layout, "sessions.json");
    assert.equal(sensed?.store?.transcriptsRead, 4);
    assert.deepEqual(sensed?.store?.sources, [`${state}/agents/main/sessions/sessions.json`]);
  });
  it("negative control: without sessions, keep-newest reaps the main session's set and keeps the last hook run's", async () => {
    const { p } = await planWith(false);
    const byPid = new Map(instancesOf(p).map((i) => [i.rootPid, i]));
    assert.equal(byPid.get(200)?.action, "reap");
    assert.equal(byPid.get(302)?.action, "keep");
  });
  it("with sessions: the main session's set is kept (live-session), every ended hook run's is reaped (session-ended)", async () => {
    const { p } = await planWith(true);
    const got = instancesOf(p).map((i) => [i.rootPid, i.action, i.reasonCode, i.session?.key ?? null]).sort((a, b) => (a[0] as number) - (b[0] as number));
    assert.deepEqual(got, [
      [200, "keep", "live-session", "agent:main:main"],
      [300, "reap", "session-ended", `agent:main:hook:${hooks[0]}`],
      [301, "reap", "session-ended", `agent:main:hook:${hooks[1]}`],
      [302, "reap", "session-ended", `agent:main:hook:${hooks[2]}`],
    ]);
  });
  it("--session-idle: the main session's last turn (updatedAt) 198 s ago: reaped as idle past 60 s, kept at 10 min", async () => {
    const idle = await planWith(true, 60_000);
    const main = instancesOf(idle.p).find((i) => i.rootPid === 200);
    assert.deepEqual([main?.action, main?.reasonCode, main?.session?.state], ["reap", "session-idle", "idle"]);
    assert.match(main?.session?.evidence ?? "", /last turn 3m ago: no turn for longer than --session-idle/);
    const live = await planWith(true, 600_000);
    assert.equal(instancesOf(live.p).find((i) => i.rootPid === 200)?.reasonCode, "live-session");
  });
  it("a corrupt store is one warning and every instance unattributed: the plan is the one without sessions", async () => {
    const bad = tmp();
    writeJsonStore(bad, []);
    writeFileSync(join(bad, "agents/main/sessions/sessions.json"), "{ not json");
    const fake = gatewayWith(bad, kids, uptime);
    const snapshot = takeSnapshot({ procRoot: fake.root, gatewayPid: 100, protectedPids: new Set([999_999]), now: () => now });
    const sensed = await openclawAdapter.readSessions(gatewayView(fake.root, snapshot.gateway, join(bad, "no-passwd")), T0, now);
    assert.equal(sensed.store, null);
    assert.match(sensed.warning ?? "", /not valid JSON/);
  });
  it("a store that lags the processes: a new session whose transcript is not written yet makes starts since its updatedAt ambiguous, not older ones", async () => {
    const lag = tmp();
    writeJsonStore(lag, [{ key: "agent:main:main", sessionId: mainId, createdMs: T0, turns: [turnEvents(T0 + 50, 3000)] }]);
    // The store already names the new run; 2026.4.9 writes its transcript only at the first assistant message.
    const storePath = join(lag, "agents/main/sessions/sessions.json");
    const doc = JSON.parse(readFileSync(storePath, "utf8"));
    doc[`agent:main:hook:${hooks[0]}`] = { sessionId: hooks[0], updatedAt: T0 + 500_000 };
    writeFileSync(storePath, JSON.stringify(doc));
    const fake = gatewayWith(lag, [server(200, T0 + 800, now, uptime), server(300, T0 + 500_300, now, uptime)], uptime);
    const snapshot = takeSnapshot({ procRoot: fake.root, gatewayPid: 100, protectedPids: new Set([999_999]), now: () => now });
    const sensed = await openclawAdapter.readSessions(gatewayView(fake.root, snapshot.gateway, join(lag, "no-passwd")), T0, now);
    const p = plan(snapshot, { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null }, new Map(), sensed.store);
    const byPid = new Map(instancesOf(p).map((i) => [i.rootPid, i]));
    assert.equal(byPid.get(200)?.reasonCode, "live-session");
    assert.equal(byPid.get(300)?.session?.state, "unattributed");
    assert.match(byPid.get(300)?.session?.evidence ?? "", /could not be read was active \(22222222-2222-4222-8222-222222222222\.jsonl: ENOENT\)/);
    assert.equal(byPid.get(300)?.action, "keep");
  });
});
