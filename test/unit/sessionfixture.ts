// Test helper: OpenClaw session stores in a temp state dir, in the shapes the real gateways write
// (2026.4.9: sessions.json + <sessionId>.jsonl transcripts; see test/fixtures/openclaw/ for recorded ones).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const T0 = Date.parse("2026-12-03T21:00:00.000Z");
const iso = (ms: number): string => new Date(ms).toISOString();

/** One turn: the user's prompt at `atMs`, a tool call, its result, the answer `lengthMs` later. */
export function turnEvents(atMs: number, lengthMs: number, finished = true): object[] {
  const events: object[] = [
    { type: "message", id: `u${atMs}`, timestamp: iso(atMs), message: { role: "user", content: [{ type: "text", text: "hi" }], timestamp: atMs } },
    { type: "message", id: `a${atMs}`, timestamp: iso(atMs + lengthMs / 3), message: { role: "assistant", content: [], stopReason: "toolUse", timestamp: atMs + lengthMs / 3 } },
    { type: "message", id: `r${atMs}`, timestamp: iso(atMs + (2 * lengthMs) / 3), message: { role: "toolResult", content: [], timestamp: atMs + (2 * lengthMs) / 3 } },
  ];
  if (finished) events.push({ type: "message", id: `f${atMs}`, timestamp: iso(atMs + lengthMs), message: { role: "assistant", content: [], stopReason: "stop", timestamp: atMs + lengthMs } });
  return events;
}

/** A transcript: the session header at `createdMs`, then the turns. */
export function transcript(sessionId: string, createdMs: number, turns: object[][]): string {
  const header = { type: "session", version: 3, id: sessionId, timestamp: iso(createdMs), cwd: "/home/pi/.openclaw/workspace" };
  return [header, ...turns.flat()].map((e) => JSON.stringify(e)).join("\n") + "\n";
}

export interface FakeSession {
  key: string | null;
  sessionId: string;
  createdMs: number;
  turns: object[][];
  updatedAt?: number;
  /** Write the transcript archived (`.jsonl.reset.<ts>`) and leave the key out of the store. */
  archivedAtMs?: number;
}

/** Writes `<state>/agents/main/sessions/` with sessions.json and the transcripts. */
export function writeJsonStore(state: string, sessions: FakeSession[], agent = "main"): string {
  const dir = join(state, "agents", agent, "sessions");
  mkdirSync(dir, { recursive: true });
  const store: Record<string, object> = {};
  for (const s of sessions) {
    let name = `${s.sessionId}.jsonl`;
    // formatSessionArchiveTimestamp (2026.4.9): the ISO time with every ":" made "-".
    if (s.archivedAtMs !== undefined) name += `.reset.${iso(s.archivedAtMs).replaceAll(":", "-")}`;
    writeFileSync(join(dir, name), transcript(s.sessionId, s.createdMs, s.turns));
    if (s.key !== null && s.archivedAtMs === undefined) store[s.key] = { sessionId: s.sessionId, updatedAt: s.updatedAt ?? s.createdMs, systemSent: true };
  }
  writeFileSync(join(dir, "sessions.json"), JSON.stringify(store, null, 2));
  return dir;
}
