// Decide (pure): which processes outside the gateway's subtree are still the gateway's (escaped orphans),
// by evidence, and whether anyone can still reach them. Facts come from src/proc/escaped.ts.
import type { EscapedFacts, Holder, StdioEnd } from "../proc/escaped.js";
import type { ProcInfo, Snapshot } from "../proc/snapshot.js";
import { preorder } from "./tree.js";

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

/** Whether a stdio end is a pipe or a socket: the only ends a stdio client talks through. */
function isChannel(e: StdioEnd): boolean {
  return e.kind !== "other" && e.inode !== null;
}

/**
 * Weighs the evidence for every escaped root the snapshot found. Two rules keep a process someone
 * started on purpose beside the gateway (an HTTP/SSE MCP server `start.sh` runs with `>log </dev/null &`
 * in the same service cgroup, a supervisor that sets a marker on its child) from being taken for one
 * of its escaped servers:
 * - the root's own stdout (fd 1) must be a pipe or socket: one whose stdout is a file, a tty or /dev/null
 *   is no stdio server, whatever its stdin, cgroup or environment say, and is left alone;
 * - the evidence must hold for the root itself: its own stdio peer, its own cgroup, its own marker.
 */
export function attributeOrphans(snapshot: Snapshot, markers: readonly (readonly [string, string])[]): OrphanCandidate[] {
  const facts = snapshot.escaped;
  if (!facts) return [];
  const g = snapshot.gateway;
  const dedicated = isDedicatedServiceCgroup(facts.gatewayCgroup);
  const inCgroup = (p: ProcInfo): boolean => dedicated && facts.cgroups.get(p.pid) === facts.gatewayCgroup;
  const markerOf = (p: ProcInfo): readonly [string, string] | undefined => markers.find(([k, v]) => p.environ?.get(k) === v);
  const out: OrphanCandidate[] = [];
  for (const rootPid of facts.roots) {
    const root = facts.procs.get(rootPid);
    if (!root) continue;
    const members = preorder(root, facts.children, facts.procs);
    const own = new Set(members.map((m) => m.proc.pid));
    const candidate: OrphanCandidate = { root, members, attribution: null, why: "" };
    out.push(candidate);
    if (root.uid === null || root.uid !== g.uid) {
      candidate.why = "another user's process";
      continue;
    }
    const rootEnds = facts.stdio.get(root.pid);
    if (rootEnds === null || rootEnds === undefined) {
      candidate.why = "its fds could not be read: cannot tell it is a stdio server";
      continue;
    }
    // A stdio server answers on its stdout: without a pipe or socket there it is no stdio server,
    // whatever its stdin is (a secret piped in, a heredoc), e.g. an HTTP server logging to a file.
    const stdout = rootEnds.find((e) => e.fd === 1);
    if (stdout === undefined || !isChannel(stdout)) {
      candidate.why = "its stdout is not a pipe or socket: not a stdio server";
      continue;
    }

    const peerLines: string[] = [];
    let rootPeer = false; // the root's own fd 0 or 1 has its other end in the gateway
    let rootChannels = 0; // the root's own fd 0 and 1 that are a pipe or socket
    let rootGone = 0; // of those, the ones whose other end is gone
    let peerBelow: number | null = null;
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
      const isRoot = m.proc.pid === root.pid;
      for (const e of ends) {
        const r = otherEnd(e, facts, own);
        if (r === "unknown") unknown = true;
        if (isRoot && isChannel(e)) rootChannels++;
        if (r === "nobody" && isRoot) rootGone++;
        if (typeof r !== "object") continue;
        for (const h of r.holders) {
          if (h.pid === g.pid) {
            // For a pipe the modes must be known to tell the gateway's end from a shared copy of ours.
            if (e.kind === "socket" || (h.mode !== null && e.mode !== null)) {
              reachGateway = true;
              if (isRoot) {
                rootPeer = true;
                peerLines.push(`fd ${e.fd} of ${m.proc.pid} (${e.kind}:[${e.inode}]) has its other end in the gateway`);
              } else peerBelow ??= m.proc.pid;
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
    if (rootPeer) {
      evidence.push("stdio-peer");
      detail.push(peerLines[0] as string);
    }
    if (inCgroup(root)) {
      evidence.push("cgroup");
      detail.push(`in the gateway's service cgroup ${facts.gatewayCgroup}`);
    }
    const marker = markerOf(root);
    if (marker) {
      evidence.push("env");
      detail.push(`carries ${marker[0]}=${marker[1]}`);
    }
    if (evidence.length === 0) {
      // Evidence below a root without any is not cut down to that descendant's subtree: the descendant's
      // parent is alive, so it did not escape; it was started on purpose by a process nothing ties to the
      // gateway (`bash -c "MARK=1 node mcp-x"`), which would only restart it or fail. Leaving the whole
      // subtree alone can at worst leak a server; cutting it down can kill one someone runs on purpose.
      const below = peerBelow ?? members.find((m) => m.proc.pid !== root.pid && (inCgroup(m.proc) || markerOf(m.proc)))?.proc.pid;
      candidate.why =
        below !== undefined
          ? `nothing ties its root to this gateway; pid ${below} below it is tied, but its parent is alive, so it did not escape`
          : "nothing ties it to this gateway (no stdio peer in it, no shared service cgroup, no --orphan-env marker)";
      continue;
    }
    // "nobody" must be proven: every one of the root's own stdio channels lost its other end, and no end
    // of the subtree is held by anyone or unknown (every fd readable, every socket peer known).
    const nobody = rootChannels > 0 && rootGone === rootChannels && !unknown && facts.holdersComplete;
    const reach: OrphanReach = reachGateway ? "gateway" : reachSubtree ? "subtree" : nobody ? "nobody" : "unknown";
    candidate.attribution = { evidence, reach, detail: detail.join("; ") };
  }
  return out;
}

/** What an end that is no pipe or socket is, in words. */
function describeEnd(e: StdioEnd | undefined, name: string): string {
  if (e === undefined) return `no ${name}`;
  const t = e.target ?? "";
  if (t === "/dev/null") return `${name} is /dev/null`;
  if (/^\/dev\/(pts\/\d+|tty\w*|console)$/.test(t)) return `${name} is a terminal (${t})`;
  return t === "" ? `${name} is no pipe or socket` : `${name} is a file or device (${t})`;
}

/**
 * Host-wide (--orphans with no gateway): whether an orphan under pid 1 or a subreaper is a dead host's
 * stdio server nobody can ever talk to again. Yes only when its own stdin and stdout are both pipes or
 * sockets whose other ends are gone everywhere (reach "nobody", as otherEnd proves it), and no end of
 * its subtree is held by a live process outside it or unknown. Otherwise the reason it is left alone.
 */
export function deadOrphan(root: ProcInfo, members: readonly { proc: ProcInfo }[], facts: EscapedFacts): { dead: true } | { dead: false; why: string } {
  const rootEnds = facts.stdio.get(root.pid);
  if (rootEnds === null || rootEnds === undefined) return { dead: false, why: "its fds could not be read: cannot tell who holds its stdio" };
  const stdin = rootEnds.find((e) => e.fd === 0);
  const stdout = rootEnds.find((e) => e.fd === 1);
  if (stdin === undefined || stdout === undefined || !isChannel(stdin) || !isChannel(stdout)) {
    const what = [stdin && isChannel(stdin) ? null : describeEnd(stdin, "stdin"), stdout && isChannel(stdout) ? null : describeEnd(stdout, "stdout")].filter(Boolean).join(", ");
    return { dead: false, why: `${what}: not a stdio server a dead host left (an HTTP/SSE server a launcher started, or a service)` };
  }
  const own = new Set(members.map((m) => m.proc.pid));
  for (const m of members) {
    const ends = facts.stdio.get(m.proc.pid);
    if (ends === null || ends === undefined) return { dead: false, why: `the fds of ${m.proc.pid} in its subtree could not be read: unreachability unprovable` };
    for (const e of ends) {
      const r = otherEnd(e, facts, own);
      if (typeof r === "object") {
        const h = r.holders[0] as Holder;
        return { dead: false, why: `the other end of ${e.kind}:[${e.inode}] (fd ${e.fd} of ${m.proc.pid}) is held by live pid ${h.pid}` };
      }
      if (r === "unknown") {
        const gap = e.kind === "socket" && facts.socketPeers === null ? "socket peers unknown (ss unavailable)" : !facts.holdersComplete ? "some processes' fds could not be read" : "its socket peer is unknown";
        return { dead: false, why: `who holds the other end of fd ${e.fd} of ${m.proc.pid} is unknown: ${gap}` };
      }
      if (m.proc.pid === root.pid && (e.fd === 0 || e.fd === 1) && r !== "nobody") return { dead: false, why: `fd ${e.fd} still has another end` };
    }
  }
  return { dead: true };
}
