// Decide: a pure function from a snapshot and a policy to a plan. Who dies is decided here and only here.
import type { SessionStore } from "../hosts/adapter.js";
import type { ServerEntry } from "../hosts/parse.js";
import type { ProcInfo, Snapshot } from "../proc/snapshot.js";
import { idleSpanOf, type ActivityView } from "./activity.js";
import { matchEntry, type EntryMatch } from "./match.js";
import { attributeOrphans, type OrphanAttribution } from "./orphans.js";
import { basename, namesIn, signatureOf, stripLaunchers, type Signature } from "./signature.js";
import { attribute, shortKey, type SessionAttribution } from "./sessions.js";
import { preorder } from "./tree.js";
import { answersToName } from "../proc/gateway.js";

export interface Policy {
  /** Instances kept per server type, newest first. Default 1. */
  keep: number;
  /** An instance younger than this is never reaped: it may still be starting up. Default 60 000 (60 s). */
  minAgeMs: number;
  /** An instance is MCP when a name in its subtree's command lines matches. Default /mcp|modelcontextprotocol/i. */
  match: RegExp;
  /** An instance with a name matching this is never MCP. Default null (none). */
  ignore: RegExp | null;
  /**
   * Activity guard: reap only instances whose whole subtree showed no I/O or CPU activity for this
   * long. Unknown activity (first look, unreadable io) counts as active. Default null (off).
   */
  idleMs: number | null;
  /** Server definitions from host configs: a matching instance is MCP and its type is named after the entry. Default [] (none). */
  servers?: readonly ServerEntry[];
  /** Environment variables (of the instance root) whose values join the signature. Default [] (none). */
  signatureEnv?: readonly string[];
  /** Wrapper layers between the gateway and its servers, descended through. Default DEFAULT_LAYERS. */
  layers?: readonly WrapperLayer[];
  /** Escaped-orphan attribution (--orphans; the snapshot must hold `escaped`). Default null (off). */
  orphans?: OrphanPolicy | null;
  /**
   * --session-idle: an instance of a live session whose last turn is older than this is reaped (reason
   * `session-idle`). Only with a session store. Default null (off).
   */
  sessionIdleMs?: number | null;
  /**
   * Names a nested host answers to (--gateway-name): a descendant answering to one, or running the
   * gateway's own command (Codex's watchdog `codex` under `codex app-server`), is descended through
   * (its children are instance roots) and never reaped whole. Default [] (the gateway's own command only).
   */
  hostNames?: readonly string[];
}

/** --orphans settings. */
export interface OrphanPolicy {
  /** --orphan-env KEY=VALUE markers: a process carrying one is the gateway's. Default [] (none). */
  markers: readonly (readonly [string, string])[];
}

/**
 * A process a host puts between the gateway and a server that is not the server. A "relay" is passed
 * through: each of its children is an instance root of its own, and the relay is never touched. An
 * "anchor" holds one server: it is the instance's root (reaped with it), but the server below it gives
 * the type. Recognized by the script it runs (basename, without .js/.mjs/.cjs).
 */
export interface WrapperLayer {
  script: string;
  kind: "relay" | "anchor";
}

/**
 * OpenClaw 2026.9+: gateway -> process/spawn-broker/worker.js (one per gateway, 2026.9.5/2026.9.6) ->
 * service-child-relay.js (one per server) -> service-child-group-anchor.js -> server. The broker is matched
 * by the last two path parts (a script named `worker` alone says nothing); when it fails to start, the
 * relays are the gateway's own children and the same list still applies.
 */
export const DEFAULT_LAYERS: readonly WrapperLayer[] = [
  { script: "spawn-broker/worker", kind: "relay" },
  { script: "service-child-relay", kind: "relay" },
  { script: "service-child-group-anchor", kind: "anchor" },
];

export const DEFAULT_MATCH = /mcp|modelcontextprotocol/i;

/** One process of an instance, as the snapshot saw it. (pid, startTicks) is what the act step checks. */
export interface Member {
  pid: number;
  ppid: number;
  startTicks: number;
  state: string;
  /** Depth below the instance root (root = 0). */
  depth: number;
  argv: string[];
  comm: string;
  rssBytes: number | null;
}

