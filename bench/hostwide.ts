// Benchmark part: a host-wide --orphans pass (dry run, no gateway) against a bare read of every
// /proc/PID/stat, at the N of the main benchmark. Run alone with `node dist/bench/hostwide.js`.
import { performance } from "node:perf_hooks";
import { DEFAULT_MATCH } from "../src/decide/planner.js";
import { runHostPass } from "../src/fleet/host.js";
import { listPids, readStatOrNull } from "../src/proc/read.js";
import type { PassConfig } from "../src/config.js";
import { roomFor, startSleepers } from "./sleepers.js";

/** The pass as `mcp-reaper --orphans --dry-run` runs it (default --match: whatever the host has is looked at). */
const CONFIG: PassConfig = {
  gateway: { kind: "host" },
  policy: { keep: 1, minAgeMs: 60_000, match: DEFAULT_MATCH, ignore: null, idleMs: null, orphans: { markers: [] } },
  graceMs: 5000,
  dryRun: true,
  procRoot: "/proc",
  stateFile: null,
};

function bareStatScan(): number {
  let n = 0;
  for (const pid of listPids("/proc")) if (readStatOrNull("/proc", pid) !== null) n++;
  return n;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

/** Medians of interleaved rounds, ms: the bare stat scan and the host-wide pass, and what the pass read. */
export async function hostWideTimes(rounds: number): Promise<{ bareMs: number; passMs: number; candidates: number; fdScan: boolean }> {
  const bare: number[] = [];
  const pass: number[] = [];
  let candidates = 0;
  let fdScan = false;
  for (let i = 0; i < rounds + 3; i++) {
    let t = performance.now();
    bareStatScan();
    const b = performance.now() - t;
    t = performance.now();
    const r = await runHostPass(CONFIG);
    const p = performance.now() - t;
    candidates = r.summary.instances + (r.plan.orphansLeft?.length ?? 0);
    fdScan = !r.orphanScan?.fdsComplete || r.plan.types.length > 0 || (r.plan.orphansLeft ?? []).some((o) => /held by|unknown/.test(o.reason));
    if (i < 3) continue; // warm-up rounds
    bare.push(b);
    pass.push(p);
  }
  return { bareMs: median(bare), passMs: median(pass), candidates, fdScan };
}

export const HOSTWIDE_TARGET = 3;

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_N ?? "0,1000,5000").split(",").map(Number);
  const rounds = Number(process.env.BENCH_ROUNDS ?? "21");
  process.stdout.write("| N | bare stat scan ms | host-wide --orphans pass ms | ratio | MCP candidates under pid 1 |\n|---:|---:|---:|---:|---:|\n");
  for (const n of sizes) {
    const noRoom = roomFor(n);
    if (noRoom !== null) {
      process.stdout.write(`| ${n} | skipped: ${noRoom} ||||\n`);
      continue;
    }
    const s = await startSleepers(n, 300_000);
    try {
      const t = await hostWideTimes(rounds);
      process.stdout.write(`| ${n} | ${t.bareMs.toFixed(1)} | ${t.passMs.toFixed(1)} | ${(t.passMs / t.bareMs).toFixed(2)}x | ${t.candidates} |\n`);
    } finally {
      s.kill();
    }
  }
}

if (process.argv[1]?.endsWith("hostwide.js")) void main();
