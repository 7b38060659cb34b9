// Decide (pure): which host session an instance belongs to, and whether that session is live, ended or
// idle. The planner takes the sensed SessionStore as data and calls these; no I/O here.
import type { HostSession, SessionKind, SessionStore } from "../hosts/adapter.js";

/**
 * Slack around a first-turn window: start ticks are 10 ms, the snapshot's wall clock and /proc/uptime are
 * read a few ms apart, and the host stamps events with its own Date.now(). 500 ms covers those with room;
 * wider would make adjacent runs' windows overlap more often (then both are ambiguous, never wrong).
 */
export const WINDOW_MARGIN_MS = 500;

export type SessionState = "live" | "ended" | "idle" | "unknown";

export interface Liveness {
  state: SessionState;
  /** Since when (ended: when it ended; idle: its last activity); null when not known. */
  sinceMs: number | null;
  why: string;
}

/** Is this session live, ended or idle? `idleMs`: --session-idle (null: off). */
export function livenessOf(s: HostSession, nowMs: number, idleMs: number | null): Liveness {
  const k = s.kind;
  if (s.archived) return { state: "ended", sinceMs: s.endedAtMs, why: s.hostStatus ?? "transcript archived" };
  if (s.current === false) {
    const gone = s.hostStatus?.includes("key gone") ?? false;
    return { state: "ended", sinceMs: s.endedAtMs, why: gone ? "its key is gone from the store" : "no longer the current session of its key (reset, /new or rollover)" };
  }
  if (s.current === null) return { state: "unknown", sinceMs: null, why: "not in the store, and its transcript is not archived" };
  if (s.turnFinished === false) return { state: "live", sinceMs: null, why: "a run is in progress" };
  if (k.isolated && s.turnFinished === true) {
    const what = k.kind === "stateless-chat" ? "one-shot chat call" : `isolated ${k.kind} run`;
    return { state: "ended", sinceMs: s.endedAtMs, why: `${what}, its turn finished` };
  }
  if (idleMs !== null && s.lastActivityMs !== null && nowMs - s.lastActivityMs > idleMs) {
    return { state: "idle", sinceMs: s.lastActivityMs, why: `no turn for longer than --session-idle` };
  }
  return { state: "live", sinceMs: null, why: k.kind === "main" ? "the main session" : k.isolated ? "its turn has not finished" : "a session the host may resume" };
}

/** Which session an instance belongs to, and what that means for it. */
export interface SessionAttribution {
  /** "unattributed": no window, two windows, or a session whose state is unknown; today's rules apply. */
  state: SessionState | "unattributed";
  key: string | null;
  sessionId: string | null;
  kind: SessionKind | null;
  /** ms the instance root started after the first user message (or the window's start when not known); negative: before it. */
  offsetMs: number | null;
  sinceMs: number | null;
  /** In words, for the report: `started 0.4 s into the first turn of agent:main:hook:2e14…, ended 3m ago`. */
  evidence: string;
}

/** `agent:main:hook:2e14c3b0-...` -> `agent:main:hook:2e14…`: a uuid shows its first four characters. */
export function shortKey(key: string | null): string {
  if (key === null) return "(key not known)";
  return key.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, (u) => `${u.slice(0, 4)}…`);
}