export type Action = "keep" | "reap";
export type ReasonCode = "newest" | "too-young" | "active" | "duplicate" | "protected" | "unreachable" | "session-ended" | "live-session" | "session-idle";

/** A child of the gateway with its whole subtree: the unit that is kept or reaped. */
export interface PlannedInstance {
  rootPid: number;
  rootStartTicks: number;
  /** Newest start ticks in the subtree: breaks ties between roots started in the same 10 ms tick. */
  newestStartTicks: number;
  /** Root first, then depth-first: every process the act step may signal. */
  members: Member[];
  signature: Signature;
  ageMs: number;
  startedAtMs: number;
  /** RSS summed over the subtree. */
  rssBytes: number;
  /**
   * Ms since any process of the subtree last did I/O or used CPU, counted from the look that noticed it:
   * the sure lower bound, which --idle decides on. Null when unknown or not tracked.
   */
  idleMs: number | null;
  action: Action;
  reasonCode: ReasonCode;
  /** Why, in words, for the report. */
  reason: string;
  /** The host config entry this instance runs, when one matched (its name is the type label). */
  config?: { name: string; source: string } | null;
  /** Set for an escaped orphan (--orphans): found outside the gateway's subtree, and why it is the gateway's. */
  orphan?: OrphanAttribution | null;
  /**
   * Upper bound of the idle time: counted from the look before the one that noticed the activity. Null
   * when unknown, not tracked, or when no activity was seen since the first look. Default null.
   */
  idleMaxMs?: number | null;
  /** The host session this instance belongs to (with a session store; absent without one). */
  session?: SessionAttribution | null;
  /**
   * Processes that exit by themselves when this instance is reaped and are never signalled: the relay
   * above an anchor that holds nothing else (openclaw 2026.9.6: a relay exits once its anchor is gone).
   * Their RSS counts in what a reap frees. Default none.
   */
  exitsWith?: { pid: number; startTicks: number; argv: string[]; rssBytes: number }[];
}

export interface ServerType {
  key: string;
  label: string;
  /** Config entries this type stands for that cannot be told apart: --keep applies per entry. Default 1. */
  entries?: number;
  /** Newest first, escaped orphans the gateway does not talk to last (see newerFirst). */
  instances: PlannedInstance[];
}

/** A child of the gateway that is not an MCP server: reported, never touched. */
export interface IgnoredChild {
  rootPid: number;
  argv: string[];
  pids: number[];
  reason: string;
}

export interface Plan {
  gateway: { pid: number; startTicks: number; comm: string; argv: string[] };
  /** MCP server types, most instances first. */
  types: ServerType[];
  ignored: IgnoredChild[];
  /** Exited children the gateway has not waited for yet: only it can reap them. */
  zombies: { pid: number; comm: string }[];
  /** Whether the activity guard was on (then each instance's idleMs is tracked). */
  activityTracked: boolean;
  /** Wrapper layers (relays, empty anchors, nested hosts, multiplexers) between the gateway and its servers: never touched. */
  wrappers?: { pid: number; kind: WrapperLayer["kind"] | "host" | "multiplexer"; argv: string[] }[];
  /** The gateway's ancestors (from --orphans sensing): never targets. */
  gatewayAncestors?: number[];
  /** MCP-looking processes outside the subtree that were left alone (--orphans), and why. */
  orphansLeft?: IgnoredChild[];
  /** Gateways of their own (--all) below this one, with their parents: never touched, their servers not ours. Default []. */
  nested?: { pid: number; ppid: number }[];
  /** "host": a host-wide dead-orphan pass (no gateway; `gateway` is pid 1 as a stand-in that is never a target). Default: a gateway's pass. */
  scope?: "host";
  /** The host sessions the plan was made with: store layout and counts (absent without a store). */
  sessions?: { host: string; layout: string; sessions: number; transcriptsRead: number; sources: string[] } | null;
}

export function memberOf(p: ProcInfo, depth: number): Member {
  return { pid: p.pid, ppid: p.ppid, startTicks: p.startTicks, state: p.state, depth, argv: p.argv, comm: p.comm, rssBytes: p.rssBytes };
}

export function matchesAny(re: RegExp, members: readonly Member[]): boolean {
  return members.some((m) => namesIn(m.argv).some((name) => re.test(name)));
}

