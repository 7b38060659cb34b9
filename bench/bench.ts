// `npm run bench`: mcp-reaper against ps-list, pidtree + pidusage, a full /proc scan and the bare
// children-file walk, on a real leaky gateway plus N unrelated sleepers; whole-process cost; loop
// memory; kill latency. Prints a markdown table and one summary line. A script, not a test.
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, release, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pidtree from "pidtree";
import pidusage from "pidusage";
import psList from "ps-list";
import { DEFAULT_MATCH, instancesOf, plan, type Policy } from "../src/decide/planner.js";
import { startWorld, type World } from "../src/demo/world.js";
import { runPass } from "../src/pass.js";
import { resolveGateway } from "../src/proc/gateway.js";
import { protectedPidsOf, takeSnapshot } from "../src/proc/snapshot.js";
import { formatSessionsRow, SESSIONS_TARGET, sessionsRow } from "./sessions.js";
import { roomFor, startSleepers, type Sleepers } from "./sleepers.js";
import { memoryRows } from "./memory.js";
import { HOSTWIDE_HEADER, HOSTWIDE_TARGET, hostWideRows } from "./hostwide.js";

const ROUNDS = Math.max(15, Number(process.env.BENCH_ROUNDS ?? "21"));
const SIZES = (process.env.BENCH_N ?? "0,1000,5000").split(",").map(Number);
const LOOP_PASSES = Number(process.env.BENCH_LOOP_PASSES ?? "5000");
const LOOP_AT_N = 1000;
const WARMUP_MS = 300;
const KILL_ROUNDS = 5;
/** Grace for the kill-latency world: short, so the TERM-ignoring server is killed quickly. */
const KILL_GRACE_MS = 1000;
const BIN = fileURLToPath(new URL("../../bin/mcp-reaper.js", import.meta.url));
const LOOP_CHILD = fileURLToPath(new URL("./loop-memory.js", import.meta.url));
const POLICY: Policy = { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null };

const TARGET = { vsPsList: 50, vsFloor: 2, wallTime: 1.5, peakRss: 1.3, loopGrowth: 0.05, termMs: 200, ignoreExtraMs: 200 };

const log = (text: string): void => void process.stderr.write(`bench: ${text}\n`);
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

// ---- the contenders: each returns how many descendants of the gateway it found ----

function inProcessScan(gatewayPid: number, fullScan: boolean): number {
  const protectedPids = protectedPidsOf("/proc", process.pid);
  const { pid } = resolveGateway({ kind: "pid", pid: gatewayPid }, "/proc", protectedPids);
  const snapshot = takeSnapshot({ gatewayPid: pid, protectedPids, fullScan });
  plan(snapshot, POLICY);
  return snapshot.procs.size;
}

async function psListTree(gatewayPid: number): Promise<number> {
  const byParent = new Map<number, number[]>();
  for (const p of await psList()) {
    const list = byParent.get(p.ppid);
    if (list) list.push(p.pid);
    else byParent.set(p.ppid, [p.pid]);
  }
  const queue = [gatewayPid];
  for (let i = 0; i < queue.length; i++) queue.push(...(byParent.get(queue[i] as number) ?? []));
  return queue.length - 1;
}

async function pidtreeUsage(gatewayPid: number): Promise<number> {
  const pids = await pidtree(gatewayPid);
  // pidusage keeps a timer for its history; clear() lets the process exit.
  const stats = await pidusage(pids);
  pidusage.clear();
  return Object.keys(stats).length;
}

const floorBuffer = Buffer.allocUnsafe(64 * 1024);

/** Whole file into floorBuffer (open, read to EOF, close: what any correct reader does), as latin1. */
function readFloor(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    let length = 0;
    for (let n = -1; n !== 0 && length < floorBuffer.length; length += n) n = readSync(fd, floorBuffer, length, floorBuffer.length - length, null);
    return floorBuffer.toString("latin1", 0, length);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * The floor: pids only, no stat, no argv, nothing checked, one reused buffer. What any walk of the
 * children files must at least read.
 */
function bareChildrenWalk(gatewayPid: number): number {
  const queue = [gatewayPid];
  for (let i = 0; i < queue.length; i++) {
    const pid = queue[i] as number;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const text = readFloor(`/proc/${pid}/task/${tid}/children`);
      if (text !== null) for (const word of text.split(" ")) if (word !== "") queue.push(Number(word));
    }
  }
  return queue.length - 1;
}

interface Contender {
  name: string;
  run: (gatewayPid: number) => number | Promise<number>;
}

const CONTENDERS: Contender[] = [
  { name: "scan (children files)", run: (g) => inProcessScan(g, false) },
  { name: "scan (full /proc)", run: (g) => inProcessScan(g, true) },
  { name: "ps-list + tree", run: psListTree },
  { name: "pidtree + pidusage", run: pidtreeUsage },
  { name: "bare children walk", run: bareChildrenWalk },
];

