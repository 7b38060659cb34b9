// Sense (opt-in, --orphans): processes that may have escaped the gateway's subtree, with what ties them
// to it. Reads every process on the host, so it runs only when asked. Deciding who is the gateway's
// is left to src/decide/orphans.ts: this only gathers facts.
import { parseCgroup, parseFdinfoMode, parseFdTarget, parseSsUnix, type FdKind, type FdMode } from "./links.js";
import type { Stat } from "./parse.js";
import type { HostScan } from "./host.js";
import { LINK_DENIED, LINK_GONE, listDir, readLinkOr, readStatOrNull, readText } from "./read.js";
import type { ProcInfo } from "./procinfo.js";
import { childProcess } from "../lazy.js";

export interface EscapedOptions {
  /** Output of `ss -xa`, or null when it cannot be had. Default: runs iproute2's ss (bounded to 5 s). */
  ssUnix?: () => string | null;
  /** How an fd link is read. Default: readLinkOr (tests stand in a denied read, which root cannot fake on files). */
  readLink?: ReadLink;
}

type ReadLink = (path: string) => string | typeof LINK_GONE | typeof LINK_DENIED;

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
  /**
   * Host-wide only: candidate roots shown to be talked to from outside their subtree before any scan of
   * every process's fds (a socket peer that exists outside it), and how.
   * Default: none.
   */
  liveOutside?: Map<number, string>;
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

/** fd 0 and 1 of a process; null when its fds may not be read (its fd directory, or a link in it). */
function readStdio(procRoot: string, pid: number, read: ReadLink): StdioEnd[] | null {
  const fds = listDir(`${procRoot}/${pid}/fd`);
  if (fds === null) return null;
  const ends: StdioEnd[] = [];
  for (const fd of [0, 1]) {
    if (!fds.includes(String(fd))) continue;
    const target = read(`${procRoot}/${pid}/fd/${fd}`);
    if (target === LINK_DENIED) return null;
    if (target === LINK_GONE) continue;
    const { kind, inode } = parseFdTarget(target);
    ends.push({ fd, kind, inode, mode: kind === "other" ? null : modeOf(procRoot, pid, String(fd)), ...(kind === "other" ? { target } : {}) });
  }
  return ends;
}

/**
 * Every open fd of a process with its link text: "gone" when its fd directory is gone or unreadable (the
 * caller asks whether it still lives), "denied" when an fd exists that may not be read.
 */
function fdLinks(procRoot: string, pid: number, read: ReadLink): [string, string][] | "gone" | "denied" {
  const dir = `${procRoot}/${pid}/fd`;
  const fds = listDir(dir);
  if (fds === null) return "gone";
  const out: [string, string][] = [];
  for (const fd of fds) {
    const target = read(`${dir}/${fd}`);
    // One fd we may not read means none may be (ptrace rules are per process): stop at the first.
    if (target === LINK_DENIED) return "denied";
    if (target !== LINK_GONE) out.push([fd, target]);
  }
  return out;
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
  /** Host-wide: leave roots talked to from outside out of the holder scan (liveOutside). Default false. */
  quick?: boolean;
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
  gather(procRoot, { landing, uid: options.uid, never, want: options.want, quick: true }, options, host, info, facts);
  return facts;
}

/** Every `kind:inode` a set of processes holds on any fd (their own ends do not count as someone else's). */
function heldBy(procRoot: string, pids: Iterable<number>, read: ReadLink): Set<string> {
  const held = new Set<string>();
  for (const pid of pids) {
    // Unreadable fds add nothing: the peer then looks held outside, and the root is left alone.
    const links = fdLinks(procRoot, pid, read);
    if (typeof links !== "string") for (const [, target] of links) held.add(target);
  }
  return held;
}

