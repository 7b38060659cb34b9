// Benchmark child: runs dry-run passes back to back against a gateway, each as the supervisor runs a
// slot (loopPass: the pass, then the garbage handed back), and prints RSS samples as JSON. In a process
// of its own so the benchmark's other measurements do not pollute its heap.
import type { PassConfig } from "../src/config.js";
import { DEFAULT_MATCH } from "../src/decide/planner.js";
import { loopPass } from "../src/supervise/loop.js";
import { closeRun, openRun } from "../src/supervise/run.js";

const gatewayPid = Number(process.argv[2]);
const passes = Number(process.argv[3] ?? "5000");
const sampleAt = new Set([100, passes]);
for (let i = 500; i < passes; i += 500) sampleAt.add(i);

const config: PassConfig = {
  gateway: { kind: "pid", pid: gatewayPid },
  policy: { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null },
  graceMs: 5000,
  dryRun: true,
  stateFile: null,
  procRoot: "/proc",
};
let processes = 0;
let problems = 0;
const state = openRun({ lock: false, metricsFile: null }, () => undefined);
const log = (e: { kind: string; result?: { scan: { processes: number } } }): void => {
  if (e.kind === "pass" && e.result) processes = e.result.scan.processes;
  else if (e.kind !== "info") problems++;
};
const samples: { passes: number; rssBytes: number; heapUsedBytes: number }[] = [];
const stop = new AbortController().signal;
for (let i = 1; i <= passes; i++) {
  await loopPass(state, config, stop, log);
  if (sampleAt.has(i)) {
    const m = process.memoryUsage();
    samples.push({ passes: i, rssBytes: m.rss, heapUsedBytes: m.heapUsed });
  }
}
closeRun(state);
if (problems > 0 || processes === 0) {
  process.stderr.write(`loop-memory: ${problems} warnings or errors, ${processes} processes in the last pass\n`);
  process.exitCode = 1;
}
process.stdout.write(`${JSON.stringify({ processes, samples })}\n`);