/** Interleaved: every round runs every contender once, in an order rotated each round. */
async function scanTimes(gatewayPid: number, n: number): Promise<Map<string, number>> {
  const times = new Map<string, number[]>(CONTENDERS.map((c) => [c.name, []]));
  const found = new Map<string, Set<number>>(CONTENDERS.map((c) => [c.name, new Set()]));
  // Untimed warm-up, the same for every contender: each runs for WARMUP_MS (at least 3 times). Early
  // calls run unoptimised code (the scan's median over its first 24 calls was ~15% above its steady
  // state), and a one-shot run's cold cost is measured apart, as the whole process.
  for (const c of CONTENDERS) {
    const until = performance.now() + WARMUP_MS;
    for (let k = 0; k < 3 || performance.now() < until; k++) await c.run(gatewayPid);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < CONTENDERS.length; k++) {
      const c = CONTENDERS[(round + k) % CONTENDERS.length] as Contender;
      const t0 = performance.now();
      const count = await c.run(gatewayPid);
      (times.get(c.name) as number[]).push(performance.now() - t0);
      found.get(c.name)?.add(count);
    }
    if (round % 5 === 4) log(`N=${n}: scan round ${round + 1}/${ROUNDS}`);
  }
  // Every contender must see the same tree, or the race is not fair.
  const counts = [...found].map(([name, set]) => `${name}: ${[...set].join("/")}`);
  if (new Set([...found.values()].flatMap((s) => [...s])).size !== 1) log(`warning: descendant counts differ: ${counts.join(", ")}`);
  return new Map([...times].map(([name, xs]) => [name, median(xs)]));
}

// ---- whole process: wall time and peak RSS, both measured the same way for both commands ----

interface ProcessCost {
  wallMs: number;
  maxRssBytes: number;
}

function runMeasured(preload: string, args: string[]): ProcessCost {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--require", preload, ...args], { encoding: "utf8", env, timeout: 30_000 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr.trim()}`);
  const m = /maxrss_kb=(\d+)/.exec(r.stderr);
  if (!m) throw new Error(`${args.join(" ")}: no maxrss line on stderr`);
  return { wallMs, maxRssBytes: Number(m[1]) * 1024 };
}

async function processCosts(gatewayPid: number, preload: string, n: number): Promise<{ node: ProcessCost; reaper: ProcessCost }> {
  const node: ProcessCost[] = [];
  const reaper: ProcessCost[] = [];
  const reaperArgs = [BIN, "--gateway-pid", String(gatewayPid), "--dry-run", "--json"];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) node.push(runMeasured(preload, ["-e", "0"]));
    reaper.push(runMeasured(preload, reaperArgs));
    if (round % 2 === 1) node.push(runMeasured(preload, ["-e", "0"]));
  }
  log(`N=${n}: whole-process runs done`);
  const med = (xs: ProcessCost[]): ProcessCost => ({ wallMs: median(xs.map((x) => x.wallMs)), maxRssBytes: median(xs.map((x) => x.maxRssBytes)) });
  return { node: med(node), reaper: med(reaper) };
}

// ---- loop memory and kill latency ----

