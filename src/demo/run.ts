// `mcp-reaper demo`: a leaky gateway of our own, the dry-run report, a real reap, the result, and cleanup.
import type { Io } from "../io.js";
import { DEFAULTS, EXIT } from "../config.js";
import { exitCodeOf, runPass, type PassResult } from "../pass.js";
import { formatHuman, type Paint } from "../report/human.js";
import { formatJson } from "../report/json.js";
import { formatBytes } from "../report/events.js";
import { startWorld, SERVER_TYPES, type World } from "./world.js";

export interface DemoOptions {
  /** Sessions the demo gateway starts (each leaks one instance of every server type). */
  sessions: number;
  json: boolean;
  paint: Paint;
  io: Io;
}

/** The demo's servers are seconds old, so min-age is 0; grace is 1 s so the SIGTERM-ignoring one is KILLed quickly. */
const DEMO_GRACE_MS = 1000;

export async function runDemo(o: DemoOptions): Promise<number> {
  const { io, paint } = o;
  // Ctrl-C (SIGINT) or SIGTERM only trips the controller; the flow below notices, and `finally` cleans up.
  const interrupt = new AbortController();
  // After an interrupt the work still winding down prints nothing: its world is being stopped under it.
  const say = (text: string): void => {
    if (!o.json && !interrupt.signal.aborted) io.stdout.write(`${paint.dim(text)}\n`);
  };
  const show = (result: PassResult): void => {
    if (interrupt.signal.aborted) return;
    const event = { kind: "pass" as const, at: Date.now(), result };
    io.stdout.write(`${o.json ? formatJson(event) : formatHuman(event, paint)}\n`);
  };

  say(`Starting a demo gateway that leaks a set of ${SERVER_TYPES.length} MCP servers per session (${o.sessions} sessions)...`);
  const onSignal = (): void => interrupt.abort();
  const interrupted = new Promise<"interrupted">((resolve) => interrupt.signal.addEventListener("abort", () => resolve("interrupted")));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const starting = startWorld({ sessions: o.sessions, ignoreTermType: "fetch", gatewayTitle: "demo-gateway" });
  try {
    const work = starting.then(demo);
    // Once interrupted, the work may fail as its world is stopped under it: that is expected, not news.
    work.catch(() => undefined);
    const outcome = await Promise.race([work, interrupted]);
    if (outcome === "interrupted") io.stderr.write("mcp-reaper: interrupted; the demo gateway and its servers were stopped\n");
    return outcome === "interrupted" ? 130 : outcome;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    // Also when interrupted mid-start: wait for the world to exist, then stop it.
    const world = await starting.catch(() => null);
    await world?.stop();
  }

  async function demo(world: World): Promise<number> {
    say(`Gateway pid ${world.gatewayPid}; the "fetch" server ignores SIGTERM. This is what a dry run shows:\n`);
    const hooks = { signal: interrupt.signal };
    const config = {
      gateway: { kind: "pid" as const, pid: world.gatewayPid },
      policy: { keep: DEFAULTS.keep, minAgeMs: 0, match: DEFAULTS.match, ignore: null, idleMs: null },
      graceMs: DEMO_GRACE_MS,
      procRoot: DEFAULTS.procRoot,
      stateFile: null,
    };
    show(await runPass({ ...config, dryRun: true }, hooks));
    say(`\nNow for real (min-age 0 and grace 1s for the demo; the defaults are 60s and 5s):\n`);
    const result = await runPass({ ...config, dryRun: false }, hooks);
    show(result);

    const newest = Math.max(...world.servers().map((s) => s.session));
    const answers = await Promise.all(SERVER_TYPES.map((t) => world.ping(newest, t)));
    const left = world.livePids().length;
    say(`\nThe newest session's servers still answer on stdio: ${answers.every(Boolean) ? "yes" : "NO"}; processes left in the demo: ${left}.`);
    const s = result.summary;
    say(
      `Memory: ${formatBytes(s.privateReclaimedBytes ?? 0)} freed (private: Private_Clean + Private_Dirty of smaps_rollup); the same processes' RSS sums to ` +
        `${formatBytes(s.rssReclaimedBytes)}, because RSS counts the shared node and python binaries and libraries once in every process.`,
    );
    say(`Try it on your gateway: mcp-reaper --gateway-name openclaw-gateway --dry-run`);
    if (!answers.every(Boolean)) return EXIT.REAP_FAILED;
    return exitCodeOf(result, false);
  }
}
