// Decide (pure): which ended OpenClaw sessions to ask the gateway to release (--release-sessions), what
// its idle-TTL setting means, and how near it is to its live MCP runtime limit. No I/O here.
import type { PlannedInstance } from "../../decide/planner.js";
import { livenessOf, shortKey, WINDOW_MARGIN_MS } from "../../decide/sessions.js";
import type { HostSession, SessionStore } from "../adapter.js";

/**
 * The call that releases a session's MCP runtime slot, the gentlest found on openclaw 2026.9.6 (measured:
 * docs/release.md): `sessions.abort` with `clearQueued` retires the key's current runtime when no run is in
 * progress, and leaves the session record and its transcript as they were. sessions.reset would cost the
 * conversation, sessions.delete the record.
 */
export const RELEASE_METHOD = "sessions.abort";

export interface ReleaseTarget {
  key: string;
  sessionId: string;
  /** The reaped instances (root pids) that belonged to it. */
  rootPids: number[];
  params: { key: string; clearQueued: true };
}

export interface ReleaseDecision {
  release: ReleaseTarget[];
  /** Ended sessions of reaped instances that are not released, and why (for the report). */
  skipped: { key: string | null; sessionId: string | null; why: string }[];
}

/**
 * Sessions whose first-turn window holds the start of an instance the plan reaps without knowing its
 * session (two windows hold it, as when chat calls follow each other closely): any of them may own it.
 * Each is still released only on the adapter's own verdict that it ended (livenessOf), like the others.
 */
function windowHolders(inst: PlannedInstance, store: SessionStore): HostSession[] {
  const t = inst.startedAtMs;
  return store.sessions.filter((s) => s.firstTurn !== null && t >= s.firstTurn.startMs - WINDOW_MARGIN_MS && t <= (s.firstTurn.endMs ?? Infinity) + WINDOW_MARGIN_MS);
}

/**
 * Which sessions to release: those of instances this plan reaps because the adapter judged their session
 * ended (or, for a reaped instance it could not attribute, the ended sessions whose first turn holds its
 * start), and only when releasing cannot touch a live one. sessions.abort acts on whatever session its key
 * holds now, so only a key that can never run again qualifies: a one-shot key (a stateless chat call, an
 * isolated hook or heartbeat run) whose current sessionId is the ended one and whose turn finished. A reset
 * or replaced session is never released through its key (the key's new session is live; the host
 * retires the old runtime itself on reset). Without a store (no adapter), nothing.
 */
export function decideReleases(instances: readonly PlannedInstance[], store: SessionStore | null, nowMs = Date.now()): ReleaseDecision {
  const out: ReleaseDecision = { release: [], skipped: [] };
  if (store === null) return out;
  const byId = new Map<string, HostSession>(store.sessions.map((s) => [s.sessionId, s]));
  const byKey = new Map<string, ReleaseTarget>();
  type Claim = { inst: PlannedInstance; a: { key: string | null; sessionId: string | null } };
  const attributions = instances.flatMap((inst): Claim[] => {
    if (inst.action !== "reap") return [];
    const a = inst.session;
    const either = a !== null && a !== undefined && a.state === "ended" && a.key === null && a.sessionId === null;
    if (a && a.state === "ended" && inst.reasonCode === "session-ended" && !either) return [{ inst, a }];
    // Several windows hold its start (all ended: reaped as session-ended with no one key), or none
    // could be told: only the ended ones of the sessions that may own it; never a live or idle one.
    if (!a || !(a.state === "unattributed" || either)) return [];
    return windowHolders(inst, store)
      .filter((s) => livenessOf(s, nowMs, null).state === "ended")
      .map((s) => ({ inst, a: { key: s.key, sessionId: s.sessionId } }));
  });
  for (const { inst, a } of attributions) {
    const skip = (why: string) => out.skipped.push({ key: a.key, sessionId: a.sessionId, why });
    if (a.key === null || a.sessionId === null) {
      skip("its key or sessionId is not known");
      continue;
    }
    const s = byId.get(a.sessionId);
    if (!s || s.key !== a.key) {
      skip("not in the session store under that key");
      continue;
    }
    if (!s.kind.isolated) {
      skip("its key can run again (only one-shot keys are released)");
      continue;
    }
    if (s.current !== true || s.archived) {
      skip("no longer the current session of its key (the host retired its runtime when it replaced it)");
      continue;
    }
    if (s.turnFinished !== true) {
      skip("its turn is not known to have finished");
      continue;
    }
    const t = byKey.get(a.key);
    if (t) t.rootPids.push(inst.rootPid);
    else byKey.set(a.key, { key: a.key, sessionId: a.sessionId, rootPids: [inst.rootPid], params: { key: a.key, clearQueued: true } });
  }
  out.release = [...byKey.values()];
  return out;
}

