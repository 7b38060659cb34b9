// Benchmark part: a host-wide --orphans pass (dry run, no gateway) against a bare read of every
// /proc/PID/stat, at the N of the main benchmark. Run alone with `node dist/bench/hostwide.js`.
import { spawn } from "node:child_process";
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
export async function hostWideTimes(rounds: number): Promise<{ bareMs: number; passMs: number; candidates: number }> {
  const bare: number[] = [];
  const pass: number[] = [];
  let candidates = 0;
  for (let i = 0; i < rounds + 3; i++) {
    let t = performance.now();
    bareStatScan();
    const b = performance.now() - t;
    t = performance.now();
    const r = await runHostPass(CONFIG);
    const p = performance.now() - t;
    candidates = r.summary.instances + (r.plan.orphansLeft?.length ?? 0);
    if (i < 3) continue; // warm-up rounds
    bare.push(b);
    pass.push(p);
  }
  return { bareMs: median(bare), passMs: median(pass), candidates };
}

export const HOSTWIDE_TARGET = 3;

/** A dead host's two orphans under pid 1 (or a subreaper), as a crash leaves them: one on pipes, one on a socketpair. */
export interface DeadHost {
  pids: number[];
  /** SIGKILLs both orphans; idempotent. They also exit by themselves after 10 minutes. */
  kill(): void;
}

function waitLine(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    child.stdout?.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("\n")) resolve(text.trim());
    });
    child.once("error", reject);
    child.once("exit", () => reject(new Error(`host exited before it was ready: ${text}`)));
  });
}

/**
 * Starts the two hosts and SIGKILLs them once their servers run: bash holds the ends of one server's
 * stdin and stdout pipes (the server in a session of its own, so the host's group dies without it); a
 * node host gives the other libuv's socketpairs (the server in a group of its own). Ready when both
 * have been adopted (by pid 1, or a subreaper).
 */
export async function startDeadHost(): Promise<DeadHost> {
  const pipeHost = spawn(
    "bash",
    ["-c", 'exec 3< <(sleep 600) 4> >(sleep 600); setsid bash -c "exec -a mcp-bench-dead-pipe sleep 600" <&3 >&4 & echo $!; wait'],
    { stdio: ["ignore", "pipe", "ignore"], detached: true },
  );
  const sockHost = spawn(
    process.execPath,
    ["-e", 'const c = require("child_process").spawn("sleep", ["600"], { argv0: "mcp-bench-dead-sock", detached: true, stdio: ["pipe", "pipe", "ignore"] }); console.log(c.pid); setInterval(() => {}, 1000);'],
    { stdio: ["ignore", "pipe", "ignore"], detached: true },
  );
  const pids: number[] = [];
  const killAll = (): void => {
    for (const target of [...pids, ...[pipeHost, sockHost].map((h) => -(h.pid as number))]) {
      try {
        process.kill(target, "SIGKILL");
      } catch {
        // gone already
      }
    }
  };
  try {
    pids.push(Number(await waitLine(pipeHost)), Number(await waitLine(sockHost)));
    for (const host of [pipeHost, sockHost]) {
      host.removeAllListeners("exit");
      process.kill(-(host.pid as number), "SIGKILL");
    }
    // Adopted by pid 1, or by a subreaper (systemd --user) where the bench runs under one.
    const hosts = new Set([pipeHost.pid, sockHost.pid]);
    const deadline = Date.now() + 10_000;
    const adopted = (pid: number): boolean => {
      const stat = readStatOrNull("/proc", pid);
      if (stat === null) throw new Error(`the dead host's orphan ${pid} exited`);
      return !hosts.has(stat.ppid);
    };
    while (!pids.every(adopted)) {
      if (Date.now() > deadline) throw new Error("the dead host's orphans were not reparented");
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (err) {
    killAll();
    throw err;
  }
  let killed = false;
  return {
    pids,
    kill(): void {
      if (killed) return;
      killed = true;
      killAll();
    },
  };
}

/** Both rows at one N: the host as it is, and with a dead host's two orphans under pid 1. */
export async function hostWideRows(n: number, rounds: number): Promise<{ rows: string[]; worst: number }> {
  const fmt = (x: number): string => x.toFixed(1);
  const plain = await hostWideTimes(rounds);
  const dead = await startDeadHost();
  try {
    const withDead = await hostWideTimes(rounds);
    // What the pass had to read follows from what is there: no candidate, nothing; a pipe candidate always
    // needs every process's fd links (pipes have no shortcut), a socketpair one an `ss -xa`.
    const row = (label: string, t: Awaited<ReturnType<typeof hostWideTimes>>, reads: string): string =>
      `| ${n} | ${label} | ${fmt(t.bareMs)} | ${fmt(t.passMs)} | ${(t.passMs / t.bareMs).toFixed(2)}x | ${t.candidates} | ${reads} |`;
    const plainReads = plain.candidates === 0 ? "none" : "candidates', and more as the host's own candidates need";
    return { rows: [row("none", plain, plainReads), row("pipe + socketpair", withDead, "every process's, and one `ss -xa`")], worst: Math.max(plain.passMs / plain.bareMs, withDead.passMs / withDead.bareMs) };
  } finally {
    dead.kill();
  }
}

export const HOSTWIDE_HEADER = [
  "| N | dead host's orphans | bare stat scan ms | host-wide pass ms | ratio | MCP candidates under pid 1 | fd links read besides the stats |",
  "|---:|---|---:|---:|---:|---:|---|",
];

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_N ?? "0,1000,5000").split(",").map(Number);
  const rounds = Number(process.env.BENCH_ROUNDS ?? "21");
  process.stdout.write(HOSTWIDE_HEADER.join("\n") + "\n");
  for (const n of sizes) {
    const noRoom = roomFor(n);
    if (noRoom !== null) {
      process.stdout.write(`| ${n} | skipped: ${noRoom} ||||||\n`);
      continue;
    }
    const s = await startSleepers(n, 300_000);
    try {
      process.stdout.write((await hostWideRows(n, rounds)).rows.join("\n") + "\n");
    } finally {
      s.kill();
    }
  }
}

if (process.argv[1]?.endsWith("hostwide.js")) void main();
