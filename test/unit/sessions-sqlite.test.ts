// Unit: the openclaw 2026.9.x SQLite store (openclaw-agent.sqlite: session_nodes, session_windows,
// transcript_events, schema 23) read with node:sqlite. Runs where node:sqlite exists (Node >= 22.13) and
// skips with that reason elsewhere; on such a Node the store is one warning and no sessions.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { gatewayView } from "../../src/hosts/adapter.js";
import { loadSqlite, openclawAdapter } from "../../src/hosts/openclaw/sessions.js";
import { attribute } from "../../src/decide/sessions.js";
import { makeFakeProc } from "./fakeproc.js";
import { T0 } from "./sessionfixture.js";

const dir = mkdtempSync(join(tmpdir(), "mcp-reaper-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// The columns the reader uses, as openclaw 2026.9.6 declares them (OPENCLAW_AGENT_SCHEMA_SQL).
const SCHEMA = `
CREATE TABLE schema_meta (meta_key TEXT NOT NULL PRIMARY KEY, role TEXT NOT NULL, schema_version INTEGER NOT NULL, agent_id TEXT, app_version TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE session_nodes (session_key TEXT NOT NULL PRIMARY KEY, current_session_id TEXT NOT NULL, entry_json TEXT NOT NULL, updated_at INTEGER NOT NULL, status TEXT, created_at INTEGER, created_via TEXT, last_activity_at INTEGER);
CREATE TABLE session_windows (session_id TEXT NOT NULL PRIMARY KEY, session_key TEXT NOT NULL, previous_session_id TEXT, reason TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, started_at INTEGER, ended_at INTEGER, status TEXT, hook_external_content_source TEXT);
CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT, created_at INTEGER NOT NULL, event_zstd BLOB, PRIMARY KEY (session_id, seq));`;

const CHAT = "agent:main:openai:0d9c6a4e-2f1b-4c3d-9e8f-7a6b5c4d3e2f";

describe("openclaw 2026.9 SQLite store", async () => {
  const sqlite = await loadSqlite();
  const skip = sqlite === null ? `node:sqlite needs Node >= 22.13 (this is ${process.version})` : false;

  it("reads windows, current ids and first turns in one read-only transaction; attributes main (live), a chat call and a reset window (ended)", { skip }, async () => {
    const state = join(dir, "state");
    mkdirSync(join(state, "agents/main/agent"), { recursive: true });
    const path = join(state, "agents/main/agent/openclaw-agent.sqlite");
    const db = new (sqlite as NonNullable<typeof sqlite>).DatabaseSync(path, { readOnly: false } as { readOnly: boolean });
    db.exec(SCHEMA);
    db.exec("PRAGMA journal_mode=WAL");
    const run = (sql: string, ...p: unknown[]) => db.prepare(sql).all(...p);
    run("INSERT INTO schema_meta VALUES ('agent','agent',23,'main','2026.9.6',?,?)", T0, T0);
    run("INSERT INTO session_nodes VALUES ('agent:main:main','main-2','{}',?,'done',?,'operator',?)", T0 + 200_000, T0, T0 + 200_000);
    run("INSERT INTO session_nodes VALUES (?,'chat-1','{}',?,'done',?,'run',?)", CHAT, T0 + 63_000, T0 + 60_000, T0 + 63_000);
    run("INSERT INTO session_windows VALUES ('main-1','agent:main:main',NULL,'initial',?,?,?,?, 'done', NULL)", T0, T0 + 3_000, T0, T0 + 3_000);
    run("INSERT INTO session_windows VALUES ('main-2','agent:main:main','main-1','reset',?,?,?,?, 'done', NULL)", T0 + 100_000, T0 + 200_000, T0 + 100_000, T0 + 200_000);
    run("INSERT INTO session_windows VALUES ('chat-1',?,NULL,'initial',?,?,?,?, 'done', NULL)", CHAT, T0 + 60_000, T0 + 63_000, T0 + 60_000, T0 + 63_000);
    const ev = (sid: string, seq: number, at: number, role: string, stop?: string) =>
      run("INSERT INTO transcript_events VALUES (?,?,?,?,NULL)", sid, seq, JSON.stringify({ type: "message", timestamp: new Date(at).toISOString(), message: { role, ...(stop ? { stopReason: stop } : {}) } }), at);
    ev("main-1", 1, T0 + 10, "user");
    ev("main-1", 2, T0 + 2_000, "assistant", "stop");
    ev("main-2", 1, T0 + 100_010, "user");
    ev("main-2", 2, T0 + 102_000, "assistant", "toolUse");
    ev("main-2", 3, T0 + 102_500, "toolResult");
    ev("main-2", 4, T0 + 103_000, "assistant", "stop");
    ev("main-2", 5, T0 + 190_000, "user");
    ev("chat-1", 1, T0 + 60_010, "user");
    ev("chat-1", 2, T0 + 62_000, "assistant", "stop");
    db.close();

    const uid = process.getuid?.() ?? 1000;
    const fake = makeFakeProc([{ pid: 100, ppid: 1, comm: "openclaw-gatewa", startTicks: 10, argv: ["openclaw-gateway"], uid, environ: { OPENCLAW_STATE_DIR: state } }]);
    try {
      const view = gatewayView(fake.root, { pid: 100, uid, comm: "openclaw-gatewa", argv: ["openclaw-gateway"] }, join(dir, "none"));
      const sensed = await openclawAdapter.readSessions(view, T0, T0 + 300_000);
      assert.equal(sensed.warning, null);
      assert.equal(sensed.store?.layout, "sqlite (agent schema 23)");
      const now = T0 + 300_000;
      const got = attribute(
        [{ rootPid: 1, startedAtMs: T0 + 500 }, { rootPid: 2, startedAtMs: T0 + 100_600 }, { rootPid: 3, startedAtMs: T0 + 60_400 }, { rootPid: 4, startedAtMs: T0 + 150_000 }],
        sensed.store as NonNullable<typeof sensed.store>,
        { nowMs: now, idleMs: null },
      );
      assert.deepEqual([...got].map(([pid, a]) => [pid, a.state, a.sessionId]), [
        [1, "ended", "main-1"],
        [2, "live", "main-2"],
        [3, "ended", "chat-1"],
        [4, "unattributed", null],
      ]);
    } finally {
      fake.cleanup();
    }
  });

  it("an unknown schema version is one warning and no store", { skip }, async () => {
    const state = join(dir, "state2");
    mkdirSync(join(state, "agents/main/agent"), { recursive: true });
    const db = new (sqlite as NonNullable<typeof sqlite>).DatabaseSync(join(state, "agents/main/agent/openclaw-agent.sqlite"), { readOnly: false });
    db.exec(SCHEMA);
    db.prepare("INSERT INTO schema_meta VALUES ('agent','agent',99,'main','2027.1.0',0,0)").all();
    db.close();
    const uid = process.getuid?.() ?? 1000;
    const fake = makeFakeProc([{ pid: 100, ppid: 1, startTicks: 10, argv: ["openclaw-gateway"], uid, environ: { OPENCLAW_STATE_DIR: state } }]);
    try {
      const sensed = await openclawAdapter.readSessions(gatewayView(fake.root, { pid: 100, uid, comm: "x", argv: ["openclaw-gateway"] }, join(dir, "none")), T0, T0);
      assert.equal(sensed.store, null);
      assert.match(sensed.warning ?? "", /schema version 99/);
    } finally {
      fake.cleanup();
    }
  });

  it("on a Node without node:sqlite a SQLite store is one warning naming the Node version", { skip: sqlite !== null ? "this Node has node:sqlite" : false }, async () => {
    const state = join(dir, "state3");
    mkdirSync(join(state, "agents/main/agent"), { recursive: true });
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(state, "agents/main/agent/openclaw-agent.sqlite"), "SQLite format 3\0");
    const uid = process.getuid?.() ?? 1000;
    const fake = makeFakeProc([{ pid: 100, ppid: 1, startTicks: 10, argv: ["openclaw-gateway"], uid, environ: { OPENCLAW_STATE_DIR: state } }]);
    try {
      const sensed = await openclawAdapter.readSessions(gatewayView(fake.root, { pid: 100, uid, comm: "x", argv: ["openclaw-gateway"] }, join(dir, "none")), T0, T0);
      assert.equal(sensed.store, null);
      assert.match(sensed.warning ?? "", /node:sqlite needs Node >= 22\.13/);
    } finally {
      fake.cleanup();
    }
  });
});