/** The host's own fix for runtimes nobody uses: mcp.sessionIdleTtlMs. */
export interface TtlFinding {
  idleTtlMs: number;
  /** True when it is off (unset or 0) on a gateway that has the setting. */
  off: boolean;
  /** One line for the report. */
  text: string;
}

/** What the gateway's TTL means. Only a gateway with a runtime manager (openclaw 2026.9+) has the setting. */
export function ttlFinding(idleTtlMs: number, configPath: string | null): TtlFinding {
  if (idleTtlMs > 0) {
    return { idleTtlMs, off: false, text: `mcp.sessionIdleTtlMs is ${idleTtlMs} ms: the gateway disposes an idle session's MCP runtime itself (sweeps every 60 s)` };
  }
  const where = configPath ? ` in ${configPath}` : "";
  return {
    idleTtlMs,
    off: true,
    text: `mcp.sessionIdleTtlMs is off: the gateway keeps every session's MCP runtime (and its slot) until the session is reset or deleted; set "mcp": { "sessionIdleTtlMs": 600000 }${where} and it disposes runtimes idle for 10 minutes itself`,
  };
}

/** Warn at this share of the limit (the gateway refuses every new session's MCP runtime at the limit). */
export const RUNTIME_WARN_SHARE = 0.8;

export interface RuntimeUse {
  /** Sessions the store says still hold a runtime slot, after this pass's releases. */
  held: number;
  limit: number;
  near: boolean;
  text: string;
}

/** What else frees slots, for runtimeUse. */
export interface SlotReleasers {
  /**
   * --release-sessions is on: an ended one-shot session is counted as released (this pass or an earlier
   * one: the store cannot tell) unless its release failed this pass.
   */
  releasing: boolean;
  /** Sessions whose release failed this pass. */
  failed: ReadonlySet<string>;
  /** mcp.sessionIdleTtlMs (0: off): the gateway disposes runtimes idle longer than this (+ its 60 s sweep). */
  idleTtlMs: number;
}

/** openclaw 2026.9.6 sweeps idle runtimes every 60 s (SESSION_MCP_RUNTIME_SWEEP_INTERVAL_MS). */
const TTL_SWEEP_MS = 60_000;

/**
 * Counts what the session store says holds a live MCP runtime slot, against the package's limit: every
 * session the store read holds one unless its runtime is known to be gone: a replaced or archived
 * session, an isolated hook/heartbeat/cron run whose turn finished (openclaw disposes run-owned runtimes),
 * a session idle past the gateway's TTL, and with --release-sessions an ended one-shot session whose
 * release did not fail. A stateless chat session otherwise keeps its slot after its one turn, even when
 * its servers were reaped. The store holds the sessions that may own a process of the tree, so sessions
 * older than the oldest process are not counted: a lower bound.
 */
export function runtimeUse(store: SessionStore, limit: number, freed: SlotReleasers, nowMs: number): RuntimeUse {
  let held = 0;
  for (const s of store.sessions) {
    if (s.archived || s.current === false) continue;
    const k = s.kind;
    const ended = livenessOf(s, nowMs, null).state === "ended";
    if (k.isolated && k.kind !== "stateless-chat" && ended) continue;
    if (k.isolated && ended && freed.releasing && !freed.failed.has(s.sessionId)) continue;
    if (freed.idleTtlMs > 0 && s.lastActivityMs !== null && nowMs - s.lastActivityMs > freed.idleTtlMs + TTL_SWEEP_MS) continue;
    held++;
  }
  const near = held >= Math.ceil(limit * RUNTIME_WARN_SHARE);
  const text = near
    ? `the gateway nears its live MCP runtime limit: ${held} of ${limit} sessions in its store hold a runtime; at ${limit} every new session's tools fail until sessions are released, reset or deleted (--release-sessions, mcp.sessionIdleTtlMs)`
    : `${held} of ${limit} live MCP runtime slots held by the sessions in the store`;
  return { held, limit, near, text };
}

/** A release target in words for the report. */
export function releaseLabel(t: Pick<ReleaseTarget, "key">): string {
  return shortKey(t.key);
}