function loopMemory(gatewayPid: number): { rss100: number; rssEnd: number; samples: string } {
  log(`N=${LOOP_AT_N}: ${LOOP_PASSES} dry-run passes in a child process...`);
  // Node's defaults, as the units run the supervisor: nothing from our environment.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, [LOOP_CHILD, String(gatewayPid), String(LOOP_PASSES)], { encoding: "utf8", timeout: 240_000, env });
  if (r.status !== 0) throw new Error(`loop-memory child exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  const doc = JSON.parse(r.stdout) as { samples: { passes: number; rssBytes: number }[] };
  const at = (k: number): number => doc.samples.find((s) => s.passes === k)?.rssBytes ?? NaN;
  return {
    rss100: at(100),
    rssEnd: at(LOOP_PASSES),
    samples: doc.samples.map((s) => `${s.passes}: ${mb(s.rssBytes)}`).join(", "),
  };
}

async function killLatency(worlds: World[]): Promise<{ termMs: number[]; ignoreMs: number[] }> {
  const world = await startWorld({ sessions: 2, ignoreTermType: "fetch" });
  worlds.push(world);
  const termMs: number[] = [];
  const ignoreMs: number[] = [];
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const r = await runPass({ gateway: { kind: "pid", pid: world.gatewayPid }, policy: POLICY, graceMs: KILL_GRACE_MS, dryRun: false, procRoot: "/proc", stateFile: null });
    const byRoot = new Map(instancesOf(r.plan).map((i) => [i.rootPid, i]));
    for (const result of r.results ?? []) {
      const ignores = byRoot.get(result.rootPid)?.signature.label.includes("--ignore-term") ?? false;
      if (result.outcome !== (ignores ? "killed" : "terminated")) throw new Error(`kill latency: instance ${result.rootPid} ended ${result.outcome}`);
      (ignores ? ignoreMs : termMs).push(result.durationMs);
    }
    log(`kill latency round ${round + 1}/${KILL_ROUNDS}`);
    if (round < KILL_ROUNDS - 1) await world.startSession();
  }
  await world.stop();
  return { termMs, ignoreMs };
}

function machine(): string {
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown CPU";
  return `${availableParallelism()} x ${model}, Linux ${release()}, Node ${process.version}`;
}

async function main(): Promise<number> {
  const worlds: World[] = [];
  let sleepers: Sleepers | null = null;
  const tmp = mkdtempSync(join(tmpdir(), "reaper-bench-"));
  // Clean-up that must happen whatever ends the run: the sleepers' group is killed synchronously.
  const cleanupSync = (): void => {
    sleepers?.kill();
    rmSync(tmp, { recursive: true, force: true });
  };
  process.on("exit", cleanupSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      log(`${sig}: cleaning up`);
      cleanupSync();
      void Promise.all(worlds.map((w) => w.stop())).finally(() => process.exit(130));
    });
  }

  try {
    const preload = join(tmp, "maxrss.cjs");
    writeFileSync(preload, `process.on("exit", () => require("fs").writeSync(2, "maxrss_kb=" + process.resourceUsage().maxRSS + "\\n"));\n`);
    log(`machine: ${machine()}; ${ROUNDS} interleaved rounds per measurement`);
    const world = await startWorld({ sessions: 4 });
    worlds.push(world);
    log(`world: gateway ${world.gatewayPid}, ${world.servers().length} servers`);

    const scanRows: string[] = [];
    const processRows: string[] = [];
    const hostRows: string[] = [];
    const ratios = { vsPsList: Infinity, vsFloor: 0, wallTime: 0, peakRss: 0, hostWide: 0 };
    let loop: ReturnType<typeof loopMemory> | null = null;
    for (const n of SIZES) {
      const noRoom = roomFor(n);
      if (noRoom !== null) {
        log(`N=${n}: skipped: ${noRoom}`);
        scanRows.push(`| ${n} | skipped: ${noRoom} |||||||`);
        continue;
      }
      log(`N=${n}: starting ${n} sleepers...`);
      sleepers = await startSleepers(n);
      try {
        const t = await scanTimes(world.gatewayPid, n);
        const get = (name: string): number => t.get(name) as number;
        const scan = get("scan (children files)");
        const vsPsList = get("ps-list + tree") / scan;
        const vsFloor = scan / get("bare children walk");
        ratios.vsPsList = Math.min(ratios.vsPsList, vsPsList);
        ratios.vsFloor = Math.max(ratios.vsFloor, vsFloor);
        // What the floor itself gets against ps-list: no walk of the children files can do better.
        const floorVsPsList = get("ps-list + tree") / get("bare children walk");
        scanRows.push(`| ${n} | ${CONTENDERS.map((c) => ms(get(c.name))).join(" | ")} | ${vsPsList.toFixed(0)}x | ${vsFloor.toFixed(2)}x | ${floorVsPsList.toFixed(0)}x |`);

        const cost = await processCosts(world.gatewayPid, preload, n);
        const wall = cost.reaper.wallMs / cost.node.wallMs;
        const rss = cost.reaper.maxRssBytes / cost.node.maxRssBytes;
        ratios.wallTime = Math.max(ratios.wallTime, wall);
        ratios.peakRss = Math.max(ratios.peakRss, rss);
        processRows.push(
          `| ${n} | ${ms(cost.node.wallMs)} | ${ms(cost.reaper.wallMs)} | ${wall.toFixed(2)}x | ${mb(cost.node.maxRssBytes)} | ${mb(cost.reaper.maxRssBytes)} | ${rss.toFixed(2)}x |`,
        );
        if (n === LOOP_AT_N) loop = loopMemory(world.gatewayPid);
        const hw = await hostWideRows(n, ROUNDS);
        ratios.hostWide = Math.max(ratios.hostWide, hw.worst);
        hostRows.push(...hw.rows);
      } finally {
        sleepers.kill();
        sleepers = null;
      }
    }
    await world.stop();
    log("kill latency: a world with a SIGTERM-ignoring server type...");
    const kill = await killLatency(worlds);
    const memory = await memoryRows(worlds, ROUNDS, WARMUP_MS, log);

    log("sessions: a pass with a 1,000-session store against --no-sessions...");
    const sessions = await sessionsRow(ROUNDS);

    const loopGrowth = loop ? (loop.rssEnd - loop.rss100) / loop.rss100 : NaN;
    const termMs = median(kill.termMs);
    const ignoreMs = median(kill.ignoreMs);
    const out: string[] = [];
    out.push(`Machine: ${machine()}. Medians of ${ROUNDS} interleaved runs after ${WARMUP_MS} ms of untimed ones per contender, in ms; N unrelated sleeping processes besides a gateway with 29 descendants.`, "");
    out.push(`| N | ${CONTENDERS.map((c) => c.name).join(" | ")} | ps-list / scan | scan / bare walk | ps-list / bare walk |`);
    out.push(`|---:|${CONTENDERS.map(() => "---:").join("|")}|---:|---:|---:|`);
    out.push(...scanRows, "");
    out.push("Whole process, `mcp-reaper --gateway-pid P --dry-run --json` against `node -e 0` (wall time from spawn to exit; peak RSS from `process.resourceUsage().maxRSS` printed at exit by a `--require` preload in both):", "");
    out.push("| N | `node -e 0` ms | mcp-reaper ms | time ratio | `node -e 0` peak RSS | mcp-reaper peak RSS | RSS ratio |");
    out.push("|---:|---:|---:|---:|---:|---:|---:|");
    out.push(...processRows, "");
    out.push(
      "Host-wide `--orphans --dry-run` pass (no gateway) against a bare read of every /proc/PID/stat, on the host as it is and with a dead host's two orphans under pid 1. " +
        "Fd links are read for MCP candidates under pid 1; a pipe's holders need every process's (no kernel file says whether a pipe still has a reader or writer), and a socket's peer needs one `ss -xa` (sock_diag is netlink, which Node cannot open; spawning any child from Node costs ~5 ms here):",
      "",
    );
    out.push(...HOSTWIDE_HEADER);
    out.push(...hostRows, "");
    out.push(loop ? `Loop: RSS after ${LOOP_PASSES} dry-run passes at N=${LOOP_AT_N}: ${loop.samples}.` : "Loop: not measured (N=1000 skipped).");
    out.push(
      `Kill latency from the start of the act step (${kill.termMs.length + kill.ignoreMs.length} instances over ${KILL_ROUNDS} passes, grace ${KILL_GRACE_MS} ms): ` +
        `TERM-honouring median ${ms(termMs)} ms (max ${ms(Math.max(...kill.termMs))}), TERM-ignoring median ${ms(ignoreMs)} ms (max ${ms(Math.max(...kill.ignoreMs))}).`,
      formatSessionsRow(sessions),
      "",
    );
    out.push(...memory.lines, "");
    const checks: [string, boolean][] = [
      [`scan vs ps-list >= ${TARGET.vsPsList}x: min ${ratios.vsPsList.toFixed(0)}x`, ratios.vsPsList >= TARGET.vsPsList],
      [`scan vs bare walk <= ${TARGET.vsFloor}x: max ${ratios.vsFloor.toFixed(2)}x`, ratios.vsFloor <= TARGET.vsFloor],
      [`time vs node -e 0 <= ${TARGET.wallTime}x: max ${ratios.wallTime.toFixed(2)}x`, ratios.wallTime <= TARGET.wallTime],
      [`peak RSS vs node -e 0 <= ${TARGET.peakRss}x: max ${ratios.peakRss.toFixed(2)}x`, ratios.peakRss <= TARGET.peakRss],
      [`loop RSS growth 100->${LOOP_PASSES} <= ${TARGET.loopGrowth * 100}%: ${(loopGrowth * 100).toFixed(1)}%`, Math.abs(loopGrowth) <= TARGET.loopGrowth],
      [`host-wide pass vs stat scan <= ${HOSTWIDE_TARGET}x: max ${ratios.hostWide.toFixed(2)}x`, ratios.hostWide <= HOSTWIDE_TARGET],
      [`TERM kill <= ${TARGET.termMs}ms: ${ms(termMs)}ms`, termMs <= TARGET.termMs],
      [`ignore-TERM kill <= grace+${TARGET.ignoreExtraMs}ms: ${ms(ignoreMs)}ms`, ignoreMs <= KILL_GRACE_MS + TARGET.ignoreExtraMs],
      [`sessions pass CPU vs --no-sessions <= ${SESSIONS_TARGET}x: ${sessions.ratio.toFixed(2)}x`, sessions.ratio <= SESSIONS_TARGET && sessions.transcriptsRead <= sessions.candidates],
      ...memory.checks,
    ];
    out.push(`summary: ${checks.map(([text, ok]) => `${text} ${ok ? "PASS" : "FAIL"}`).join("; ")}`);
    process.stdout.write(`${out.join("\n")}\n`);
    return checks.every(([, ok]) => ok) ? 0 : 1;
  } finally {
    await Promise.all(worlds.map((w) => w.stop()));
    cleanupSync();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  },
);
