// One host-wide dead-orphan pass (--orphans with no gateway): sense every process, decide which orphans
// under pid 1 or a subreaper nobody can reach, act with the same act step, report as a pass.
import { execute } from "../act/execute.js";
import type { PassConfig } from "../config.js";
import { isMcpRoot, planHost } from "../decide/hostwide.js";
import { loadConfigs } from "../hosts/read.js";
import { ssUnixOf, summarize, type PassHooks, type PassResult } from "../pass.js";
import { senseHostOrphans } from "../proc/escaped.js";
import { scanHost } from "../proc/host.js";
import { parseUptimeMs } from "../proc/parse.js";
import { readText } from "../proc/read.js";
import { GatewayGoneError, protectedPidsOf, readProcInfo, type ProcInfo, type Snapshot } from "../proc/snapshot.js";

/** Whose orphans a host-wide pass may reap: the invoking user's, or anyone's when run as root. */
export function orphanOwner(): number | null {
  const uid = process.getuid?.() ?? null;
  return uid === 0 ? null : uid;
}

export async function runHostPass(config: PassConfig, hooks: PassHooks = {}, uid: number | null = orphanOwner()): Promise<PassResult> {
  const started = Date.now();
  const procRoot = config.procRoot;
  const protectedPids = protectedPidsOf(procRoot, process.pid);
  const uptimeText = readText(`${procRoot}/uptime`);
  if (uptimeText === null) throw new GatewayGoneError(`cannot read ${procRoot}/uptime: is ${procRoot} a proc filesystem?`);
  // --mcp-config files name servers before the search: a root that runs an entry is a candidate. Their
  // environments are read only when an entry is told apart by env.
  const configs = loadConfigs({ paths: config.mcpConfigs ?? [], discover: false, procRoot, gateway: { pid: 1, uid: null, comm: "", argv: [] } });
  const policy = { ...config.policy, servers: [...(config.policy.servers ?? []), ...configs.entries] };
  const environ = policy.servers.some((e) => Object.keys(e.env).length > 0) || (policy.signatureEnv ?? []).length > 0;
  const at = { uptimeMs: parseUptimeMs(uptimeText), takenAtMs: Date.now(), skipped: [] as Snapshot["skipped"], environ, io: false, uid: true };
  const host = scanHost(procRoot, (pid, why) => at.skipped.push({ pid, why }));
  const initStat = host.stats.get(1);
  const init = initStat ? readProcInfo(procRoot, initStat, at) : null;
  if (init === null) throw new GatewayGoneError(`cannot read ${procRoot}/1: is ${procRoot} a proc filesystem?`);
  // One host-wide reaper at a time per pid namespace: the run layer locks pid 1's identity.
  hooks.onGateway?.({ pid: 1, startTicks: init.startTicks });
  const facts = senseHostOrphans(procRoot, { protectedPids, uid, want: (root: ProcInfo) => isMcpRoot(root, policy), ssUnix: ssUnixOf(procRoot) }, host, (stat) => readProcInfo(procRoot, stat, at));
  const scanMs = Date.now() - started;
  const p = planHost(facts, init, protectedPids, policy);
  hooks.onPlan?.(p);
  const dryRun = config.dryRun || procRoot !== "/proc";
  const results = dryRun
    ? null
    : await execute(p, {
        procRoot,
        protectedPids,
        graceMs: config.graceMs,
        ...(hooks.kill ? { kill: hooks.kill } : {}),
        ...(hooks.signal ? { signal: hooks.signal } : {}),
      });
  return {
    dryRun,
    takenAtMs: at.takenAtMs,
    warnings: [],
    scan: { method: "full-scan", processes: host.stats.size, durationMs: scanMs, skipped: at.skipped },
    plan: p,
    results,
    summary: summarize(p, results),
    durationMs: Date.now() - started,
    configs: configs.sources,
    // socketPeers is false only when a socket end needed `ss` and it could not be had.
    orphanScan: { processes: facts.scanned, socketPeers: facts.socketPeers !== null || ![...facts.stdio.values()].some((ends) => ends?.some((e) => e.kind === "socket")), fdsComplete: facts.holdersComplete },
  };
}
