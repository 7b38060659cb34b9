// One pass of the pipeline: sense (resolve + snapshot) -> decide (plan) -> act (execute). The CLI and
// the loop both call this; reporting is left to the caller.
import { execute, type InstanceResult } from "./act/execute.js";
import { EXIT, type PassConfig } from "./config.js";
import { emptyHistory, observe, type ActivityHistory, type IdleSpan } from "./decide/activity.js";
import { instancesOf, plan as makePlan, type Plan, type Policy } from "./decide/planner.js";
import { namesIn } from "./decide/signature.js";
import { gatewayView, type SessionStore } from "./hosts/adapter.js";
import { loadConfigs, type ConfigSource } from "./hosts/read.js";
import { senseSessions } from "./hosts/sessions.js";
import { openclawAfterReap, RELEASE_TIMEOUT_MS, type OpenclawReport } from "./hosts/openclaw/host.js";
import type { callGateway } from "./hosts/openclaw/rpc.js";
import { runSsUnix } from "./proc/escaped.js";
import { resolveGateway, type GatewayIdentity } from "./proc/gateway.js";
import { readText } from "./proc/read.js";
import { memoryOf, readMeminfo, type MemoryFigure, type RollupCache } from "./proc/memread.js";
import { GatewayGoneError, protectedPidsOf, readEnvirons, takeSnapshot, type DiscoveryMethod, type Snapshot } from "./proc/snapshot.js";
import { loadHistory, pruneHistory, readBootId, saveHistory } from "./state.js";

export interface Summary {
  types: number;
  instances: number;
  kept: number;
  /** Instances the plan reaps (in a dry run: would reap). */
  reaped: number;
  terminated: number;
  killed: number;
  gone: number;
  skipped: number;
  failed: number;
  /** RSS of the reaped instances: freed after a real run, reclaimable in a dry run. */
  rssReclaimedBytes: number;
  ignored: number;
  zombies: number;
  /** Instances found outside the gateway's subtree (--orphans). */
  orphans?: number;
  /** Instances the plan reaps, by reason code (`duplicate`, `session-ended`, `session-idle`, `unreachable`). Default {}. */
  reapedByReason?: Record<string, number>;
  /** RSS of processes that exit by themselves with a reaped instance (a 2026.9 relay above its anchor), also in rssReclaimedBytes. */
  rssExitsWithBytes?: number;
  /**
   * Private memory (smaps_rollup Private_Clean + Private_Dirty + SwapPss) of the reaped instances whose
   * figure is known: freed after a real run, reclaimable in a dry run. Default 0 (nothing reaped).
   */
  privateReclaimedBytes?: number;
  /** Reaped instances whose private memory could not be read (left out of privateReclaimedBytes). Default 0. */
  privateUnknown?: number;
}

/** MemAvailable before the pass and a moment after the last target is gone: the host's change, not ours alone. */
export interface HostMemory {
  availableBeforeBytes: number | null;
  availableAfterBytes: number | null;
  /** How long after the act step the second look was taken. */
  settleMs: number;
}

export interface PassResult {
  dryRun: boolean;
  /** When the snapshot was taken (ms since the epoch). */
  takenAtMs: number;
  scan: { method: DiscoveryMethod; processes: number; durationMs: number; skipped: { pid: number; why: string }[] };
  plan: Plan;
  /** Per reaped instance, after a real run; null in a dry run. */
  results: InstanceResult[] | null;
  summary: Summary;
  durationMs: number;
  /** Things worth a warning line that did not stop the pass (a corrupt state file, ...). */
  warnings: string[];
  /** Host config files read this pass (--mcp-config, OpenClaw discovery). */
  configs?: ConfigSource[];
  /** With --orphans: how the host-wide search went. */
  orphanScan?: { processes: number; socketPeers: boolean; fdsComplete: boolean } | null;
  /** Per instance (by root pid): private memory and PSS from smaps_rollup, read after the plan. Default: not read. */
  memory?: Map<number, MemoryFigure>;
  /** MemAvailable around a real run that reaped something; null otherwise. Default null. */
  hostMemory?: HostMemory | null;
  /** With --all: this gateway's place among every process of the name (0-based index, of how many). Default: absent. */
  all?: { name: string; index: number; of: number };
  /** An OpenClaw gateway's idle TTL, runtime-limit count and (--release-sessions) releases; null for other gateways. */
  openclaw?: OpenclawReport | null;
}

