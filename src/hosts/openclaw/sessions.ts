// Sense: OpenClaw's sessions as the gateway keeps them on disk, read in the gateway's own mount namespace.
// 2026.4.x: per agent, sessions/sessions.json and the <sessionId>.jsonl transcripts (their ends only).
// 2026.9.x: per agent, agent/openclaw-agent.sqlite (session_nodes, session_windows, transcript_events),
// read with node:sqlite, read-only, in one short transaction.
import { lstatSync } from "node:fs";
import * as zlib from "node:zlib";
import { readFileEnds, readSmallFile } from "../../files.js";
import { listDir } from "../../proc/read.js";
import { inGateway, why, type GatewayView, type HostAdapter, type SessionSensing, type SessionStore } from "../adapter.js";
import { looksLikeOpenclaw, openclawStateDir } from "./config.js";
import { chunkEvents, parseEventLine, parseSessionsJson, sessionFromTranscript, sessionFromWindow, transcriptName, type TranscriptEvent, type WindowRow } from "./parse.js";

/** Bytes read from each end of a transcript: a first turn's events fit (the header, the prompt, a tool call and its result). */
export const TRANSCRIPT_END_BYTES = 64 * 1024;
/** sessions.json with thousands of entries (each with its skills snapshot) stays well under this. */
const MAX_STORE_BYTES = 64 * 1024 * 1024;
/**
 * Sessions last active this long before the oldest instance started cannot hold its start in their first
 * turn (a first turn that lasts longer than a day while holding the oldest set is not worth the reads).
 */
export const LOOKBACK_MS = 24 * 3_600_000;
/** The first events of a 2026.9 transcript read to find the end of the first turn. */
const FIRST_EVENTS = 64;
/** agent schema versions (schema_meta) whose tables these queries were written against: openclaw 2026.9.6 writes 23. */
export const KNOWN_AGENT_SCHEMAS: readonly number[] = [23];

interface Agent {
  name: string;
  dir: string;
}

