// Sense (opt-in, --orphans): processes that may have escaped the gateway's subtree, with what ties them
// to it. Reads every process on the host, so it runs only when asked. Deciding who is the gateway's
// is left to src/decide/orphans.ts: this only gathers facts.
import { parseCgroup, parseFdinfoMode, parseFdTarget, parseSsUnix, type FdKind, type FdMode } from "./links.js";
import type { Stat } from "./parse.js";
import type { HostScan } from "./host.js";
import { listDir, readLink, readStatOrNull, readText } from "./read.js";
import type { ProcInfo } from "./procinfo.js";
import { childProcess } from "../lazy.js";

export interface EscapedOptions {
  /** Output of `ss -xa`, or null when it cannot be had. Default: runs iproute2's ss (bounded to 5 s). */
  ssUnix?: () => string | null;
}

/** fd 0 or 1 of a process: what its other end is tells who can still talk to it. */
export interface StdioEnd {
  fd: number;
  kind: FdKind;
  inode: number | null;
  /** Access mode from fdinfo: tells a pipe's read end from its write end. Null when unreadable. */
  mode: FdMode | null;
  /** The link's text (`/dev/null`, `/dev/pts/3`, a file): says what an end that is no pipe or socket is. */
  target?: string;
}

export interface Holder {
  pid: number;
  mode: FdMode | null;
}

export interface EscapedFacts {
  /** The gateway's ancestors, nearest first: where a subreaper that adopts its orphans sits. */
  gatewayAncestors: number[];
  gatewayCgroup: string | null;
  /** Candidate roots (parent is pid 1 or a gateway ancestor named "systemd", same uid as the gateway) and their descendants. */
  procs: Map<number, ProcInfo>;
  children: Map<number, number[]>;
  roots: number[];
  /** fd 0 and 1 per candidate process; null when its fd directory could not be read. */
  stdio: Map<number, StdioEnd[] | null>;
  cgroups: Map<number, string | null>;
  /** Unix socket inode -> peer inode (0: peer closed), from ss; null when ss could not be run. */
  socketPeers: Map<number, number> | null;
  /** `pipe:N` / `socket:N` -> every process holding it: only the inodes the candidates' stdio lead to. */
  holders: Map<string, Holder[]>;
  /** False when some live process's fds could not be read: "nobody holds the other end" is then unprovable. */
  holdersComplete: boolean;
  /** Processes looked at (the whole host). */
  scanned: number;
}

/** `ss -xa` through iproute2, or null when it is missing, fails or hangs. */
export function runSsUnix(): string | null {
  const r = childProcess().spawnSync("ss", ["-xa"], { encoding: "utf8", timeout: 5000, maxBuffer: 64 * 1024 * 1024 });
  return r.status === 0 && typeof r.stdout === "string" ? r.stdout : null;
}

/**
 * ss's listing as peer data, or null (peers unknown) when it cannot be that. A wrong listing must never
 * read as "peer closed", which would make a reachable server look unreachable:
 * - no socket in it has a peer: ss fell back to /proc/net/unix, which has no peer column (every peer 0;
 *   seen under systemd 252 with RestrictAddressFamilies=AF_UNIX, where ss cannot open its netlink socket).
 *   A real listing always has one: ss's own stdout is a socketpair with us (libuv's child stdio);
 * - none of the sockets asked about is in it: ss sees another network namespace (PrivateNetwork=yes lists
 *   only the unit's own sockets, and exits 0).
 */
export function peerData(peers: Map<number, number>, asked: readonly number[]): Map<number, number> | null {
  if (![...peers.values()].some((peer) => peer > 0)) return null;
  if (asked.length > 0 && !asked.some((inode) => peers.has(inode))) return null;
  return peers;
}

function modeOf(procRoot: string, pid: number, fd: string): FdMode | null {
  const text = readText(`${procRoot}/${pid}/fdinfo/${fd}`);
  return text === null ? null : parseFdinfoMode(text);
}

