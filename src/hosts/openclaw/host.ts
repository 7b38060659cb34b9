// The OpenClaw part of a pass after the reap: the TTL finding, the runtime-limit count, and with
// --release-sessions the release calls (decided in release.ts, sent through rpc.ts). Failures are
// reported per session and never stop the pass.
import type { Plan, PlannedInstance } from "../../decide/planner.js";
import type { Snapshot } from "../../proc/snapshot.js";
import type { GatewayView, SessionStore } from "../adapter.js";
import { looksLikeOpenclaw } from "./config.js";
import { readGatewayFacts, type GatewayFacts } from "./gateway.js";
import { decideReleases, RELEASE_METHOD, runtimeUse, ttlFinding, type RuntimeUse, type TtlFinding } from "./release.js";
import { callGateway, type CallOutcome } from "./rpc.js";

/** One release asked of the gateway (or, in a dry run, that would be). */
export interface ReleaseResult {
  key: string;
  sessionId: string;
  rootPids: number[];
  method: string;
  outcome: "released" | "would-release" | "failed";
  durationMs: number;
  /** Why it failed (the gateway's error code and message, a timeout, a lost connection). */
  error?: string;
}

export interface OpenclawReport {
  /** mcp.sessionIdleTtlMs on a gateway that has it (2026.9+); null otherwise or when its config was unreadable. */
  ttl: TtlFinding | null;
  /** Runtime slots held against the package's limit; null without a runtime manager or a session store. */
  runtimes: (RuntimeUse & { source: string }) | null;
  /** With --release-sessions: what was asked and how it went; null without it. */
  releases: ReleaseResult[] | null;
  /** Ended sessions of reaped instances left unreleased, and why. */
  releaseSkipped: { key: string | null; sessionId: string | null; why: string }[];
}

export interface OpenclawPassInput {
  view: GatewayView;
  snapshot: Snapshot;
  plan: Plan;
  instances: readonly PlannedInstance[];
  /** The adapter's store this pass; null when there is no adapter or it could not read the store. */
  store: SessionStore | null;
  releaseSessions: boolean;
  dryRun: boolean;
  /** Per call and for the connect. */
  timeoutMs: number;
  clientVersion: string;
  /** Tests: another way to send the calls. */
  call?: typeof callGateway;
  /** Tests: facts instead of reading them. */
  facts?: GatewayFacts;
  /** Read the gateway's config (false with --no-config). Default true. */
  readConfig?: boolean;
}

/** Bound on the connect and on each release call: a release measured 370-610 ms on a loaded 2-core host. */
export const RELEASE_TIMEOUT_MS = 10_000;

/** The OpenClaw findings and releases of one pass; null when the gateway is not OpenClaw. Never throws. */
export async function openclawAfterReap(i: OpenclawPassInput, warnings: string[]): Promise<OpenclawReport | null> {
  if (!looksLikeOpenclaw(i.view.environ, i.view.comm, i.view.argv)) {
    if (i.releaseSessions) warnings.push("--release-sessions: the gateway is not OpenClaw, whose sessions are the only ones that can be released; nothing released");
    return null;
  }
  const facts = i.facts ?? readGatewayFacts(i.view, i.snapshot, i.readConfig ?? true);
  const report: OpenclawReport = { ttl: null, runtimes: null, releases: null, releaseSkipped: [] };
  if (facts.runtimes !== null && facts.configError === null) report.ttl = ttlFinding(facts.idleTtlMs, facts.configPath);
  const failedIds = new Set<string>();
  if (i.releaseSessions) {
    if (i.store === null) warnings.push("--release-sessions: no session store was read this pass (no adapter, --no-sessions, or an unreadable store), so no session is known to have ended; nothing released");
    else if (!("value" in facts.token)) warnings.push(`--release-sessions: cannot authenticate to the gateway (${facts.token.why}); nothing released`);
    else {
      const decision = decideReleases(i.instances, i.store, i.snapshot.takenAtMs);
      report.releaseSkipped = decision.skipped;
      report.releases = [];
      if (i.dryRun) {
        for (const t of decision.release) report.releases.push({ key: t.key, sessionId: t.sessionId, rootPids: t.rootPids, method: RELEASE_METHOD, outcome: "would-release", durationMs: 0 });
      } else if (decision.release.length > 0) {
        const call = i.call ?? callGateway;
        let outcomes: CallOutcome[];
        try {
          outcomes = await call(
            { url: `ws://127.0.0.1:${facts.port}`, token: facts.token.value, timeoutMs: i.timeoutMs, clientVersion: i.clientVersion },
            decision.release.map((t) => ({ method: RELEASE_METHOD, params: t.params })),
          );
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          outcomes = decision.release.map(() => ({ ok: false, error: Object.assign(new Error(message), { code: "TRANSPORT" }) as never, durationMs: 0 }));
        }
        decision.release.forEach((t, n) => {
          const o = outcomes[n] ?? { ok: false, durationMs: 0 };
          const base = { key: t.key, sessionId: t.sessionId, rootPids: t.rootPids, method: RELEASE_METHOD, durationMs: o.durationMs };
          if (o.ok) report.releases?.push({ ...base, outcome: "released" });
          else {
            failedIds.add(t.sessionId);
            report.releases?.push({ ...base, outcome: "failed", error: o.error ? `${o.error.code}: ${o.error.message}` : "no answer" });
          }
        });
      }
    }
  }
  if (facts.runtimes !== null && i.store !== null) {
    // A dry run releases nothing, so it counts as without --release-sessions.
    const freed = { releasing: report.releases !== null && !i.dryRun, failed: failedIds, idleTtlMs: facts.configError === null ? facts.idleTtlMs : 0 };
    report.runtimes = { ...runtimeUse(i.store, facts.runtimes.limit, freed, i.snapshot.takenAtMs), source: facts.runtimes.source };
  }
  return report;
}
