// Unit: attribution over what the real openclaw 2026.9.6 gateway wrote and ran (test/fixtures/openclaw/
// 2026.9.6/, recorded offline: a main tool turn, three hook runs, three stateless chat calls, a reset).
// The tree is the recorded /proc (as a fake proc root), the store its recorded session_nodes and
// session_windows rows. The pure path runs on any Node; the SQLite path where node:sqlite exists.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { SessionStore } from "../../src/hosts/adapter.js";
import { gatewayView } from "../../src/hosts/adapter.js";
import { sessionFromWindow, type TranscriptEvent, type WindowRow } from "../../src/hosts/openclaw/parse.js";
import { loadSqlite, openclawAdapter } from "../../src/hosts/openclaw/sessions.js";
import { DEFAULT_MATCH, instancesOf, plan } from "../../src/decide/planner.js";
import { takeSnapshot } from "../../src/proc/snapshot.js";
import { makeFakeProc, type FakeProc } from "./fakeproc.js";

const DIR = fileURLToPath(new URL("../../../test/fixtures/openclaw/2026.9.6/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "mcp-reaper-recorded-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Recorded {
  tree: { wallMs: number; uptimeMs: number; rootPid: number; procs: { pid: number; ppid: number; state: string; comm: string; startTicks: number; rssKb: number; argv: string[] }[] };
  store: { session_nodes: Record<string, unknown>[]; session_windows: Record<string, unknown>[]; first_user_event: { session_id: string; first_user_at: number }[] };
}
const load = (name: string): Recorded => JSON.parse(readFileSync(join(DIR, `${name}.json`), "utf8")) as Recorded;

const chats = load("c-three-stateless-chat-turns");
// The main session's first run, as the a-main-tool-turn record holds it (later runs overwrite started_at/ended_at).
const firstRun = load("a-main-tool-turn").store.session_windows[0] as { session_id: string; ended_at: number };
const mainId = firstRun.session_id;
const mainFirstUser = (chats.store.first_user_event.find((e) => e.session_id === mainId) as { first_user_at: number }).first_user_at;

/** The main session's first events: its first user message and the end of its first run (recorded times). */
function mainHead(): TranscriptEvent[] {
  return [
    { atMs: mainFirstUser, type: "message", role: "user", stopReason: null },
    { atMs: firstRun.ended_at, type: "message", role: "assistant", stopReason: "stop" },
  ];
}

function rows(r: Recorded): WindowRow[] {
  const nodes = new Map(r.store.session_nodes.map((n) => [n.session_key as string, n]));
  return r.store.session_windows.map((w) => {
    const n = nodes.get(w.session_key as string);
    return {
      ...(w as unknown as WindowRow),
      current_session_id: (n?.current_session_id as string | undefined) ?? null,
      node_last_activity_at: (n?.last_activity_at as number | null | undefined) ?? null,
      node_updated_at: (n?.updated_at as number | null | undefined) ?? null,
      replaced_at: null,
    };
  });
}

function fakeTree(r: Recorded, state: string): ReturnType<typeof makeFakeProc> {
  const uid = process.getuid?.() ?? 1000;
  const procs: FakeProc[] = r.tree.procs.map((p) => ({
    pid: p.pid,
    ppid: p.ppid,
    comm: p.comm,
    state: p.state,
    startTicks: p.startTicks,
    rssKb: p.rssKb,
    // The recorder wrote $NODE, $PKG and $DIR for the paths of that run; any real-looking ones do here.
    argv: p.argv.map((w) => w.replace("$NODE", "/opt/node-v24/bin/node").replace("$PKG", "/opt/openclaw").replace("$DIR", "/tmp/run")),
    uid,
    ...(p.pid === r.tree.rootPid ? { environ: { OPENCLAW_STATE_DIR: state } } : {}),
  }));
  const fake = makeFakeProc(procs, { childrenFiles: true, uptimeSeconds: r.tree.uptimeMs / 1000 });
  after(fake.cleanup);
  return fake;
}

const MAIN_ANCHORS = [18483, 18486];
const CHAT_ANCHORS = [26582, 26583, 27229, 27246, 27928, 27955];

function check(p: ReturnType<typeof plan>): void {
  const got = instancesOf(p).map((i) => [i.rootPid, i.action, i.reasonCode, i.session?.kind ?? null]).sort((a, b) => (a[0] as number) - (b[0] as number));
  assert.deepEqual(got, [
    ...MAIN_ANCHORS.map((pid) => [pid, "keep", "live-session", "main"]),
    ...CHAT_ANCHORS.map((pid) => [pid, "reap", "session-ended", "stateless-chat"]),
  ]);
  // The broker and every relay are wrappers; the sqlite-readonly-location worker is not MCP.
  const wrappers = (p.wrappers ?? []).map((w) => w.pid).sort((a, b) => a - b);
  assert.deepEqual(wrappers, [14029, 18264, 18277, 26549, 26551, 27178, 27179, 27830, 27832]);
  assert.deepEqual(p.ignored.map((i) => i.rootPid), [14121]);
  // Each anchor's relay exits with it.
  for (const inst of instancesOf(p)) assert.equal(inst.exitsWith?.length, 1);
}

describe("openclaw 2026.9.6 as recorded: a main tool turn, three hook runs, three stateless chats", () => {
  const policy = { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null };

  it("negative control: without sessions keep-newest reaps the main session's chains and keeps the last chat's", () => {
    const fake = fakeTree(chats, join(tmp, "none"));
    const snapshot = takeSnapshot({ procRoot: fake.root, gatewayPid: chats.tree.rootPid, protectedPids: new Set([999_999]), now: () => chats.tree.wallMs });
    const byPid = new Map(instancesOf(plan(snapshot, policy)).map((i) => [i.rootPid, i.action]));
    assert.deepEqual(MAIN_ANCHORS.map((pid) => byPid.get(pid)), ["reap", "reap"]);
    assert.deepEqual([27928, 27955].map((pid) => byPid.get(pid)), ["keep", "keep"]);
  });

  it("with the recorded windows: the main session's chains are live, every chat's has ended (pure, any Node)", () => {
    const now = chats.tree.wallMs;
    const sessions = rows(chats).map((r) => sessionFromWindow(r, r.session_id === mainId ? mainHead() : [], false, now));
    const store: SessionStore = { host: "openclaw", layout: "recorded", sessions, sources: [], blind: [], transcriptsRead: 0 };
    const fake = fakeTree(chats, join(tmp, "none"));
    const snapshot = takeSnapshot({ procRoot: fake.root, gatewayPid: chats.tree.rootPid, protectedPids: new Set([999_999]), now: () => now });
    check(plan(snapshot, policy, new Map(), store));
  });

  it("after sessions.reset (2026.9.6 keeps the sessionId, clears the window, disposes main's chains): the chats' chains still go", () => {
    const reset = load("d1-after-reset");
    const now = reset.tree.wallMs;
    const sessions = rows(reset).map((r) => sessionFromWindow(r, r.session_id === mainId ? mainHead() : [], false, now));
    const main = sessions.find((x) => x.sessionId === mainId);
    assert.equal(main?.current, true);
    assert.equal(main?.turnFinished, null);
    const store: SessionStore = { host: "openclaw", layout: "recorded", sessions, sources: [], blind: [], transcriptsRead: 0 };
    const fake = fakeTree(reset, join(tmp, "none"));
    const snapshot = takeSnapshot({ procRoot: fake.root, gatewayPid: reset.tree.rootPid, protectedPids: new Set([999_999]), now: () => now });
    const got = instancesOf(plan(snapshot, policy, new Map(), store)).map((i) => [i.rootPid, i.action, i.reasonCode]).sort((a, b) => (a[0] as number) - (b[0] as number));
    assert.deepEqual(got, CHAT_ANCHORS.map((pid) => [pid, "reap", "session-ended"]));
  });

  it("the hook runs (keys agent:main:cron:<uuid>, hook_external_content_source webhook) are isolated runs: ended", () => {
    const now = chats.tree.wallMs;
    const hooks = rows(chats).filter((r) => r.hook_external_content_source === "webhook");
    assert.equal(hooks.length, 3);
    for (const r of hooks) {
      const s = sessionFromWindow(r, [], false, now);
      assert.deepEqual(s.kind, { kind: "hook", isolated: true }, "the window names the hook, whatever its cron: key says");
    }
  });

  it("the same through node:sqlite from an openclaw-agent.sqlite holding the recorded rows", async (t) => {
    const sqlite = await loadSqlite();
    if (sqlite === null) return t.skip(`node:sqlite needs Node >= 22.13 (this is ${process.version})`);
    const state = join(tmp, "state");
    mkdirSync(join(state, "agents/main/agent"), { recursive: true });
    const db = new sqlite.DatabaseSync(join(state, "agents/main/agent/openclaw-agent.sqlite"), { readOnly: false });
    db.exec(`CREATE TABLE schema_meta (meta_key TEXT PRIMARY KEY, role TEXT, schema_version INTEGER, agent_id TEXT, app_version TEXT, created_at INTEGER, updated_at INTEGER);
      CREATE TABLE session_nodes (session_key TEXT PRIMARY KEY, current_session_id TEXT, updated_at INTEGER, status TEXT, last_activity_at INTEGER);
      CREATE TABLE session_windows (session_id TEXT PRIMARY KEY, session_key TEXT, previous_session_id TEXT, reason TEXT, created_at INTEGER, updated_at INTEGER, started_at INTEGER, ended_at INTEGER, status TEXT, hook_external_content_source TEXT);
      CREATE TABLE transcript_events (session_id TEXT, seq INTEGER, event_json TEXT, created_at INTEGER, event_zstd BLOB, PRIMARY KEY (session_id, seq));
      PRAGMA journal_mode=WAL;`);
    db.prepare("INSERT INTO schema_meta VALUES ('agent','agent',23,'main','2026.9.6',0,0)").all();
    for (const n of chats.store.session_nodes) db.prepare("INSERT INTO session_nodes VALUES (?,?,?,?,?)").all(n.session_key, n.current_session_id, n.updated_at, n.status, n.last_activity_at);
    for (const w of chats.store.session_windows) {
      db.prepare("INSERT INTO session_windows VALUES (?,?,?,?,?,?,?,?,?,?)").all(w.session_id, w.session_key, w.previous_session_id, w.reason, w.created_at, w.updated_at, w.started_at, w.ended_at, w.status, w.hook_external_content_source);
    }
    mainHead().forEach((e, i) =>
      db.prepare("INSERT INTO transcript_events VALUES (?,?,?,?,NULL)").all(mainId, i + 1, JSON.stringify({ type: "message", timestamp: new Date(e.atMs).toISOString(), message: { role: e.role, stopReason: e.stopReason ?? undefined } }), e.atMs),
    );
    db.close();
    const now = chats.tree.wallMs;
    const fake = fakeTree(chats, state);
    const snapshot = takeSnapshot({ procRoot: fake.root, gatewayPid: chats.tree.rootPid, protectedPids: new Set([999_999]), now: () => now });
    const uid = process.getuid?.() ?? 1000;
    const sensed = await openclawAdapter.readSessions(gatewayView(fake.root, { ...snapshot.gateway, uid }, join(tmp, "none")), snapshot.takenAtMs - 3_600_000, now);
    assert.equal(sensed.warning, null);
    check(plan(snapshot, policy, new Map(), sensed.store));
  });
});

// ---- openclaw 2026.4.9 as recorded: a main tool turn, three hook runs, sessions.reset, a main tool turn after it ----

interface Recorded49 {
  tree: Recorded["tree"];
  store: {
    sessionsJson: Record<string, { sessionId: string; updatedAt: number; sessionFile?: string }>;
    transcripts: Record<string, { first?: Record<string, unknown>[]; last?: Record<string, unknown>[]; firstUser?: Record<string, unknown>; firstStop?: { timestamp: string; id: string } }>;
  };
}
const DIR49 = fileURLToPath(new URL("../../../test/fixtures/openclaw/2026.4.9/", import.meta.url));
const load49 = (name: string): Recorded49 => JSON.parse(readFileSync(join(DIR49, `${name}.json`), "utf8")) as Recorded49;

/** A transcript's recorded lines as a file: the first lines, the first user message and stop, the last lines. */
function transcriptText(t: Recorded49["store"]["transcripts"][string]): string {
  const events: Record<string, unknown>[] = [...(t.first ?? [])];
  if (t.firstUser) events.push(t.firstUser);
  const last = t.last ?? [];
  // The recorder keeps only the stop's time and id: it is an assistant message that ended the turn.
  if (t.firstStop && !last.some((e) => e.id === t.firstStop?.id)) events.push({ type: "message", id: t.firstStop.id, timestamp: t.firstStop.timestamp, message: { role: "assistant", stopReason: "stop" } });
  events.push(...last);
  return events.map((e) => JSON.stringify(e)).join("\n") + "\n";
}

describe("openclaw 2026.4.9 as recorded: a main tool turn, three hook runs, sessions.reset, a main tool turn after it", () => {
  it("the hook runs' and the reset main session's sets end, the new main set is live, the reset's stray set stays a duplicate; without sessions keep-newest would reap the live one's older peers only by age", async () => {
    const d2 = load49("d2-main-tool-turn-after-reset");
    const before = load49("a-main-tool-turn");
    const state = join(tmp, "state49");
    const dir = join(state, "agents/main/sessions");
    mkdirSync(dir, { recursive: true });
    const { writeFileSync } = await import("node:fs");
    const entries = Object.fromEntries(Object.entries(d2.store.sessionsJson).map(([k, v]) => [k, { ...v, ...(v.sessionFile ? { sessionFile: v.sessionFile.replace("$DIR/state", state) } : {}) }]));
    writeFileSync(join(dir, "sessions.json"), JSON.stringify(entries));
    for (const [name, t] of Object.entries(d2.store.transcripts)) {
      // The archive's content is the old main transcript as it stood before the reset.
      const source = name.includes(".reset.") ? before.store.transcripts[name.slice(0, name.indexOf(".reset."))] : t;
      if (source) writeFileSync(join(dir, name), transcriptText(source));
    }
    const now = d2.tree.wallMs;
    const fake = fakeTree(d2 as unknown as Recorded, state);
    const snapshot = takeSnapshot({ procRoot: fake.root, gatewayPid: d2.tree.rootPid, protectedPids: new Set([999_999]), now: () => now });
    const uid = process.getuid?.() ?? 1000;
    const sensed = await openclawAdapter.readSessions(gatewayView(fake.root, { ...snapshot.gateway, uid }, join(tmp, "none")), now - 3_600_000, now);
    assert.equal(sensed.warning, null);
    const policy = { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null };
    const got = instancesOf(plan(snapshot, policy, new Map(), sensed.store)).map((i) => [i.rootPid, i.action, i.reasonCode]).sort((a, b) => (a[0] as number) - (b[0] as number));
    assert.deepEqual(got, [
      [11903, "reap", "session-ended"], // the main session before the reset (its transcript archived)
      [11979, "reap", "session-ended"],
      [15225, "reap", "session-ended"], // three hook runs
      [15345, "reap", "session-ended"],
      [16110, "reap", "session-ended"],
      [16220, "reap", "session-ended"],
      [16846, "reap", "session-ended"],
      [17015, "reap", "session-ended"],
      [22646, "reap", "duplicate"], // started by the reset's session-memory run: no session's; older than the live set
      [22830, "reap", "duplicate"],
      [27855, "keep", "live-session"], // the main session after the reset
      [27990, "keep", "live-session"],
    ]);
    // Negative control: without sessions keep-newest keeps the same newest pair here, but before the reset's
    // turn (d1) it kept a hook run's set and reaped the live main one (the report).
    const without = instancesOf(plan(snapshot, policy)).filter((i) => i.action === "keep").map((i) => i.rootPid).sort();
    assert.deepEqual(without, [27855, 27990]);
  });

  it("after the hook runs (the issue's sequence): the main session's set is live, every hook run's has ended; negative control: keep-newest reaps the main one", async () => {
    const b = load49("b-three-hook-runs");
    const state = join(tmp, "state49b");
    const dir = join(state, "agents/main/sessions");
    mkdirSync(dir, { recursive: true });
    const { writeFileSync } = await import("node:fs");
    const entries = Object.fromEntries(Object.entries(b.store.sessionsJson).map(([k, v]) => [k, { ...v, ...(v.sessionFile ? { sessionFile: v.sessionFile.replace("$DIR/state", state) } : {}) }]));
    writeFileSync(join(dir, "sessions.json"), JSON.stringify(entries));
    for (const [name, t] of Object.entries(b.store.transcripts)) if (t.first) writeFileSync(join(dir, name), transcriptText(t));
    const now = b.tree.wallMs;
    const fake = fakeTree(b as unknown as Recorded, state);
    const snapshot = takeSnapshot({ procRoot: fake.root, gatewayPid: b.tree.rootPid, protectedPids: new Set([999_999]), now: () => now });
    const uid = process.getuid?.() ?? 1000;
    const sensed = await openclawAdapter.readSessions(gatewayView(fake.root, { ...snapshot.gateway, uid }, join(tmp, "none")), now - 3_600_000, now);
    const policy = { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null };
    const withSessions = new Map(instancesOf(plan(snapshot, policy, new Map(), sensed.store)).map((i) => [i.rootPid, i.reasonCode]));
    assert.deepEqual([withSessions.get(11903), withSessions.get(11979)], ["live-session", "live-session"]);
    for (const pid of [15225, 15345, 16110, 16220, 16846, 17015]) assert.equal(withSessions.get(pid), "session-ended", String(pid));
    const without = new Map(instancesOf(plan(snapshot, policy)).map((i) => [i.rootPid, i.action]));
    assert.deepEqual([without.get(11903), without.get(11979), without.get(16846)], ["reap", "reap", "keep"]);
  });
});
