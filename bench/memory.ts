// Benchmark rows for memory: a pass with and without the smaps_rollup reads at 30 instances, the pressure
// check's cost per look, and RSS against private memory of a few idle node processes.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { DEFAULT_MATCH, instancesOf, type Policy } from "../src/decide/planner.js";
import { startWorld, type World } from "../src/demo/world.js";
import { runPass } from "../src/pass.js";
import { parseSmapsRollup } from "../src/proc/memparse.js";
import { RollupCache } from "../src/proc/memread.js";
import { PressureSensor } from "../src/supervise/pressure.js";

const POLICY: Policy = { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null };
/** Targets from the memory issue: smaps_rollup reads add at most 25% to a pass; a pressure look costs under 0.2 ms. */
const TARGET = { memoryPass: 1.25, lookMs: 0.2 };
const SESSIONS = 10; // x 3 server types = 30 instances
const LOOKS = 2000;
const IDLE_NODES = 6;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

type Times = { without: number; with: number; loop: number; instances: number; processes: number };

async function passTimes(world: World, rounds: number, warmupMs: number): Promise<Times> {
  const config = { gateway: { kind: "pid" as const, pid: world.gatewayPid }, policy: POLICY, graceMs: 1000, dryRun: true, procRoot: "/proc", stateFile: null, discoverConfig: false };
  // As the loop runs: one cache across its passes (nothing is reaped here, so it holds while RSS does).
  const rollups = new RollupCache();
  const variants = [
    { name: "without", run: () => runPass({ ...config, readMemory: false }) },
    { name: "with", run: () => runPass({ ...config, readMemory: true }) },
    { name: "loop", run: () => runPass({ ...config, readMemory: true }, { rollups }) },
  ];
  for (const v of variants) {
    const until = performance.now() + warmupMs;
    for (let k = 0; k < 3 || performance.now() < until; k++) await v.run();
  }
  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  let instances = 0;
  let processes = 0;
  // Three times the usual rounds: each pass is a few ms, and the ratio of two medians wants them steady.
  for (let round = 0; round < rounds * 3; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length] as (typeof variants)[number];
      const t0 = performance.now();
      const r = await v.run();
      (times.get(v.name) as number[]).push(performance.now() - t0);
      instances = instancesOf(r.plan).length;
      processes = r.scan.processes;
    }
  }
  const med = (name: string): number => median(times.get(name) as number[]);
  return { without: med("without"), with: med("with"), loop: med("loop"), instances, processes };
}

/** Cost of one look, every trigger on (meminfo, PSI, the gateway's pids limit or RLIMIT_NPROC bound). */
function lookCost(gatewayPid: number): { perLookMs: number; tasks: string } {
  const sensor = new PressureSensor({ memoryLow: { kind: "bytes", bytes: 1 }, tasksLow: 1, memoryPsi: 50, everyMs: 2000 }, "/proc");
  const tasks = sensor.target(gatewayPid) ?? "";
  for (let i = 0; i < 200; i++) sensor.look();
  const samples: number[] = [];
  for (let batch = 0; batch < 10; batch++) {
    const t0 = performance.now();
    for (let i = 0; i < LOOKS / 10; i++) sensor.look();
    samples.push((performance.now() - t0) / (LOOKS / 10));
  }
  return { perLookMs: median(samples), tasks };
}

function vmRssBytes(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;
}

/** RSS, PSS and private memory of IDLE_NODES idle `node` processes, as the memory issue measured them. */
async function idleNodes(): Promise<{ rss: number; pss: number; priv: number }> {
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < IDLE_NODES; i++) {
      const c = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000); process.stdout.write('up')"], { stdio: ["ignore", "pipe", "ignore"] });
      children.push(c);
      await new Promise((resolve) => c.stdout!.once("data", resolve));
    }
    // Let start-up settle: the heap grows for a moment after the first tick.
    await new Promise((r) => setTimeout(r, 1000));
    let rss = 0;
    let pss = 0;
    let priv = 0;
    for (const c of children) {
      rss += vmRssBytes(c.pid as number);
      const rollup = parseSmapsRollup(readFileSync(`/proc/${c.pid}/smaps_rollup`, "utf8"));
      pss += rollup?.pssBytes ?? 0;
      priv += rollup?.privateBytes ?? 0;
    }
    return { rss, pss, priv };
  } finally {
    for (const c of children) c.kill("SIGKILL");
  }
}

export async function memoryRows(worlds: World[], rounds: number, warmupMs: number, log: (t: string) => void): Promise<{ lines: string[]; checks: [string, boolean][] }> {
  log(`memory: a world of ${SESSIONS} sessions x 3 server types...`);
  const world = await startWorld({ sessions: SESSIONS, readyTimeoutMs: 60_000 });
  worlds.push(world);
  try {
    const pass = await passTimes(world, rounds, warmupMs);
    const ratio = pass.with / pass.without;
    const loopRatio = pass.loop / pass.without;
    const look = lookCost(world.gatewayPid);
    // The demo world's reaped instances, as the report counts them: private against summed RSS.
    const r = await runPass({ gateway: { kind: "pid", pid: world.gatewayPid }, policy: POLICY, graceMs: 1000, dryRun: true, procRoot: "/proc", stateFile: null, discoverConfig: false });
    const idle = await idleNodes();
    const lines = [
      `Memory: dry-run pass (resolve, snapshot, plan) at ${pass.instances} instances (${pass.processes} processes), medians of ${rounds * 3} interleaved runs: ` +
        `without smaps_rollup ${pass.without.toFixed(2)} ms; with them, every process read (a one-shot run) ${pass.with.toFixed(2)} ms: ${ratio.toFixed(2)}x; ` +
        `with them as the loop reads them (reused while RSS holds) ${pass.loop.toFixed(2)} ms: ${loopRatio.toFixed(2)}x.`,
      `Pressure look (meminfo, PSI, task limit: ${look.tasks || "none"}): ${(look.perLookMs * 1000).toFixed(1)} µs per look (median of 10 batches of ${LOOKS / 10}).`,
      `Reclaimable in that world: ${mb(r.summary.privateReclaimedBytes ?? 0)} private, ${mb(r.summary.rssReclaimedBytes)} summed RSS (${(r.summary.rssReclaimedBytes / (r.summary.privateReclaimedBytes || 1)).toFixed(1)}x).`,
      `${IDLE_NODES} idle \`node\` processes (${process.version}): RSS ${mb(idle.rss)}, PSS ${mb(idle.pss)}, private ${mb(idle.priv)} (RSS / private ${(idle.rss / idle.priv).toFixed(1)}x).`,
    ];
    const checks: [string, boolean][] = [
      [`loop pass with smaps_rollup <= ${TARGET.memoryPass}x: ${loopRatio.toFixed(2)}x`, loopRatio <= TARGET.memoryPass],
      [`one-shot pass with smaps_rollup <= ${TARGET.memoryPass}x: ${ratio.toFixed(2)}x`, ratio <= TARGET.memoryPass],
      [`pressure look < ${TARGET.lookMs}ms: ${look.perLookMs.toFixed(3)}ms`, look.perLookMs < TARGET.lookMs],
    ];
    return { lines, checks };
  } finally {
    await world.stop();
  }
}
