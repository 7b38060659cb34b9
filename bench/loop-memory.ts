// Benchmark child: runs dry-run passes back to back against a gateway and prints RSS samples as JSON,
// in a process of its own so the benchmark's other measurements do not pollute its heap.
import { DEFAULT_MATCH } from "../src/decide/planner.js";
import { runPass } from "../src/pass.js";

const gatewayPid = Number(process.argv[2]);
const passes = Number(process.argv[3] ?? "5000");
const sampleAt = new Set([100, passes]);
for (let i = 500; i < passes; i += 500) sampleAt.add(i);

const samples: { passes: number; rssBytes: number; heapUsedBytes: number }[] = [];
let processes = 0;
for (let i = 1; i <= passes; i++) {
  const r = await runPass({
    gateway: { kind: "pid", pid: gatewayPid },
    policy: { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null },
    graceMs: 5000,
    dryRun: true,
    stateFile: null,
    procRoot: "/proc",
  });
  processes = r.scan.processes;
  if (sampleAt.has(i)) {
    const m = process.memoryUsage();
    samples.push({ passes: i, rssBytes: m.rss, heapUsedBytes: m.heapUsed });
  }
}
process.stdout.write(`${JSON.stringify({ processes, samples })}\n`);