function readStdio(procRoot: string, pid: number): StdioEnd[] | null {
  const fds = listDir(`${procRoot}/${pid}/fd`);
  if (fds === null) return null;
  const ends: StdioEnd[] = [];
  for (const fd of [0, 1]) {
    if (!fds.includes(String(fd))) continue;
    const target = readLink(`${procRoot}/${pid}/fd/${fd}`);
    if (target === null) continue;
    const { kind, inode } = parseFdTarget(target);
    ends.push({ fd, kind, inode, mode: kind === "other" ? null : modeOf(procRoot, pid, String(fd)), ...(kind === "other" ? { target } : {}) });
  }
  return ends;
}

/**
 * Gathers the candidates: every live process outside the subtree whose parent is pid 1 or a gateway
 * ancestor named "systemd" (where Linux reparents an orphan: init, or the nearest subreaper above the
 * dead parent, on hosts systemd --user), with the gateway's uid, and their descendants; then their stdio ends,
 * cgroups, socket peers, and who holds the other ends.
 */
export function senseEscaped(
  procRoot: string,
  tree: { gateway: ProcInfo; procs: ReadonlyMap<number, ProcInfo>; protectedPids: ReadonlySet<number>; cut?: ReadonlySet<number> | undefined },
  options: EscapedOptions,
  host: HostScan,
  info: (stat: Stat) => ProcInfo | null,
): EscapedFacts {
  const g = tree.gateway;
  const gatewayAncestors: number[] = [];
  for (let pid = g.ppid, i = 0; pid > 0 && i < 4096; i++) {
    gatewayAncestors.push(pid);
    const s = readStatOrNull(procRoot, pid);
    if (s === null || s.ppid === pid) break;
    pid = s.ppid;
  }
  const { stats } = host;
  // Where an orphan lands: pid 1, or a subreaper above the gateway. The kernel does not say which
  // processes are subreapers; the one that matters on hosts (systemd --user) runs as "systemd". A live
  // ancestor of any other kind (a start script) is the parent of what it started on purpose, not a
  // landing place, so its children are never escaped candidates.
  const landing = new Set([1, ...gatewayAncestors.filter((pid) => stats.get(pid)?.comm === "systemd")]);
  const ancestors = new Set(gatewayAncestors);
  const never = (pid: number): boolean => pid <= 1 || pid === g.pid || tree.procs.has(pid) || tree.protectedPids.has(pid) || ancestors.has(pid) || tree.cut?.has(pid) === true;
  const facts = emptyFacts(gatewayAncestors, parseCgroupOf(procRoot, g.pid), stats.size);
  if (g.uid === null) return facts; // without the gateway's uid no candidate can be told to be its user's
  gather(procRoot, { landing, uid: g.uid, never }, options, host, info, facts);
  return facts;
}

function emptyFacts(gatewayAncestors: number[], gatewayCgroup: string | null, scanned: number): EscapedFacts {
  return {
    gatewayAncestors,
    gatewayCgroup,
    procs: new Map(),
    children: new Map(),
    roots: [],
    stdio: new Map(),
    cgroups: new Map(),
    socketPeers: null,
    holders: new Map(),
    holdersComplete: true,
    scanned,
  };
}

/** Where a search for orphans looks, and whose. */
interface Scope {
  /** Parents whose children are candidate roots: pid 1 and subreapers. */
  landing: ReadonlySet<number>;
  /** Only this user's processes; null: any user's (host-wide, as root). */
  uid: number | null;
  /** Never a candidate, nor walked into. */
  never: (pid: number) => boolean;
  /** Host-wide: a root is a candidate only when this says so (an MCP server by its own command line). Default: every root. */
  want?: (root: ProcInfo) => boolean;
}

/** Host-wide search (--orphans with no gateway): what it needs to know. */
export interface HostOrphanOptions extends EscapedOptions {
  protectedPids: ReadonlySet<number>;
  /** Whose orphans: the invoking user's; null (root) for any user's. */
  uid: number | null;
  /** Whether a root is an MCP server, by its own command line (--match, --mcp-config, not --ignore). */
  want: (root: ProcInfo) => boolean;
}

/**
 * Dead hosts' orphans, host-wide: children of pid 1 or of any subreaper (a process named "systemd": a
 * user manager) that are MCP servers by their own command line, with their subtrees, their stdio ends and
 * who holds the other ends. Only those candidates' fds and subtrees are read; every other process costs
 * its stat (from `host`) and, for the holder search, its fd links only when a candidate's pipe needs it.
 */