function agentsOf(stateRoot: string): Agent[] | null {
  const names = listDir(`${stateRoot}/agents`);
  if (names === null) return null;
  return names.filter((n) => !n.startsWith(".")).sort().map((name) => ({ name, dir: `${stateRoot}/agents/${name}` }));
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** The 2026.4.x layout of one agent: the store, then the ends of each transcript that may hold an instance start. */
function readJsonLayout(agent: Agent, view: GatewayView, sinceMs: number, store: SessionStore): void {
  const dir = `${agent.dir}/sessions`;
  const storePath = `${dir}/sessions.json`;
  const entries = parseSessionsJson(readSmallFile(storePath, MAX_STORE_BYTES, { ownerUid: view.uid ?? -1 }));
  store.sources.push(storePath);
  const current = new Map(entries.map((e) => [e.sessionId, e]));
  const read = new Set<string>();
  const readTranscript = (
    name: string,
    key: string | null,
    isCurrent: boolean | null,
    updatedAt: number | null,
    archived: { how: "reset" | "deleted"; atMs: number | null } | null,
    expectedId?: string,
  ): void => {
    if (read.has(name)) return;
    read.add(name);
    const parsed = transcriptName(name);
    if (!parsed) return;
    let ends;
    try {
      ends = readFileEnds(`${dir}/${name}`, TRANSCRIPT_END_BYTES, TRANSCRIPT_END_BYTES, { ownerUid: view.uid ?? -1 });
    } catch (err) {
      if (!isCurrent) return;
      // A current session whose transcript cannot be read: its window is unknown, so every start while it
      // may have been in its first turn is ambiguous. No transcript yet (2026.4.9 writes the file at the
      // first assistant message; the store entry comes first, at the start of the run): from its
      // updatedAt on. Unreadable: from the lookback on.
      const missing = why(err) === "ENOENT" && updatedAt !== null;
      store.blind.push({ fromMs: missing ? (updatedAt as number) : sinceMs - LOOKBACK_MS, toMs: Number.MAX_SAFE_INTEGER, why: `${name}: ${why(err)}` });
      return;
    }
    store.transcriptsRead++;
    if (ends.mtimeMs < sinceMs - LOOKBACK_MS) return;
    const head = chunkEvents(ends.head, false, !ends.whole);
    const tail = ends.whole ? [] : chunkEvents(ends.tail, true, false);
    store.sessions.push(sessionFromTranscript({ key, sessionId: expectedId ?? parsed.sessionId, current: isCurrent, updatedAt, archived, head, tail, whole: ends.whole }));
  };
  for (const e of entries) {
    if (e.updatedAt !== null && e.updatedAt < sinceMs - LOOKBACK_MS) continue;
    // The entry's sessionFile names its transcript (after a 2026.4.9 reset: the old session's file name,
    // holding the new session; its header says which). Read only inside the sessions directory.
    const own = e.sessionFile ? e.sessionFile.slice(e.sessionFile.lastIndexOf("/") + 1) : null;
    const name = own && transcriptName(own) && !transcriptName(own)?.archived ? own : `${e.sessionId}.jsonl`;
    readTranscript(name, e.key, true, e.updatedAt, null, e.sessionId);
  }
  // Transcripts the store no longer names: archives of reset or deleted sessions (ended), and stray ones
  // (state unknown: they still take part, so a start inside their first turn is never pinned elsewhere).
  for (const name of listDir(dir) ?? []) {
    if (read.has(name)) continue;
    // Most names are the store's own transcripts (`<sessionId>.jsonl`), skipped before any regex: a
    // store of thousands of old sessions costs a readdir, not a parse per name.
    if (name.endsWith(".jsonl") && current.has(name.slice(0, -6))) continue;
    const t = transcriptName(name);
    if (!t) continue;
    if (t.archived) {
      if (t.archivedAtMs !== null && t.archivedAtMs < sinceMs - 1000) continue;
      readTranscript(name, null, false, null, { how: t.archived, atMs: t.archivedAtMs });
    } else if (!current.has(t.sessionId)) {
      readTranscript(name, null, null, null, null);
    }
  }
}

/** The little of node:sqlite used here (@types/node 20 has no declarations for it). */
interface SqliteStatement {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface Sqlite {
  DatabaseSync: new (path: string, options: { readOnly: boolean }) => { exec(sql: string): void; prepare(sql: string): SqliteStatement; close(): void };
}
/** A variable, so neither tsc nor the bundler resolves it at build time (Node 20 has no such module). */
const SQLITE_MODULE = "node:sqlite";
let sqliteModule: Sqlite | null | undefined;

/**
 * node:sqlite, imported on first use (Node >= 22.13; the CLI still loads on Node 20). Its one-time
 * ExperimentalWarning would land on stderr of every cron run: it is swallowed while importing.
 */
export async function loadSqlite(): Promise<Sqlite | null> {
  if (sqliteModule !== undefined) return sqliteModule;
  const emit = process.emitWarning;
  process.emitWarning = ((w: string | Error, ...rest: unknown[]) => {
    const text = typeof w === "string" ? w : w.message;
    if (/SQLite/i.test(text)) return;
    (emit as (...a: unknown[]) => void).call(process, w, ...rest);
  }) as typeof process.emitWarning;
  try {
    sqliteModule = (await import(SQLITE_MODULE)) as Sqlite;
  } catch {
    sqliteModule = null;
  } finally {
    process.emitWarning = emit;
  }
  return sqliteModule;
}

const WINDOWS_SQL = `
SELECT w.session_id, w.session_key, w.reason, w.created_at, w.started_at, w.ended_at, w.status, w.updated_at,
  n.current_session_id, n.last_activity_at AS node_last_activity_at, n.updated_at AS node_updated_at,
  (SELECT min(x.created_at) FROM session_windows x WHERE x.previous_session_id = w.session_id) AS replaced_at
FROM session_windows w LEFT JOIN session_nodes n ON n.session_key = w.session_key
WHERE coalesce(w.updated_at, w.created_at) >= ? OR w.status = 'running' OR n.current_session_id = w.session_id`;
const EVENTS_SQL = `SELECT created_at, event_json, event_zstd FROM transcript_events WHERE session_id = ? ORDER BY seq LIMIT ${FIRST_EVENTS}`;

/**
 * 2026.9.6 stores an event of 1 KiB or more zstd-compressed (event_zstd, prepareTranscriptPayload) when
 * its Node has zstd; assistant messages usually are. zlib.zstdDecompressSync is in Node >= 22.15 / 23.8;
 * without it such an event is only its created_at (the first turn's end is then bounded, never guessed).
 */
const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Uint8Array) => Buffer }).zstdDecompressSync;

function eventOf(e: { created_at: number; event_json: string | null; event_zstd: Uint8Array | null }): TranscriptEvent {
  let text = e.event_json;
  if (text === null && e.event_zstd && zstd) {
    try {
      text = zstd(e.event_zstd).toString("utf8");
    } catch {
      text = null;
    }
  }
  return (text ? parseEventLine(text) : null) ?? { atMs: e.created_at, type: "", role: null, stopReason: null };
}

