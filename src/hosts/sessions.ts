// Sense: the host adapters in one list, and the one call a pass makes to read its gateway's sessions.
import type { Snapshot } from "../proc/snapshot.js";
import type { GatewayView, HostAdapter, SessionSensing } from "./adapter.js";
import { openclawAdapter } from "./openclaw/sessions.js";

/** Hosts whose sessions can be read, first match wins. */
export const ADAPTERS: readonly HostAdapter[] = [openclawAdapter];

/**
 * The sessions of the gateway's host, or null when no adapter knows the gateway (then nothing changes).
 * Only sessions that may hold an instance started at or after `sinceMs` in their first turn are read.
 */
export async function senseSessions(view: GatewayView, snapshot: Snapshot, sinceMs: number): Promise<SessionSensing | null> {
  const adapter = ADAPTERS.find((a) => a.detects(view));
  if (!adapter) return null;
  try {
    return await adapter.readSessions(view, sinceMs, snapshot.takenAtMs);
  } catch (err) {
    // An adapter never throws by contract; if one does, the pass goes on as without it.
    return { store: null, warning: `sessions (${adapter.name}): ${err instanceof Error ? err.message : String(err)}; every instance is unattributed` };
  }
}