/** A gateway resolved beforehand (--all): its identity, and the other gateways its walk must not enter. */
export interface PassTarget {
  gateway: GatewayIdentity;
  cut: ReadonlySet<number>;
}

export interface PassHooks {
  /**
   * Called once the gateway is resolved, before the snapshot and any signal: the run layer takes or checks
   * that gateway's lock here, and throws (LockHeldError) to stop the pass before it acts.
   */
  onGateway?: (gateway: GatewayIdentity) => void;
  /** Tests: sends --release-sessions' calls instead of the gateway's WebSocket. */
  gatewayCall?: typeof callGateway;
  /** Called once the plan is made, before any signal (progress on a TTY). */
  onPlan?: (p: Plan) => void;
  /** Aborts the grace wait of a pass in progress (straight to SIGKILL). */
  signal?: AbortSignal;
  kill?: (pid: number, signal: NodeJS.Signals) => void;
  /** The activity history to fold this pass into (the loop keeps one in memory). Default: loaded from config.stateFile. */
  history?: ActivityHistory;
  /** smaps_rollup reads kept between passes (the loop keeps one). Default: none, every process is read. */
  rollups?: RollupCache;
}

export function summarize(p: Plan, results: InstanceResult[] | null, memory?: ReadonlyMap<number, MemoryFigure>): Summary {
  const all = instancesOf(p);
  const reaped = all.filter((i) => i.action === "reap");
  const count = (o: InstanceResult["outcome"]): number => results?.filter((r) => r.outcome === o).length ?? 0;
  const freed = new Set(results?.filter((r) => r.outcome !== "skipped" && r.outcome !== "failed").map((r) => r.rootPid));
  const counted = reaped.filter((i) => results === null || freed.has(i.rootPid));
  const exitsWith = counted.reduce((s, i) => s + (i.exitsWith ?? []).reduce((t, e) => t + e.rssBytes, 0), 0);
  const byReason: Record<string, number> = {};
  for (const i of reaped) byReason[i.reasonCode] = (byReason[i.reasonCode] ?? 0) + 1;
  const privates = counted.map((i) => memory?.get(i.rootPid)?.privateBytes ?? null);
  return {
    types: p.types.length,
    instances: all.length,
    kept: all.length - reaped.length,
    reaped: reaped.length,
    terminated: count("terminated"),
    killed: count("killed"),
    gone: count("gone"),
    skipped: count("skipped"),
    failed: count("failed"),
    rssReclaimedBytes: counted.reduce((s, i) => s + i.rssBytes, 0) + exitsWith,
    ignored: p.ignored.length,
    zombies: p.zombies.length,
    ...(all.some((i) => i.orphan) ? { orphans: all.filter((i) => i.orphan).length } : {}),
    ...(memory ? { privateReclaimedBytes: privates.reduce<number>((s, b) => s + (b ?? 0), 0), privateUnknown: privates.filter((b) => b === null).length } : {}),
    reapedByReason: byReason,
    ...(exitsWith > 0 ? { rssExitsWithBytes: exitsWith } : {}),
  };
}

/**
 * How long after the last target is gone MemAvailable is read again. The kernel frees a process's pages
 * as it exits, but folds its per-CPU page counters into the global ones lazily (vm.stat_interval, 1 s):
 * a look right away can miss a few MB per CPU. 100 ms is a compromise with the wait it adds to every
 * pass that reaped something; the figure is the host's change anyway, noisy by nature.
 */
export const HOST_SETTLE_MS = 100;