/** An escaped orphan the gateway does not hold a stdio end of: it can no longer be the instance the gateway talks to. */
function unheard(inst: PlannedInstance): boolean {
  return Boolean(inst.orphan && inst.orphan.reach !== "gateway");
}

/**
 * Keep-newest order: every instance the gateway may still talk to (in-tree ones, escaped ones whose
 * stdio peer it holds) before the escaped ones it does not, so a newer orphan never costs a live
 * in-tree instance its place; within each, newest first: root start ticks, then the newest start
 * ticks in the subtree, then pid.
 */
export function newerFirst(a: PlannedInstance, b: PlannedInstance): number {
  return (
    Number(unheard(a)) - Number(unheard(b)) ||
    b.rootStartTicks - a.rootStartTicks ||
    b.newestStartTicks - a.newestStartTicks ||
    b.rootPid - a.rootPid
  );
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Math.round(ms / 100) / 10}s`;
}

/** "0ms-24.5s" when the activity lies between two looks, ">= 5s" when it came before the first look. */
function agoText(minMs: number, maxMs: number | null): string {
  if (maxMs === null) return `>= ${seconds(minMs)}`;
  return seconds(maxMs) === seconds(minMs) ? seconds(minMs) : `${seconds(minMs)}-${seconds(maxMs)}`;
}

/** An instance as first planned (kept, reason filled in later), from its root, its members and its type. */
export function newInstance(root: ProcInfo, members: Member[], signature: Signature, entry: EntryMatch | null, activity: ActivityView): PlannedInstance {
  const idle = idleSpanOf(
    members.map((m) => m.pid),
    activity,
  );
  return {
    rootPid: root.pid,
    rootStartTicks: root.startTicks,
    newestStartTicks: Math.max(...members.map((m) => m.startTicks)),
    members,
    signature,
    ageMs: root.ageMs,
    startedAtMs: root.startedAtMs,
    rssBytes: members.reduce((sum, m) => sum + (m.rssBytes ?? 0), 0),
    idleMs: idle?.minMs ?? null,
    action: "keep",
    reasonCode: "newest",
    reason: "",
    config: entry ? { name: entry.entry.name, source: entry.entry.source } : null,
    idleMaxMs: idle?.maxMs ?? null,
  };
}

/**
 * Decides. `activity` (from observe()) is only needed with policy.idleMs; without it nothing is known to be
 * idle. `sessions`: the host's sessions as sensed this pass (null: no adapter, or it could not read them;
 * then every instance keeps the rules it has without one).
 */
export function plan(snapshot: Snapshot, policy: Policy, activity: ActivityView = new Map(), sessions: SessionStore | null = null): Plan {
  const g = snapshot.gateway;
  const result: Plan = {
    gateway: { pid: g.pid, startTicks: g.startTicks, comm: g.comm, argv: g.argv },
    types: [],
    ignored: [],
    zombies: [],
    activityTracked: policy.idleMs !== null,
    wrappers: [],
    ...(snapshot.nested && snapshot.nested.length > 0 ? { nested: snapshot.nested } : {}),
  };
  const nestedBelow = new Map((snapshot.nested ?? []).map((n) => [n.ppid, n.pid]));
  const byType = new Map<string, ServerType>();

  const mcpChain = (p: ProcInfo): boolean => {
    const members = preorder(p, snapshot.children, snapshot.procs);
    return matchesAny(policy.match, members.map((m) => memberOf(m.proc, m.depth))) || matchEntry(members.map((m) => m.proc), policy.servers ?? []) !== null;
  };
  const selfMcp = (p: ProcInfo): boolean => matchesAny(policy.match, [memberOf(p, 0)]) || matchEntry([p], policy.servers ?? []) !== null;
  const isHost = nestedHost(g, policy.hostNames ?? []);
  const roots = instanceRoots(snapshot, policy.layers ?? DEFAULT_LAYERS, result.wrappers as NonNullable<Plan["wrappers"]>, { mcpChain, selfMcp, isHost });
  for (const { root, server, exitsWith } of roots) {
    if (root.state === "Z" || root.state === "X") {
      result.zombies.push({ pid: root.pid, comm: root.comm });
      continue;
    }
    const members = preorder(root, snapshot.children, snapshot.procs).map((m) => memberOf(m.proc, m.depth));
    const pids = members.map((m) => m.pid);
    if (policy.ignore && matchesAny(policy.ignore, members)) {
      result.ignored.push({ rootPid: root.pid, argv: root.argv, pids, reason: "matches --ignore" });
      continue;
    }
    const entry = matchEntry(procsOf(snapshot.procs, members), policy.servers ?? []);
    if (!entry && !matchesAny(policy.match, members)) {
      result.ignored.push({ rootPid: root.pid, argv: root.argv, pids, reason: "not an MCP server (no name matches --match)" });
      continue;
    }
    const inst = newInstance(root, members, typeSignature(server, entry, policy), entry, activity);
    if (exitsWith) inst.exitsWith = [{ pid: exitsWith.pid, startTicks: exitsWith.startTicks, argv: exitsWith.argv, rssBytes: exitsWith.rssBytes ?? 0 }];
    addToType(byType, inst, entry);
  }
  if (sessions) attributeSessions(byType, sessions, snapshot.takenAtMs, policy.sessionIdleMs ?? null, result);
  if (policy.orphans && snapshot.escaped) planOrphans(snapshot, policy, policy.orphans, byType, result, activity);

  // Never targets whatever the snapshot says: pid 1 and the gateway can only sit in the subtree of a
  // corrupt or recorded tree, and protectedPids may not reach pid 1 under a fake proc root.
  const never = (pid: number): boolean => pid <= 1 || pid === g.pid || snapshot.protectedPids.has(pid);
  for (const type of byType.values()) {
    type.instances.sort(newerFirst);
    const total = type.instances.length;
    const keep = policy.keep * (type.entries ?? 1);
    let rank = 0;
    let newestKept: PlannedInstance | undefined;
    for (const inst of type.instances) {
      const nestedPid = inst.members.map((m) => nestedBelow.get(m.pid)).find((pid) => pid !== undefined);
      if (nestedPid !== undefined) {
        // Reaping it would orphan a gateway of its own (--all) and all its servers.
        inst.reasonCode = "protected";
        inst.reason = `holds gateway ${nestedPid}, a gateway of its own (--all)`;
        continue;
      }
      if (inst.members.some((m) => never(m.pid))) {
        inst.reasonCode = "protected";
        inst.reason = inst.members.some((m) => snapshot.protectedPids.has(m.pid))
          ? "holds mcp-reaper itself or one of its ancestors"
          : "holds pid 1 or the gateway, which are never targets";
        continue;
      }
      if (unreachableOrphan(inst)) {
        // Nobody can talk to it any more, and evidence other than a live peer says it is the gateway's.
        const young = inst.ageMs < policy.minAgeMs;
        inst.action = young ? "keep" : "reap";
        inst.reasonCode = young ? "too-young" : "unreachable";
        inst.reason = young
          ? `unreachable escaped orphan, but younger than --min-age ${seconds(policy.minAgeMs)} (age ${seconds(inst.ageMs)})`
          : "escaped orphan no process can reach: its stdio peers are gone";
        continue;
      }
      const sessionRule = bySession(inst, policy);
      if (sessionRule !== null) {
        [inst.action, inst.reasonCode, inst.reason] = sessionRule;
        // A live session's set holds its place in keep-newest; an ended or idle one's does not, so an
        // unattributed instance is never ranked lower than it would be without the session store.
        if (inst.reasonCode !== "live-session") continue;
        rank++;
        newestKept ??= inst;
        continue;
      }
      rank++;
      newestKept ??= inst;
      if (rank <= keep) {
        inst.reasonCode = "newest";
        inst.reason = total === 1 ? "only instance of its type" : keep === 1 ? `newest of ${total}` : `one of the ${keep} newest of ${total}`;
      } else if (inst.ageMs < policy.minAgeMs) {
        inst.reasonCode = "too-young";
        inst.reason = `older duplicate, but younger than --min-age ${seconds(policy.minAgeMs)} (age ${seconds(inst.ageMs)})`;
      } else if (policy.idleMs !== null && (inst.idleMs === null || inst.idleMs < policy.idleMs)) {
        inst.reasonCode = "active";
        inst.reason =
          inst.idleMs === null
            ? `older duplicate, but its activity is not known yet (--idle ${seconds(policy.idleMs)})`
            : `older duplicate, but in use: active ${agoText(inst.idleMs, inst.idleMaxMs ?? null)} ago (--idle ${seconds(policy.idleMs)})`;
      } else {
        inst.action = "reap";
        inst.reasonCode = "duplicate";
        inst.reason = unheard(inst)
          ? `escaped orphan the gateway does not talk to, ranked after those it does (${rank - 1} ahead of it of this type), newest is pid ${newestKept.rootPid}`
          : `older duplicate: ${rank - 1} newer of this type, newest is pid ${newestKept.rootPid}`;
      }
    }
  }

  const byText = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  // Types with one label can differ by cwd: the key breaks that tie, so discovery order never shows.
  result.types = [...byType.values()].sort((a, b) => b.instances.length - a.instances.length || byText(a.label, b.label) || byText(a.key, b.key));
  return result;
}

/** The keep/reap a session gives an instance, or null when it has no say (unattributed, or no store). */
function bySession(inst: PlannedInstance, policy: Policy): [Action, ReasonCode, string] | null {
  const s = inst.session;
  if (!s || s.state === "unattributed" || s.state === "unknown") return null;
  // The evidence is the report's session line; the reason names the session and its state.
  const who = s.key === null ? "(one of the sessions its start falls in)" : shortKey(s.key);
  if (s.state === "live") return ["keep", "live-session", `belongs to the live session ${who}`];
  const code: ReasonCode = s.state === "ended" ? "session-ended" : "session-idle";
  const what = s.state === "ended" ? `its session ${who} has ended` : `its session ${who} is idle (--session-idle ${seconds(policy.sessionIdleMs ?? 0)})`;
  if (inst.ageMs < policy.minAgeMs) return ["keep", "too-young", `${what}, but it is younger than --min-age ${seconds(policy.minAgeMs)} (age ${seconds(inst.ageMs)})`];
  return ["reap", code, what];
}

/** Attaches each in-tree instance's session (escaped orphans keep their own rules). */
function attributeSessions(byType: Map<string, ServerType>, store: SessionStore, nowMs: number, idleMs: number | null, result: Plan): void {
  const all = [...byType.values()].flatMap((t) => t.instances).filter((i) => !i.orphan);
  const found = attribute(all, store, { nowMs, idleMs });
  for (const inst of all) inst.session = found.get(inst.rootPid) ?? null;
  result.sessions = { host: store.host, layout: store.layout, sessions: store.sessions.length, transcriptsRead: store.transcriptsRead, sources: store.sources };
}

/** Every instance of the plan, in report order. */
export function instancesOf(p: Plan): PlannedInstance[] {
  return p.types.flatMap((t) => t.instances);
}

/** Pids the act step must never signal: members of kept instances (the gateway and protected pids are checked apart). */
export function keptPids(p: Plan): Set<number> {
  const pids = new Set<number>();
  for (const inst of instancesOf(p)) if (inst.action === "keep") for (const m of inst.members) pids.add(m.pid);
  for (const child of p.ignored) for (const pid of child.pids) pids.add(pid);
  for (const w of p.wrappers ?? []) pids.add(w.pid);
  for (const pid of p.gatewayAncestors ?? []) pids.add(pid);
  for (const child of p.orphansLeft ?? []) for (const pid of child.pids) pids.add(pid);
  for (const n of p.nested ?? []) pids.add(n.pid);
  return pids;
}

/** The wrapper layer a process is, by the script its command runs, or null. */
export function layerOf(argv: readonly string[], layers: readonly WrapperLayer[]): WrapperLayer | null {
  const first = stripLaunchers(argv)[0];
  if (first === undefined) return null;
  const path = first.replace(/\.[cm]?js$/, "");
  const script = basename(path);
  // A layer named with a slash matches the path's last parts (`spawn-broker/worker`), else the basename.
  return layers.find((l) => (l.script.includes("/") ? path === l.script || path.endsWith(`/${l.script}`) : l.script === script)) ?? null;
}

/**
 * Instance roots under the gateway: its children, except that relays are passed through (their
 * children are roots) and an anchor is a root whose one child gives the type. An anchor holding no
 * server, or several, is recorded as a wrapper (never touched) and its children are roots. Whatever the
 * host, a process that is no MCP server by its own command line and whose children are two or more
 * separate MCP server chains is a multiplexer (a spawn broker, a nested host such as `codex app-server`):
 * descended through like a relay, never reaped whole. A relay holding exactly one anchor that becomes a
 * root is that instance's `exitsWith` (it exits by itself once the anchor is gone).
 */
function instanceRoots(
  snapshot: Snapshot,
  layers: readonly WrapperLayer[],
  wrappers: NonNullable<Plan["wrappers"]>,
  mcp: { mcpChain: (p: ProcInfo) => boolean; selfMcp: (p: ProcInfo) => boolean; isHost: (p: ProcInfo) => boolean },
): { root: ProcInfo; server: ProcInfo; exitsWith?: ProcInfo }[] {
  const out: { root: ProcInfo; server: ProcInfo; exitsWith?: ProcInfo }[] = [];
  const live = (pid: number): ProcInfo[] =>
    (snapshot.children.get(pid) ?? []).map((c) => snapshot.procs.get(c)).filter((c): c is ProcInfo => c !== undefined);
  const running = (p: ProcInfo): boolean => p.state !== "Z" && p.state !== "X";
  const multiplexer = (p: ProcInfo): boolean => {
    // Never split what holds pid 1 (a corrupt or recorded tree), or mcp-reaper and its ancestors: such an
    // instance stays whole, and whole it is protected.
    if (p.pid <= 1 || snapshot.protectedPids.has(p.pid) || mcp.selfMcp(p)) return false;
    const kids = live(p.pid).filter(running);
    return kids.length >= 2 && kids.filter((k) => mcp.mcpChain(k)).length >= 2;
  };
  const visit = (p: ProcInfo, depth: number): void => {
    if (p.state !== "Z" && p.state !== "X" && depth <= 8 && mcp.isHost(p)) {
      // A host inside the gateway (one per session, or a watchdog): its servers are the instances.
      wrappers.push({ pid: p.pid, kind: "host", argv: p.argv });
      for (const k of live(p.pid)) visit(k, depth + 1);
      return;
    }
    const usable = running(p) && depth <= 8;
    const layer = usable ? layerOf(p.argv, layers) : null;
    if (layer === null) {
      if (usable && multiplexer(p)) {
        wrappers.push({ pid: p.pid, kind: "multiplexer", argv: p.argv });
        for (const k of live(p.pid)) visit(k, depth + 1);
        return;
      }
      out.push({ root: p, server: p });
      return;
    }
    const kids = live(p.pid);
    const serving = kids.filter(running);
    if (layer.kind === "anchor" && serving.length === 1 && layerOf((serving[0] as ProcInfo).argv, layers) === null) {
      out.push({ root: p, server: serving[0] as ProcInfo });
      return;
    }
    wrappers.push({ pid: p.pid, kind: layer.kind, argv: p.argv });
    const before = out.length;
    for (const k of kids) visit(k, depth + 1);
    const only = out[before];
    if (layer.kind === "relay" && kids.length === 1 && out.length === before + 1 && only && only.root === kids[0] && layerOf(only.root.argv, layers)?.kind === "anchor") {
      only.exitsWith = p;
    }
  };
  for (const p of live(snapshot.gateway.pid)) visit(p, 0);
  return out;
}

/** The command a host runs, launchers stripped ("codex" for `node /usr/bin/codex app-server`): how a nested copy of it is known. */
export function hostCommandOf(argv: readonly string[]): string {
  const first = stripLaunchers(argv)[0];
  return first === undefined ? "" : basename(first);
}

/**
 * Whether a descendant is a nested host: it answers to a --gateway-name, or runs the gateway's own
 * command under the gateway's own comm (both: a server that merely shares the gateway's script name
 * with another interpreter stays a server).
 */
function nestedHost(gateway: ProcInfo, names: readonly string[]): (p: ProcInfo) => boolean {
  const own = hostCommandOf(gateway.argv);
  return (p) => names.some((n) => answersToName(n, p.comm, p.argv)) || (own !== "" && p.comm === gateway.comm && hostCommandOf(p.argv) === own);
}

export function procsOf(procs: ReadonlyMap<number, ProcInfo>, members: readonly Member[]): ProcInfo[] {
  return members.map((m) => procs.get(m.pid)).filter((p): p is ProcInfo => p !== undefined);
}

/** The chosen env values (--signature-env) of a process; a variable it lacks is left out. */
function pickEnv(environ: ReadonlyMap<string, string> | null | undefined, keys: readonly string[] | undefined): Map<string, string> {
  const picked = new Map<string, string>();
  for (const k of keys ?? []) {
    const v = environ?.get(k);
    if (v !== undefined) picked.set(k, v);
  }
  return picked;
}

/** The type of an instance: its config entry's name when one matched, else its signature. */
export function typeSignature(server: ProcInfo, entry: EntryMatch | null, policy: Policy): Signature {
  const env = pickEnv(server.environ, policy.signatureEnv);
  const sig = signatureOf(server.argv, server.cwd, env);
  if (!entry) return sig;
  const envPart = [...env].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const details = [...entry.bound, ...envPart.map(([k, v]) => `${k}=${v}`)];
  const label = details.length > 0 ? `${entry.entry.name} (${details.join(" ")})` : entry.entry.name;
  return { ...sig, key: JSON.stringify(["config", entry.entry.source, entry.entry.name, entry.bound, server.cwd, envPart]), label };
}

export function addToType(byType: Map<string, ServerType>, instance: PlannedInstance, entry: EntryMatch | null): void {
  let type = byType.get(instance.signature.key);
  if (!type) {
    type = { key: instance.signature.key, label: instance.signature.label, instances: [], ...(entry && entry.twins > 1 ? { entries: entry.twins } : {}) };
    byType.set(instance.signature.key, type);
  }
  type.instances.push(instance);
}

/** An attributed orphan that nobody can reach, tied to the gateway by its cgroup or a marker: reaped after --min-age. */
function unreachableOrphan(inst: PlannedInstance): boolean {
  const o = inst.orphan;
  return Boolean(o && o.reach === "nobody" && o.evidence.some((e) => e === "cgroup" || e === "env"));
}

/**
 * Escaped orphans become instances of their type: the config entry they run, else the in-tree type
 * one of whose processes has the same command and cwd (the wrapper that died was the in-tree root),
 * else their own signature. MCP-looking ones without evidence are listed as left alone.
 */
function planOrphans(
  snapshot: Snapshot,
  policy: Policy,
  orphans: OrphanPolicy,
  byType: Map<string, ServerType>,
  result: Plan,
  activity: ActivityView,
): void {
  result.gatewayAncestors = snapshot.escaped?.gatewayAncestors ?? [];
  const left: IgnoredChild[] = (result.orphansLeft = []);
  const byProcess = new Map<string, Set<ServerType>>();
  for (const type of byType.values()) {
    for (const inst of type.instances) {
      for (const p of procsOf(snapshot.procs, inst.members)) {
        const k = signatureOf(p.argv, p.cwd, pickEnv(p.environ, policy.signatureEnv)).key;
        byProcess.set(k, (byProcess.get(k) ?? new Set()).add(type));
      }
    }
  }
  for (const c of attributeOrphans(snapshot, orphans.markers)) {
    const procs = c.members.map((m) => m.proc);
    const members = c.members.map((m) => memberOf(m.proc, m.depth));
    const pids = members.map((m) => m.pid);
    // Sensing already left these out; the planner keeps its own invariants.
    if (pids.some((pid) => pid <= 1 || pid === snapshot.gateway.pid || snapshot.procs.has(pid) || result.gatewayAncestors?.includes(pid))) continue;
    if (policy.ignore && matchesAny(policy.ignore, members)) continue;
    const entry = matchEntry(procs, policy.servers ?? []);
    if (!entry && !matchesAny(policy.match, members)) continue; // not an MCP server: none of our business
    if (c.attribution === null) {
      left.push({ rootPid: c.root.pid, argv: c.root.argv, pids, reason: c.why });
      continue;
    }
    let signature = typeSignature(c.root, entry, policy);
    if (!entry) {
      for (const p of procs) {
        const types = byProcess.get(signatureOf(p.argv, p.cwd, pickEnv(p.environ, policy.signatureEnv)).key);
        const only = types?.size === 1 ? [...types][0] : undefined;
        if (only) {
          signature = (only.instances[0] as PlannedInstance).signature;
          break;
        }
      }
    }
    addToType(byType, { ...newInstance(c.root, members, signature, entry, activity), orphan: c.attribution }, entry);
  }
}