/**
 * Host-wide, before the costly holder scan: a root whose stdin or stdout is a socket whose peer still
 * exists (ss) and is not held inside its subtree is talked to from outside, and needs no scan to be left
 * alone. (Pipes have no such shortcut: opening /proc/PID/fd/N of an anonymous pipe succeeds whether or not
 * it has a reader, so only the scan can tell.)
 */
function liveOutside(procRoot: string, facts: EscapedFacts, read: ReadLink): Map<number, string> {
  const out = new Map<number, string>();
  for (const rootPid of facts.roots) {
    const own = subtreeOf(facts, rootPid);
    let inside: Set<string> | null = null;
    for (const e of facts.stdio.get(rootPid) ?? []) {
      if (e.inode === null || (e.fd !== 0 && e.fd !== 1)) continue;
      if (e.kind === "socket") {
        const peer = facts.socketPeers?.get(e.inode);
        if (peer === undefined || peer === 0) continue;
        inside ??= heldBy(procRoot, own, read);
        if (!inside.has(`socket:[${peer}]`)) out.set(rootPid, `the peer of socket:[${e.inode}] (fd ${e.fd}) is open outside its subtree`);
        if (out.has(rootPid)) break;
      }
    }
  }
  return out;
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
  const read = options.readLink ?? readLinkOr;
  for (const pid of facts.procs.keys()) {
    facts.stdio.set(pid, readStdio(procRoot, pid, read));
    facts.cgroups.set(pid, parseCgroupOf(procRoot, pid));
  }

  const ends = [...facts.stdio.values()].flatMap((e) => e ?? []);
  const sockets = ends.filter((e) => e.kind === "socket" && e.inode !== null).map((e) => e.inode as number);
  if (sockets.length > 0) {
    const text = (options.ssUnix ?? runSsUnix)();
    facts.socketPeers = text === null ? null : peerData(parseSsUnix(text), sockets);
  }
  if (scope.quick) facts.liveOutside = liveOutside(procRoot, facts, read);
  const decided = facts.liveOutside ?? new Map<number, string>();
  // The ends of subtrees already known to be talked to need no holders: only the others' are looked for.
  const open = scope.quick ? [...facts.roots].filter((r) => !decided.has(r)).flatMap((r) => subtreeOf(facts, r)).flatMap((pid) => facts.stdio.get(pid) ?? []) : ends;
  // Link text (`pipe:[N]`) -> holders key (`pipe:N`): a link is looked up as the kernel writes it.
  const wanted = new Map<string, string>();
  for (const e of open) {
    if (e.kind === "pipe") wanted.set(`pipe:[${e.inode}]`, `pipe:${e.inode}`);
    const peer = e.kind === "socket" && e.inode !== null ? facts.socketPeers?.get(e.inode) : undefined;
    if (peer !== undefined && peer > 0) wanted.set(`socket:[${peer}]`, `socket:${peer}`);
  }
  if (wanted.size === 0) return;
  for (const [pid, stat] of stats) {
    const links = fdLinks(procRoot, pid, read);
    if (links !== "denied" && links !== "gone") {
      for (const [fd, target] of links) {
        const key = wanted.get(target);
        if (key === undefined) continue;
        const list = facts.holders.get(key) ?? [];
        list.push({ pid, mode: key.startsWith("pipe:") ? modeOf(procRoot, pid, fd) : null });
        facts.holders.set(key, list);
      }
      continue;
    }
    // A zombie, or a process that exited since the scan, holds nothing; a live process whose fds we
    // may not read (or not all of them) might hold the other end.
    const now = readStatOrNull(procRoot, pid);
    if (now !== null && now.startTicks === stat.startTicks && now.state !== "Z" && now.state !== "X") facts.holdersComplete = false;
  }
}

function subtreeOf(facts: EscapedFacts, root: number): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(facts.children.get(out[i] as number) ?? []));
  return out;
}

function parseCgroupOf(procRoot: string, pid: number): string | null {
  const text = readText(`${procRoot}/${pid}/cgroup`);
  return text === null ? null : parseCgroup(text);
}
