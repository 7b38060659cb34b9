// OpenClaw's session keys: what a key's shape says of its session. Host knowledge, sensed here; the
// planner sees only the KeyClass each HostSession carries.
import type { KeyClass } from "../adapter.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What a session key says (openclaw 2026.4.9 and 2026.9.6 make them so):
 * - `agent:<a>:main`: the main session (kept across turns; a reset gives it a new sessionId).
 * - `agent:<a>:hook:<...>`: /hooks/agent runs, always `sessionTarget: "isolated"` (forceNew: a new sessionId every run).
 * - `...:heartbeat`: isolated heartbeats (`heartbeat.isolatedSession`), forceNew every run.
 * - `agent:<a>:openai:<uuid>` / `openresponses:<uuid>`: a stateless /v1/chat/completions or /v1/responses
 *   call without `user` (resolveSessionKey: `${prefix}:${randomUUID()}`); nothing can address it again.
 *   With `user` the key is `openai-user:<user>`, a stable session like any other.
 * - `agent:<a>:cron:<job>[:run:<id>]`: cron runs. Isolated jobs get a new sessionId per run, but a job with
 *   `sessionTarget: "current"` resumes the same one, and the key does not say which: a cron session counts
 *   as ended only once replaced.
 * - `agent:<a>:subagent:<...>`: spawned sub-agents (can be messaged again): live.
 */
export function classifyKey(key: string | null): KeyClass {
  if (key === null) return { kind: "unknown", isolated: false };
  const m = /^agent:[^:]+:(.*)$/i.exec(key);
  const rest = (m ? (m[1] as string) : key).toLowerCase();
  if (rest === "main" || rest === "global") return { kind: "main", isolated: false };
  if (rest.startsWith("hook:")) return { kind: "hook", isolated: true };
  if (rest === "heartbeat" || rest.endsWith(":heartbeat")) return { kind: "heartbeat", isolated: true };
  const stateless = /^(openai|openresponses):(.+)$/.exec(rest);
  if (stateless && UUID.test(stateless[2] as string)) return { kind: "stateless-chat", isolated: true };
  if (rest.startsWith("cron:")) return { kind: "cron", isolated: false };
  if (rest.startsWith("subagent:")) return { kind: "subagent", isolated: false };
  return { kind: "other", isolated: false };
}

/** A 2026.9.6 window that names a /hooks run is one, whatever its key says (it keys them `cron:<uuid>`). */
export const HOOK_RUN: KeyClass = { kind: "hook", isolated: true };
