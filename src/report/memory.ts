// Report: the memory figures of a pass in words, shared by the terminal report and the one-line log.
import type { PassResult } from "../pass.js";
import { formatBytes } from "./events.js";

/** "+98.1 MB" / "-3.2 MB". */
function signedBytes(bytes: number): string {
  return `${bytes < 0 ? "-" : "+"}${formatBytes(Math.abs(bytes))}`;
}

/**
 * What a reap frees, private first: "112.4 MB freed (private), 290.0 MB RSS". RSS counts every shared
 * page (the node binary, libraries) once per process, so it overstates what an exit gives back.
 */
export function freedText(r: PassResult): string {
  const s = r.summary;
  const verb = r.dryRun ? "reclaimable" : "freed";
  if (s.privateReclaimedBytes === undefined) return `${formatBytes(s.rssReclaimedBytes)} RSS ${r.dryRun ? "reclaimable" : "reclaimed"}`;
  const unknown = s.privateUnknown ? `; ${s.privateUnknown} instance${s.privateUnknown === 1 ? "" : "s"} unknown` : "";
  return `${formatBytes(s.privateReclaimedBytes)} ${verb} (private${unknown}), ${formatBytes(s.rssReclaimedBytes)} RSS`;
}

/** The host's MemAvailable change over a real pass, labelled as the host's; null when not measured. */
export function hostChangeText(r: PassResult): string | null {
  const h = r.hostMemory;
  if (!h || h.availableBeforeBytes === null || h.availableAfterBytes === null) return null;
  return `host MemAvailable ${signedBytes(h.availableAfterBytes - h.availableBeforeBytes)} over the pass (the host's change, not only ours)`;
}

/** One instance's private figure for the report: "private 37.1 MB", or "private unknown". */
export function instancePrivateText(r: PassResult, rootPid: number): string | null {
  const m = r.memory?.get(rootPid);
  if (!m) return null;
  return m.privateBytes === null ? "private unknown" : `private ${formatBytes(m.privateBytes)}`;
}