export function senseHostOrphans(procRoot: string, options: HostOrphanOptions, host: HostScan, info: (stat: Stat) => ProcInfo | null): EscapedFacts {
  const landing = new Set([1]);
  for (const [pid, stat] of host.stats) if (stat.comm === "systemd") landing.add(pid);
  const never = (pid: number): boolean => pid <= 1 || landing.has(pid) || options.protectedPids.has(pid);
  const facts = emptyFacts([], null, host.stats.size);
  gather(procRoot, { landing, uid: options.uid, never, want: options.want }, options, host, info, facts);
  return facts;
}

/** Collects the candidates of a scope with their descendants, then their stdio ends, cgroups, socket peers and the holders of the other ends. */
function gather(procRoot: string, scope: Scope, options: EscapedOptions, host: HostScan, info: (stat: Stat) => ProcInfo | null, facts: EscapedFacts): void {
  const { stats, byParent } = host;
  const add = (stat: Stat): ProcInfo | null => {
    if (scope.never(stat.pid) || stat.state === "Z" || stat.state === "X") return null;
    const p = info(stat);
    if (p === null || p.argv.length === 0 || (scope.uid !== null && p.uid !== scope.uid)) return null;
    facts.procs.set(p.pid, p);
    return p;
  };
  for (const [pid, stat] of stats) {
    if (!scope.landing.has(stat.ppid) || scope.never(pid)) continue;
    const root = add(stat);
    if (root === null) continue;
    if (scope.want && !scope.want(root)) {
      facts.procs.delete(pid);
      continue;
    }
    facts.roots.push(pid);
    const queue = [pid];
    for (let i = 0; i < queue.length; i++) {
      const parent = queue[i] as number;
      const kids: number[] = [];
      for (const kid of byParent.get(parent) ?? []) {
        const ks = stats.get(kid);
        if (ks && !facts.procs.has(kid) && add(ks) !== null) {
          kids.push(kid);
          queue.push(kid);
        }
      }
      facts.children.set(parent, kids);
    }
  }
  for (const pid of facts.procs.keys()) {
    facts.stdio.set(pid, readStdio(procRoot, pid));
    facts.cgroups.set(pid, parseCgroupOf(procRoot, pid));
  }

  const ends = [...facts.stdio.values()].flatMap((e) => e ?? []);
  const sockets = ends.filter((e) => e.kind === "socket" && e.inode !== null).map((e) => e.inode as number);
  if (sockets.length > 0) {
    const text = (options.ssUnix ?? runSsUnix)();
    facts.socketPeers = text === null ? null : peerData(parseSsUnix(text), sockets);
  }
  const wanted = new Set<string>();
  for (const e of ends) {
    if (e.kind === "pipe") wanted.add(`pipe:${e.inode}`);
    const peer = e.kind === "socket" && e.inode !== null ? facts.socketPeers?.get(e.inode) : undefined;
    if (peer !== undefined && peer > 0) wanted.add(`socket:${peer}`);
  }
  if (wanted.size === 0) return;
  for (const [pid, stat] of stats) {
    const fds = listDir(`${procRoot}/${pid}/fd`);
    if (fds === null) {
      // A zombie, or a process that exited since the scan, holds nothing; a live process we cannot
      // read might hold the other end.
      const now = readStatOrNull(procRoot, pid);
      if (now !== null && now.startTicks === stat.startTicks && now.state !== "Z" && now.state !== "X") facts.holdersComplete = false;
      continue;
    }
    for (const fd of fds) {
      const target = readLink(`${procRoot}/${pid}/fd/${fd}`);
      if (target === null) continue;
      const { kind, inode } = parseFdTarget(target);
      const key = `${kind}:${inode}`;
      if (kind === "other" || !wanted.has(key)) continue;
      const list = facts.holders.get(key) ?? [];
      list.push({ pid, mode: kind === "pipe" ? modeOf(procRoot, pid, fd) : null });
      facts.holders.set(key, list);
    }
  }
}

function parseCgroupOf(procRoot: string, pid: number): string | null {
  const text = readText(`${procRoot}/${pid}/cgroup`);
  return text === null ? null : parseCgroup(text);
}
