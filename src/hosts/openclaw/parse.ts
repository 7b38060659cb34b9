// Sense (pure): OpenClaw's session stores as text and rows -> HostSession records. Each rule names the
// versions it was read from (the packages' dist/ and what their gateways wrote: test/fixtures/openclaw/).
import type { HostSession } from "../adapter.js";
import { classifyKey, HOOK_RUN } from "./keys.js";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function finite(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** An event's time: ISO text (transcript `timestamp`) or ms since the epoch; null when neither. */
export function timeOf(v: unknown): number | null {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v !== "string") return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

/** One sessions.json entry (2026.4.9: `agents/<agent>/sessions/sessions.json`, key -> entry). */
export interface StoreEntry {
  key: string;
  sessionId: string;
  /** ms: the entry's last write (every turn, with or without tool calls). */
  updatedAt: number | null;
  /** The transcript file the entry names, if any (`sessionFile`). */
  sessionFile: string | null;
}

/** sessions.json text -> entries. Throws SyntaxError on text that is not a JSON object of entries. */
export function parseSessionsJson(text: string): StoreEntry[] {
  const doc: unknown = JSON.parse(text);
  if (!isObject(doc)) throw new SyntaxError("not a JSON object of session entries");
  const out: StoreEntry[] = [];
  for (const [key, e] of Object.entries(doc)) {
    if (!isObject(e) || typeof e.sessionId !== "string" || e.sessionId === "") continue;
    out.push({ key, sessionId: e.sessionId, updatedAt: finite(e.updatedAt), sessionFile: typeof e.sessionFile === "string" ? e.sessionFile : null });
  }
  return out;
}

/**
 * A transcript file name -> its sessionId and, for an archive, when it was archived. Names (2026.4.9,
 * session-transcript-files.fs): `<sessionId>.jsonl`, `<sessionId>-topic-<topic>.jsonl`, forks
 * `<time>_<sessionId>.jsonl`, and archives
 * `<name>.jsonl.reset.<ts>` / `<name>.jsonl.deleted.<ts>` (ts: ISO with `-` for `:` and `.`).
 */
export function transcriptName(name: string): { sessionId: string; archived: "reset" | "deleted" | null; archivedAtMs: number | null } | null {
  const m = /^(.+?)(?:-topic-[^/]*)?\.jsonl(?:\.(reset|deleted)\.(.+))?$/.exec(name);
  if (!m || !m[1]) return null;
  const archived = (m[2] as "reset" | "deleted" | undefined) ?? null;
  // A forked transcript is `<ISO time with - for : and .>_<sessionId>.jsonl` (pi-coding-agent's own naming).
  const fork = /^\d{4}-\d{2}-\d{2}T[\w-]+_(.+)$/.exec(m[1]);
  return { sessionId: fork ? (fork[1] as string) : m[1], archived, archivedAtMs: archived && m[3] ? archiveTime(m[3]) : null };
}

/** `2026-12-03T21-14-05.123Z` (formatSessionArchiveTimestamp) -> ms. */
function archiveTime(text: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})(?:[.-](\d{1,3}))?Z$/.exec(text);
  if (!m) return timeOf(text);
  return timeOf(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${(m[5] ?? "0").padEnd(3, "0")}Z`);
}

/** One transcript event as attribution needs it. */
export interface TranscriptEvent {
  atMs: number;
  type: string;
  /** A `session` header's id: the sessionId the transcript belongs to (after a 2026.4.9 reset the file name is the old one's). */
  id?: string;
  role: string | null;
  /** An assistant message's stopReason (`stop`, `toolUse`, `error`, `aborted`, `length`). */
  stopReason: string | null;
}

/** One JSON line -> an event; null for a line that is not a timestamped event (a torn line at a chunk edge). */
export function parseEventLine(line: string): TranscriptEvent | null {
  let e: unknown;
  try {
    e = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObject(e)) return null;
  const msg = isObject(e.message) ? e.message : null;
  const atMs = timeOf(e.timestamp) ?? timeOf(msg?.timestamp) ?? timeOf(e.created_at);
  if (atMs === null) return null;
  return {
    atMs,
    type: typeof e.type === "string" ? e.type : "",
    ...(e.type === "session" && typeof e.id === "string" ? { id: e.id } : {}),
    role: typeof msg?.role === "string" ? msg.role : typeof e.role === "string" ? e.role : null,
    stopReason: typeof msg?.stopReason === "string" ? msg.stopReason : null,
  };
}

/** An assistant message that ends a turn: any stop but a tool call (the run goes on after a tool result). */
function endsTurn(e: TranscriptEvent): boolean {
  return e.role === "assistant" && e.stopReason !== null && e.stopReason !== "toolUse";
}

/**
 * How long before a 2026.4.9 session's first user message its servers may start: they are spawned while
 * the run builds its tools, before the transcript is written at all (recorded on 2026.4.9 under load
 * 12-15: 2.7-9.7 s before the first user event, the `session` header itself 3.6-6.3 s after the spawn).
 */
export const FIRST_TURN_LEAD_MS = 15_000;

/**
 * The first turn from the first events: from `leadMs` before the first user message (or before the
 * session header when there is none) to the first assistant message that ends a turn. `complete`: the
 * events are the whole transcript (so a missing end means a turn in progress).
 */
export function firstTurnOf(head: readonly TranscriptEvent[], complete: boolean, leadMs = FIRST_TURN_LEAD_MS): { startMs: number; endMs: number | null; found: boolean; userMs?: number } | null {
  const first = head[0];
  if (!first) return null;
  const userAt = head.findIndex((e) => e.role === "user");
  if (userAt < 0) return complete ? { startMs: first.atMs - leadMs, endMs: null, found: true } : null;
  // From the first user message, not the header: after a 2026.4.9 reset the new session's header is
  // written at the reset, long before its first turn.
  const userMs = (head[userAt] as TranscriptEvent).atMs;
  const startMs = userMs - leadMs;
  for (let i = userAt + 1; i < head.length; i++) {
    const e = head[i] as TranscriptEvent;
    if (endsTurn(e)) return { startMs, endMs: e.atMs, found: true, userMs };
  }
  return { startMs, endMs: null, found: complete, userMs };
}

/** Did the last turn finish? From the last events: the last message is an assistant's that ends a turn. */
export function lastTurnFinished(tail: readonly TranscriptEvent[]): { finished: boolean; atMs: number } | null {
  const messages = tail.filter((e) => e.role !== null);
  const last = messages[messages.length - 1] ?? tail[tail.length - 1];
  if (!last) return null;
  return { finished: endsTurn(last), atMs: last.atMs };
}

/** Lines of a chunk that starts or ends mid-file: a partial first (tail) or last (head) line is dropped. */
export function chunkEvents(text: string, partialStart: boolean, partialEnd: boolean): TranscriptEvent[] {
  const lines = text.split("\n");
  if (partialStart) lines.shift();
  if (partialEnd) lines.pop();
  const out: TranscriptEvent[] = [];
  for (const l of lines) {
    const t = l.trim();
    if (t === "") continue;
    const e = parseEventLine(t);
    if (e) out.push(e);
  }
  return out;
}

/** A 2026.4.9 session from its store entry (or archive) and its transcript's first and last events. */
export function sessionFromTranscript(o: {
  key: string | null;
  sessionId: string;
  current: boolean | null;
  updatedAt: number | null;
  archived: { how: "reset" | "deleted"; atMs: number | null } | null;
  head: readonly TranscriptEvent[];
  tail: readonly TranscriptEvent[];
  /** The head chunk held the whole file. */
  whole: boolean;
}): HostSession {
  const turn = firstTurnOf(o.head, o.whole);
  // The header's id is the session's: after a reset the file keeps the old session's name.
  const sessionId = o.head[0]?.id ?? o.sessionId;
  const last = lastTurnFinished(o.whole ? o.head : o.tail);
  let firstTurn: HostSession["firstTurn"] = null;
  let bounded = false;
  if (turn) {
    if (turn.found) firstTurn = { startMs: turn.startMs, endMs: turn.endMs, userMs: turn.userMs ?? null };
    else {
      // The first turn's end lies past the head chunk: the session's last event bounds it.
      firstTurn = { startMs: turn.startMs, endMs: last?.atMs ?? null, userMs: turn.userMs ?? null };
      bounded = true;
    }
  }
  return {
    key: o.key,
    sessionId,
    firstTurn,
    ...(bounded ? { firstTurnEndBounded: true } : {}),
    current: o.current === true && o.sessionId !== sessionId ? false : o.current,
    turnFinished: last ? last.finished : null,
    endedAtMs: o.archived?.atMs ?? (last?.finished ? last.atMs : null),
    lastActivityMs: o.updatedAt ?? last?.atMs ?? null,
    hostStatus: o.archived ? `transcript archived (${o.archived.how})` : null,
    ...(o.archived ? { archived: true } : {}),
    kind: classifyKey(o.key),
  };
}

/** One session_windows row joined with its key's node (2026.9.x `openclaw-agent.sqlite`, schema 23). */
export interface WindowRow {
  session_id: string;
  session_key: string;
  reason: string | null;
  created_at: number | null;
  started_at: number | null;
  ended_at: number | null;
  status: string | null;
  updated_at: number | null;
  /** `webhook` / `gmail` for a /hooks run (2026.9.6 keys those `agent:<a>:cron:<uuid>`), else null. */
  hook_external_content_source?: string | null;
  /** session_nodes.current_session_id of this key; null when the key is gone from session_nodes. */
  current_session_id: string | null;
  node_last_activity_at: number | null;
  node_updated_at: number | null;
  /** The id of the session that replaced this one (a window whose previous_session_id is this), if any. */
  replaced_at: number | null;
}

/**
 * A window whose key has no session_nodes row counts as gone only once this old and not running: a new
 * session's rows may be written in two transactions, and a pass may read between them.
 */
export const KEY_GONE_AFTER_MS = 60_000;

/** A 2026.9 session from its window row and the first events of its transcript (transcript_events). */
export function sessionFromWindow(r: WindowRow, head: readonly TranscriptEvent[], headComplete: boolean, nowMs: number): HostSession {
  // 2026.9.6 writes transcript events late (4.5-30.7 s after the servers start); the window's created_at
  // comes before every server of the session (recorded), so it is the start and events add no lead.
  const turn = firstTurnOf(head, headComplete, 0);
  const startCandidates = [r.created_at, r.started_at, turn?.startMs].filter((x): x is number => typeof x === "number");
  const startMs = startCandidates.length > 0 ? Math.min(...startCandidates) : null;
  const lastWrite = r.updated_at ?? r.created_at ?? nowMs;
  const surelyGone = r.current_session_id === null && r.status !== "running" && nowMs - lastWrite > KEY_GONE_AFTER_MS;
  const current = r.current_session_id === null ? (surelyGone ? false : null) : r.current_session_id === r.session_id;
  const running = r.status === "running";
  const finished = r.status === null ? null : !running;
  let endMs: number | null = turn?.found ? turn.endMs : null;
  let bounded = false;
  if (endMs === null && !running) {
    // The turn's end is not in the first events read: the window's own end (or last update) bounds it.
    endMs = r.ended_at ?? r.updated_at;
    bounded = endMs !== null;
  }
  const gone = surelyGone;
  const lastActivity = current ? (r.node_last_activity_at ?? r.node_updated_at ?? r.updated_at) : r.updated_at;
  return {
    key: r.session_key,
    sessionId: r.session_id,
    // Evidence counts from created_at: the late-written user event would say "before" of every chain.
    firstTurn: startMs === null ? null : { startMs, endMs, userMs: null },
    ...(bounded ? { firstTurnEndBounded: true } : {}),
    current,
    turnFinished: finished,
    endedAtMs: !current ? (r.replaced_at ?? r.ended_at ?? r.updated_at) : finished ? (r.ended_at ?? r.updated_at) : null,
    lastActivityMs: lastActivity,
    hostStatus: [r.status && `status ${r.status}`, r.reason && `reason ${r.reason}`, gone && "key gone from session_nodes"].filter(Boolean).join(", ") || null,
    kind: r.hook_external_content_source ? HOOK_RUN : classifyKey(r.session_key),
  };
}
