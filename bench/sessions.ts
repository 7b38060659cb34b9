// Bench row: the cost of reading an OpenClaw session store in a pass. A gateway with 30 instances and a
// store of 1,000 sessions (30 recent hook runs whose first turns hold the instances, 970 older ones),
// one pass with sessions against the same pass with --no-sessions, interleaved; the median ratio.
// Run alone: node dist/bench/sessions.js (npm run bench runs it as one of its rows).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { DEFAULT_MATCH } from "../src/decide/planner.js";
import { runPass } from "../src/pass.js";
import { makeFakeProc, type FakeProc } from "../test/unit/fakeproc.js";
import { T0, turnEvents, writeJsonStore, type FakeSession } from "../test/unit/sessionfixture.js";

export const SESSIONS_TARGET = 2;

export interface SessionsRow {
  /** Medians of wall time per pass. */
  withMs: number;
  withoutMs: number;
  /** Medians of CPU time (user + system) per pass: what the pass costs, without the waits for a core on a loaded host. */
  withCpuMs: number;
  withoutCpuMs: number;
  /** CPU-time ratio: the figure the target is checked against. */
  ratio: number;
  wallRatio: number;
  transcriptsRead: number;
  candidates: number;
  sessions: number;
  instances: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

export async function sessionsRow(rounds: number): Promise<SessionsRow> {
  const dir = mkdtempSync(join(tmpdir(), "reaper-bench-sessions-"));
  try {
    const now = T0 + 3_600_000;
    const uptimeSeconds = 100_000;
    const recent: FakeSession[] = [];
    const old: FakeSession[] = [];
    for (let i = 0; i < 30; i++) {
      const at = T0 + 60_000 * i;
      recent.push({ key: `agent:main:hook:${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`, sessionId: `r${i}`, createdMs: at, turns: [turnEvents(at + 20, 2500)] });
    }
    for (let i = 0; i < 970; i++) {
      const at = T0 - 3 * 86_400_000 + 60_000 * i;
      old.push({ key: `agent:main:hook:old-${i}`, sessionId: `o${i}`, createdMs: at, turns: [turnEvents(at + 20, 2500)] });
    }
    const state = join(dir, "state");
    writeJsonStore(state, [...recent, ...old]);
    const uid = process.getuid?.() ?? 1000;
    const procs: FakeProc[] = [{ pid: 100, ppid: 1, comm: "openclaw-gatewa", startTicks: 10, argv: ["openclaw-gateway"], uid, environ: { OPENCLAW_STATE_DIR: state } }];
    recent.forEach((s, i) => {
      // Each hook run's server chain (npx -> node) started 0.6 s into its first turn.
      const startTicks = Math.round((uptimeSeconds * 1000 - (now - (s.createdMs + 600))) / 10);
      procs.push({ pid: 1000 + 10 * i, ppid: 100, uid, startTicks, argv: ["npm exec @modelcontextprotocol/server-memory", "", ""] });
      procs.push({ pid: 1001 + 10 * i, ppid: 1000 + 10 * i, uid, startTicks: startTicks + 1, argv: ["node", "/home/pi/.npm/_npx/1a2b/node_modules/.bin/mcp-server-memory"] });
    });
    const fake = makeFakeProc(procs, { childrenFiles: true, uptimeSeconds });
    try {
      const config = (sessions: boolean) => ({
        gateway: { kind: "pid" as const, pid: 100 },
        policy: { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null },
        graceMs: 5000,
        dryRun: true,
        procRoot: fake.root,
        stateFile: null,
        discoverConfig: false,
        sessions,
      });
      const time = async (sessions: boolean) => {
        const t = performance.now();
        const cpu = process.cpuUsage();
        const r = await runPass(config(sessions));
        const used = process.cpuUsage(cpu);
        return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000, r };
      };
      // Warm-up: both paths optimized by the JIT and the files in the page cache (a one-shot run pays
      // for compiling both the same way; a loop pays it once).
      for (let i = 0; i < 30; i++) {
        await time(true);
        await time(false);
      }
      const withMs: number[] = [];
      const withoutMs: number[] = [];
      const withCpu: number[] = [];
      const withoutCpu: number[] = [];
      let last = null;
      for (let i = 0; i < rounds; i++) {
        const a = await time(true);
        withMs.push(a.ms);
        withCpu.push(a.cpuMs);
        last = a.r;
        const b = await time(false);
        withoutMs.push(b.ms);
        withoutCpu.push(b.cpuMs);
      }
      const s = last?.plan.sessions;
      return {
        withMs: median(withMs),
        withoutMs: median(withoutMs),
        withCpuMs: median(withCpu),
        withoutCpuMs: median(withoutCpu),
        ratio: median(withCpu) / median(withoutCpu),
        wallRatio: median(withMs) / median(withoutMs),
        transcriptsRead: s?.transcriptsRead ?? 0,
        candidates: recent.length,
        sessions: recent.length + old.length,
        instances: last?.summary.instances ?? 0,
      };
    } finally {
      fake.cleanup();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatSessionsRow(r: SessionsRow): string {
  return (
    `Sessions: a pass over ${r.instances} instances with a store of ${r.sessions} sessions (sessions.json + transcripts) against the same pass with --no-sessions: ` +
    `CPU ${r.withCpuMs.toFixed(2)} / ${r.withoutCpuMs.toFixed(2)} ms = ${r.ratio.toFixed(2)}x, wall ${r.withMs.toFixed(2)} / ${r.withoutMs.toFixed(2)} ms = ${r.wallRatio.toFixed(2)}x; ` +
    `${r.transcriptsRead} transcripts read for ${r.candidates} candidate sessions (each at most once).`
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await sessionsRow(Number(process.env.BENCH_ROUNDS ?? "21"));
  process.stdout.write(`${formatSessionsRow(r)}\nsummary: sessions pass CPU vs --no-sessions <= ${SESSIONS_TARGET}x: ${r.ratio.toFixed(2)}x ${r.ratio <= SESSIONS_TARGET ? "PASS" : "FAIL"}\n`);
}