function settle(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Where `ss -xa` comes from: iproute2 on this host; a recorded tree carries its output beside it. */
export function ssUnixOf(procRoot: string): () => string | null {
  return procRoot === "/proc" ? runSsUnix : () => readText(`${procRoot}/ss-xa`);
}

/** The state file a run persists to: never for a recorded tree, whose history belongs to another host. */
function stateFileOf(config: PassConfig): string | null {
  return config.procRoot === "/proc" ? config.stateFile : null;
}

/**
 * The activity history a run starts from: the state file's (a recorded tree never touches it), or an
 * empty one. The loop opens it once and hands it to every pass; a one-shot pass opens it itself.
 */
export function openHistory(config: PassConfig): { history: ActivityHistory; warning: string | null } {
  const bootId = readBootId(config.procRoot);
  const stateFile = stateFileOf(config);
  return stateFile ? loadHistory(stateFile, bootId) : { history: emptyHistory(bootId), warning: null };
}

/** Runs one pass. Throws GatewayNotFoundError / GatewayGoneError when there is no gateway to look at. */
export async function runPass(config: PassConfig, hooks: PassHooks = {}, target: PassTarget | null = null): Promise<PassResult> {
  const started = Date.now();
  // Before anything of ours: the host's MemAvailable to compare with after the act step.
  const before = config.dryRun ? null : readMeminfo(config.procRoot);
  const protectedPids = protectedPidsOf(config.procRoot, process.pid);
  const gateway = target?.gateway ?? resolveGateway(config.gateway, config.procRoot, protectedPids);
  hooks.onGateway?.(gateway);
  const gatewayPid = gateway.pid;
  const tracking = config.policy.idleMs !== null;
  const discover = config.discoverConfig ?? true;
  const snapshot = takeSnapshot({
    procRoot: config.procRoot,
    gatewayPid,
    protectedPids,
    withIo: tracking,
    // Environments are read only when something uses them: --signature-env here, env-bearing config
    // entries below (their files are read after the snapshot, which names the gateway's user).
    environ: (config.policy.signatureEnv ?? []).length > 0,
    // A recorded tree carries its `ss -xa` output beside it: the host's sockets say nothing about it.
    orphans: config.policy.orphans ? { ssUnix: ssUnixOf(config.procRoot) } : null,
    ...(target ? { cut: target.cut } : {}),
  });
  // The lock taken in onGateway names this process: a pid reused in between is another gateway.
  if (snapshot.gateway.startTicks !== gateway.startTicks) throw new GatewayGoneError(`gateway ${gatewayPid} was replaced while being looked at`);
  const scanMs = Date.now() - started;
  const warnings: string[] = [];
  const view = gatewayView(config.procRoot, snapshot.gateway);
  const configs = loadConfigs({ paths: config.mcpConfigs ?? [], discover, procRoot: config.procRoot, gateway: snapshot.gateway, view });

  if (configs.entries.some((e) => Object.keys(e.env).length > 0)) readEnvirons(snapshot);
  const policy = {
    ...config.policy,
    servers: [...(config.policy.servers ?? []), ...configs.entries],
    ...(config.gateway.kind === "name" ? { hostNames: [...(config.policy.hostNames ?? []), config.gateway.name] } : {}),
  };
  const stateFile = stateFileOf(config);
  let history: ActivityHistory | undefined;
  if (tracking) {
    // A history handed in lives in this process's memory, so it is of this boot already.
    history = hooks.history;
    if (history === undefined) {
      const loaded = openHistory(config);
      if (loaded.warning) warnings.push(loaded.warning);
      history = loaded.history;
    }
  }
  const activity = history ? observe(history, snapshot, Date.now()) : new Map<number, IdleSpan | null>();
  // Sessions are read only around the gateway's MCP processes (by --match or a config entry's command):
  // the oldest one's start bounds what is read (the gateway's own workers, started with it, do not),
  // and a gateway with none costs nothing more. Its instance root (an anchor) starts a second or so
  // earlier, well inside the lookback.
  const sessions = config.sessions === false ? null : await senseSessions(view, snapshot, oldestMcpStart(snapshot, policy));
  if (sessions?.warning) warnings.push(sessions.warning);
  const store: SessionStore | null = sessions?.store ?? null;
  const p = makePlan(snapshot, policy, activity, store);
  hooks.onPlan?.(p);
  // After the plan, for the gateway's instances only: smaps_rollup makes the kernel walk page tables.
  const memory =
    config.readMemory === false
      ? undefined
      : new Map(instancesOf(p).map((i) => [i.rootPid, memoryOf(config.procRoot, i.members.filter((m) => m.state !== "Z" && m.state !== "X"), hooks.rollups)]));
  // A proc root other than /proc is a recorded or fake tree: its pids name no real process here.
  const dryRun = config.dryRun || config.procRoot !== "/proc";
  const results = dryRun
    ? null
    : await execute(p, {
        procRoot: config.procRoot,
        protectedPids,
        graceMs: config.graceMs,
        ...(hooks.kill ? { kill: hooks.kill } : {}),
        ...(hooks.signal ? { signal: hooks.signal } : {}),
      });
  let hostMemory: HostMemory | null = null;
  const reapedAny = results !== null && results.some((r) => r.outcome !== "skipped" && r.outcome !== "failed");
  hooks.rollups?.endPass(reapedAny);
  if (reapedAny) {
    const t0 = Date.now();
    await settle(HOST_SETTLE_MS, hooks.signal);
    const after = readMeminfo(config.procRoot);
    hostMemory = { availableBeforeBytes: before?.memAvailableBytes ?? null, availableAfterBytes: after?.memAvailableBytes ?? null, settleMs: Date.now() - t0 };
  }
  // After the reap: a release that fails or hangs is reported per session and never holds the reap up.
  const openclaw = await openclawAfterReap(
    {
      view,
      snapshot,
      plan: p,
      instances: instancesOf(p),
      store,
      releaseSessions: config.releaseSessions === true,
      readConfig: discover,
      dryRun,
      timeoutMs: RELEASE_TIMEOUT_MS,
      clientVersion: "mcp-reaper",
      ...(hooks.gatewayCall ? { call: hooks.gatewayCall } : {}),
    },
    warnings,
  );
  if (history && stateFile) {
    pruneHistory(history, config.procRoot);
    const warning = saveHistory(stateFile, history);
    if (warning) warnings.push(warning);
  }
  return {
    dryRun,
    takenAtMs: snapshot.takenAtMs,
    warnings,
    scan: { method: snapshot.method, processes: snapshot.procs.size + 1, durationMs: scanMs, skipped: snapshot.skipped },
    plan: p,
    results,
    summary: summarize(p, results, memory),
    durationMs: Date.now() - started,
    configs: configs.sources,
    orphanScan: snapshot.escaped
      ? { processes: snapshot.escaped.scanned, socketPeers: snapshot.escaped.socketPeers !== null, fdsComplete: snapshot.escaped.holdersComplete }
      : null,
    ...(memory ? { memory } : {}),
    hostMemory,
    openclaw,
  };
}

/** The start of the oldest process under the gateway that names an MCP server, or null when none does. */
function oldestMcpStart(snapshot: Snapshot, policy: Policy): number | null {
  const commands = new Set((policy.servers ?? []).map((e) => e.command.slice(e.command.lastIndexOf("/") + 1)));
  let oldest: number | null = null;
  for (const p of snapshot.procs.values()) {
    if (oldest !== null && p.startedAtMs >= oldest) continue;
    if (namesIn(p.argv).some((n) => policy.match.test(n) || commands.has(n))) oldest = p.startedAtMs;
  }
  return oldest;
}

/** The exit code a pass earns: 1 if any reap failed; with --check, 4 if the plan reaps anything. */
export function exitCodeOf(result: PassResult, check: boolean): number {
  if (check) return result.summary.reaped > 0 ? EXIT.DUPLICATES : EXIT.OK;
  return result.summary.failed > 0 ? EXIT.REAP_FAILED : EXIT.OK;
}