function ago(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86_400)}d`;
}

function unattributed(evidence: string): SessionAttribution {
  return { state: "unattributed", key: null, sessionId: null, kind: null, offsetMs: null, sinceMs: null, evidence };
}

/**
 * An instance that started inside several sessions' first turns belongs to one of them, we cannot tell
 * which. Measured on the real 2026.4.9 gateway with nothing else running: a main tool turn and three hook
 * runs 4 s apart put the main session's server inside four windows, and keep-newest then reaped it (its
 * tool calls fail "Not connected" until a reset). So: if any of them may still be live, the instance is
 * kept as possibly live; if every one has ended, whichever it belongs to has ended too; otherwise (an
 * idle one among ended ones) today's rules apply.
 */
function ambiguous(holding: readonly HostSession[], o: AttributionOptions): SessionAttribution {
  const names = holding.map((s) => shortKey(s.key)).join(", ");
  const states = holding.map((s) => ({ s, live: livenessOf(s, o.nowMs, o.idleMs) }));
  const maybeLive = states.filter((x) => x.live.state === "live" || x.live.state === "unknown");
  if (maybeLive.length > 0) {
    const one = maybeLive.length === 1 ? (maybeLive[0] as (typeof maybeLive)[number]).s : null;
    return {
      state: "live",
      key: one?.key ?? null,
      sessionId: one?.sessionId ?? null,
      kind: one ? one.kind.kind : null,
      offsetMs: null,
      sinceMs: null,
      evidence: `started inside the first turns of ${holding.length} sessions (${names}), of which ${maybeLive.map((x) => shortKey(x.s.key)).join(", ")} may still be live: kept`,
    };
  }
  if (states.every((x) => x.live.state === "ended")) {
    const sinceMs = states.reduce<number | null>((m, x) => (x.live.sinceMs === null || m === null ? null : Math.max(m, x.live.sinceMs)), 0);
    const since = sinceMs === null ? "" : `, the last ended ${ago(o.nowMs - sinceMs)} ago`;
    return { state: "ended", key: null, sessionId: null, kind: null, offsetMs: null, sinceMs, evidence: `started inside the first turns of ${holding.length} sessions (${names}), all ended${since}` };
  }
  return unattributed(`started inside the first turns of ${holding.length} sessions (${names}): ambiguous`);
}

export interface AttributionOptions {
  nowMs: number;
  /** --session-idle (null: off). */
  idleMs: number | null;
  /** Default WINDOW_MARGIN_MS. */
  marginMs?: number;
}

/**
 * Attributes each instance (by its root's start) to the one session whose first-turn window holds that
 * start: from the session's first event to the end of its first turn (open while it runs), widened by the
 * margin on both sides. None, or two sessions' windows (or a window that could not be read): unattributed.
 */
export function attribute(
  instances: readonly { rootPid: number; startedAtMs: number }[],
  store: SessionStore,
  o: AttributionOptions,
): Map<number, SessionAttribution> {
  const margin = o.marginMs ?? WINDOW_MARGIN_MS;
  const out = new Map<number, SessionAttribution>();
  const windows = store.sessions.filter((s) => s.firstTurn !== null);
  for (const inst of instances) {
    const t = inst.startedAtMs;
    const holding = windows.filter((s) => {
      const w = s.firstTurn as NonNullable<HostSession["firstTurn"]>;
      return t >= w.startMs - margin && t <= (w.endMs ?? o.nowMs) + margin;
    });
    const blind = store.blind.find((b) => t >= b.fromMs - margin && t <= b.toMs + margin);
    if (blind) {
      out.set(inst.rootPid, unattributed(`started while a session whose first turn could not be read was active (${blind.why})`));
      continue;
    }
    if (holding.length === 0) {
      out.set(inst.rootPid, unattributed("started in no session's first turn"));
      continue;
    }
    if (holding.length > 1) {
      out.set(inst.rootPid, ambiguous(holding, o));
      continue;
    }
    const s = holding[0] as HostSession;
    const w = s.firstTurn as NonNullable<HostSession["firstTurn"]>;
    // Counted from the first user message when the host recorded it (2026.4.9 starts servers seconds
    // before it), else from the window's start.
    const from = w.userMs ?? w.startMs;
    const offsetMs = t - from;
    const what = w.userMs != null ? "first user message" : "first turn";
    const where = offsetMs >= 0 ? `${(offsetMs / 1000).toFixed(1)} s into` : `${(-offsetMs / 1000).toFixed(1)} s before`;
    const live = livenessOf(s, o.nowMs, o.idleMs);
    const state = live.state === "unknown" ? "unattributed" : live.state;
    const since = live.sinceMs === null ? "" : live.state === "ended" ? `, ended ${ago(o.nowMs - live.sinceMs)} ago` : live.state === "idle" ? `, last turn ${ago(o.nowMs - live.sinceMs)} ago` : "";
    const bounded = s.firstTurnEndBounded ? " (its end bounded by the session's last record)" : "";
    out.set(inst.rootPid, {
      state,
      key: s.key,
      sessionId: s.sessionId,
      kind: s.kind.kind,
      offsetMs,
      sinceMs: live.sinceMs,
      evidence: `started ${where} the ${offsetMs >= 0 ? "first turn" : what}${bounded} of ${shortKey(s.key)}${since}: ${live.why}`,
    });
  }
  return out;
}