/** The 2026.9.x layout of one agent: one read-only transaction over its SQLite store, closed right away. */
function readSqliteLayout(sqlite: Sqlite, path: string, view: GatewayView, sinceMs: number, nowMs: number, store: SessionStore): void {
  // Stat before open, as for every file the gateway's environment names: a regular file of its user.
  const st = lstatSync(path);
  if (!st.isFile()) throw new Error(`${path}: not a regular file`);
  if (st.uid !== (view.uid ?? -1)) throw new Error(`${path}: not owned by uid ${view.uid}`);
  const db = new sqlite.DatabaseSync(path, { readOnly: true });
  try {
    db.exec("BEGIN");
    try {
      const meta = db.prepare("SELECT max(schema_version) AS v FROM schema_meta").get() as { v: number | null } | undefined;
      const version = meta?.v ?? null;
      if (version === null || !KNOWN_AGENT_SCHEMAS.includes(version)) throw new UnknownVersionError(`${path}: agent schema version ${version} (known: ${KNOWN_AGENT_SCHEMAS.join(", ")})`);
      store.layout = `sqlite (agent schema ${version})`;
      const rows = db.prepare(WINDOWS_SQL).all(sinceMs - LOOKBACK_MS) as unknown as WindowRow[];
      const events = db.prepare(EVENTS_SQL);
      for (const r of rows) {
        const raw = events.all(r.session_id) as { created_at: number; event_json: string | null; event_zstd: Uint8Array | null }[];
        const head = raw.map(eventOf);
        store.transcriptsRead++;
        store.sessions.push(sessionFromWindow(r, head, raw.length < FIRST_EVENTS, nowMs));
      }
    } finally {
      db.exec("COMMIT");
    }
  } finally {
    db.close();
  }
  store.sources.push(path);
}

class UnknownVersionError extends Error {}

/** Reads every agent's sessions; any failure is one warning and no store (all unattributed). */
async function readOpenclawSessions(view: GatewayView, sinceMs: number, nowMs: number): Promise<SessionSensing> {
  const state = openclawStateDir(view.environ, view.home, view.cwd);
  if (state === null) return { store: null, warning: "sessions: the OpenClaw state directory is unknown (no OPENCLAW_STATE_DIR, OPENCLAW_CONFIG_PATH or home); every instance is unattributed" };
  const stateRoot = inGateway(view, state.path);
  const agents = agentsOf(stateRoot);
  if (agents === null || agents.length === 0) return { store: null, warning: `sessions: no agents under ${state.path}/agents; every instance is unattributed` };
  const store: SessionStore = { host: "openclaw", layout: "", sessions: [], sources: [], blind: [], transcriptsRead: 0 };
  const layouts = new Set<string>();
  try {
    for (const agent of agents) {
      const sqlitePath = `${agent.dir}/agent/openclaw-agent.sqlite`;
      if (isFile(sqlitePath)) {
        const sqlite = await loadSqlite();
        if (sqlite === null) return { store: null, warning: `sessions: ${state.path} is an OpenClaw 2026.9 SQLite store, and node:sqlite needs Node >= 22.13 (this is ${process.version}); every instance is unattributed` };
        readSqliteLayout(sqlite, sqlitePath, view, sinceMs, nowMs, store);
        layouts.add(store.layout);
      } else if (isFile(`${agent.dir}/sessions/sessions.json`)) {
        readJsonLayout(agent, view, sinceMs, store);
        layouts.add("sessions.json");
      }
    }
  } catch (err) {
    const text = err instanceof SyntaxError ? `not valid JSON: ${err.message}` : why(err);
    return { store: null, warning: `sessions: cannot read the OpenClaw session store under ${state.path}: ${text}; every instance is unattributed` };
  }
  if (layouts.size === 0) return { store: null, warning: `sessions: no session store under ${state.path}/agents (neither sessions.json nor openclaw-agent.sqlite); every instance is unattributed` };
  store.layout = [...layouts].join(" + ");
  // Report paths as the gateway names them, not through /proc/PID/root.
  store.sources = store.sources.map((p) => (p.startsWith(view.root) ? p.slice(view.root.length) : p));
  return { store, warning: null };
}

export const openclawAdapter: HostAdapter = {
  name: "openclaw",
  detects: (view) => looksLikeOpenclaw(view.environ, view.comm, view.argv),
  readSessions: (view, sinceMs, nowMs) => readOpenclawSessions(view, sinceMs, nowMs),
};

