// Decide (pure): which processes outside the gateway's subtree are still the gateway's (escaped orphans),
// by evidence, and whether anyone can still reach them. Facts come from src/proc/escaped.ts.
import type { EscapedFacts, Holder, StdioEnd } from "../proc/escaped.js";
import type { ProcInfo, Snapshot } from "../proc/snapshot.js";

/**
 * Why an escaped process is the gateway's:
 * - "stdio-peer": the gateway holds the other end of its stdin or stdout (pipe, or unix socketpair peer);
 * - "cgroup": it lives in the gateway's own, dedicated service cgroup;
 * - "env": it carries an --orphan-env KEY=VALUE marker.
 */
export type OrphanEvidence = "stdio-peer" | "cgroup" | "env";

/** Who holds the other ends of its stdio: the gateway, a process of the gateway's subtree, nobody, or unknown. */
export type OrphanReach = "gateway" | "subtree" | "nobody" | "unknown";

export interface OrphanAttribution {
  evidence: OrphanEvidence[];
  reach: OrphanReach;
  /** The evidence in words, for the report. */
  detail: string;
}

/** An escaped root with its descendants (root first, depth-first), attributed or not. */
export interface OrphanCandidate {
  root: ProcInfo;
  members: { proc: ProcInfo; depth: number }[];
  /** Null when nothing ties it to this gateway, or when it is another process's (see `why`). */
  attribution: OrphanAttribution | null;
  /** Why it was not attributed. */
  why: string;
}

/**
 * A cgroup that holds one service only: a systemd `*.service` unit (system or user), never the root
 * cgroup, a login session or scope (`session-2.scope`, where a user's every process lives), or the
 * user manager itself (`user@1000.service`).
 */
export function isDedicatedServiceCgroup(path: string | null): boolean {
  if (path === null || path === "/" || path === "") return false;
  const last = path.replace(/\/$/, "").split("/").pop() ?? "";
  return last.endsWith(".service") && !/^user@\d+\.service$/.test(last);
}

type EndReach = { holders: Holder[] } | "nobody" | "unknown" | "none";

/** Who holds the other end of one stdio end, leaving out the orphan's own processes. */
function otherEnd(e: StdioEnd, facts: EscapedFacts, own: ReadonlySet<number>): EndReach {
  if (e.kind === "other" || e.inode === null) return "none"; // /dev/null, a tty, a file: nobody talks through it
  let key: string;
  if (e.kind === "socket") {
    const peer = facts.socketPeers?.get(e.inode);
    if (peer === undefined) return "unknown";
    if (peer === 0) return "nobody"; // the peer was closed: the socket stays only for this side
    key = `socket:${peer}`;
  } else {
    key = `pipe:${e.inode}`;
  }
  // A pipe's other end is the other mode; a holder of the same end (an inherited copy) is no peer.
  const holders = (facts.holders.get(key) ?? []).filter(
    (h) => !own.has(h.pid) && !(e.kind === "pipe" && h.mode !== null && e.mode !== null && h.mode === e.mode && h.mode !== "rw"),
  );
  if (holders.length > 0) return { holders };
  return facts.holdersComplete ? "nobody" : "unknown";
}

function membersOf(facts: EscapedFacts, root: ProcInfo): OrphanCandidate["members"] {
  const out: OrphanCandidate["members"] = [];
  const walk = (p: ProcInfo, depth: number): void => {
    out.push({ proc: p, depth });
    for (const kid of facts.children.get(p.pid) ?? []) {
      const c = facts.procs.get(kid);
      if (c) walk(c, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

/** Weighs the evidence for every escaped root the snapshot found. */
export function attributeOrphans(snapshot: Snapshot, markers: readonly (readonly [string, string])[]): OrphanCandidate[] {
  const facts = snapshot.escaped;
  if (!facts) return [];
  const g = snapshot.gateway;
  const dedicated = isDedicatedServiceCgroup(facts.gatewayCgroup);
  const out: OrphanCandidate[] = [];
  for (const rootPid of facts.roots) {
    const root = facts.procs.get(rootPid);
    if (!root) continue;
    const members = membersOf(facts, root);
    const own = new Set(members.map((m) => m.proc.pid));
    const candidate: OrphanCandidate = { root, members, attribution: null, why: "" };
    out.push(candidate);
    if (root.uid === null || root.uid !== g.uid) {
      candidate.why = "another user's process";
      continue;
    }

    const peerLines: string[] = [];
    let reachGateway = false;
    let reachSubtree = false;
    let unknown = false;
    let foreign: number | null = null;
    for (const m of members) {
      const ends = facts.stdio.get(m.proc.pid);
      if (ends === null || ends === undefined) {
        unknown = true;
        continue;
      }
      for (const e of ends) {
        const r = otherEnd(e, facts, own);
        if (r === "unknown") unknown = true;
        if (typeof r !== "object") continue;
        for (const h of r.holders) {
          if (h.pid === g.pid) {
            // For a pipe the modes must be known to tell the gateway's end from a shared copy of ours.
            if (e.kind === "socket" || (h.mode !== null && e.mode !== null)) {
              reachGateway = true;
              peerLines.push(`fd ${e.fd} of ${m.proc.pid} (${e.kind}:[${e.inode}]) has its other end in the gateway`);
            } else unknown = true;
          } else if (snapshot.procs.has(h.pid)) reachSubtree = true;
          else foreign ??= h.pid;
        }
      }
    }
    if (foreign !== null) {
      // Someone else talks to it: another gateway's server, however much it looks like ours.
      candidate.why = `its stdio peer is held by pid ${foreign}, not by this gateway`;
      continue;
    }

    const evidence: OrphanEvidence[] = [];
    const detail: string[] = [];
    if (reachGateway) {
      evidence.push("stdio-peer");
      detail.push(peerLines[0] as string);
    }
    if (dedicated && members.some((m) => facts.cgroups.get(m.proc.pid) === facts.gatewayCgroup)) {
      evidence.push("cgroup");
      detail.push(`in the gateway's service cgroup ${facts.gatewayCgroup}`);
    }
    const marker = markers.find(([k, v]) => members.some((m) => m.proc.environ?.get(k) === v));
    if (marker) {
      evidence.push("env");
      detail.push(`carries ${marker[0]}=${marker[1]}`);
    }
    if (evidence.length === 0) {
      candidate.why = "nothing ties it to this gateway (no stdio peer in it, no shared service cgroup, no --orphan-env marker)";
      continue;
    }
    const reach: OrphanReach = reachGateway ? "gateway" : reachSubtree ? "subtree" : unknown ? "unknown" : "nobody";
    candidate.attribution = { evidence, reach, detail: detail.join("; ") };
  }
  return out;
}
