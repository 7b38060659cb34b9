// Issue 9's real-gateway tests: the real OpenClaw gateway offline, a default mcp-reaper pass, and the proof
// that the live main session keeps its servers while ended sessions lose theirs. Opt-in (npm run
// test:openclaw sets MCP_REAPER_OPENCLAW=1): without it this file registers nothing, so a runner that loads
// every file under dist/test/ never starts a gateway.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readStatOrNull } from "../../src/proc/read.js";
import { cachedInstalls, Gateway, run, servers, waitFor, type Install, type ProcRecord, type TreeRecord } from "./gateway.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The CLI under test: this checkout's built bin/, or another checkout's (MCP_REAPER_BIN). */
const BIN = process.env.MCP_REAPER_BIN ?? join(here, "..", "..", "..", "bin", "mcp-reaper.js");

/** Ports from the range this suite owns (18700-18799): one gateway and one mock model per version. */
const PORTS = { old: { port: 18740, mockPort: 18793 }, new: { port: 18750, mockPort: 18794 } };

type Ident = { pid: number; startTicks: number; argv: string[] };
const ident = (p: ProcRecord): Ident => ({ pid: p.pid, startTicks: p.startTicks, argv: p.argv });
const alive = (p: Ident) => {
  const s = readStatOrNull("/proc", p.pid);
  return s !== null && s.startTicks === p.startTicks && s.state !== "Z";
};
const key = (p: Ident) => `${p.pid}@${p.startTicks}`;

/**
 * A session's MCP set: each server process with its relay and anchor (2026.9: the `service-child-*`
 * processes above it, up to the spawn broker or the gateway). In 2026.4 the set is the servers alone.
 */
function chains(tree: TreeRecord, inst: Install): Ident[] {
  const byPid = new Map(tree.procs.map((p) => [p.pid, p]));
  const out: Ident[] = [];
  for (const s of servers(tree, inst)) {
    out.push(ident(s));
    for (let up = byPid.get(s.ppid); up && up.argv.some((a) => /service-child-/.test(a)); up = byPid.get(up.ppid)) out.push(ident(up));
  }
  return out;
}

/** Processes of `after` not in `before`. */
const added = (before: Ident[], after: Ident[]) => after.filter((p) => !before.some((b) => key(b) === key(p)));

/** Runs the reaper once with defaults and --min-age 0, on the gateway's own Node (node:sqlite needs >= 22.13). */
async function reap(gw: Gateway): Promise<{ code: number | null; out: string }> {
  const node = process.env.MCP_REAPER_NODE ?? gw.inst.node;
  const r = await run(node, [BIN, "--gateway-pid", String(gw.gatewayPid), "--min-age", "0", "--json", "--no-color"], { timeoutMs: 60_000 });
  return { code: r.code, out: `${r.stdout}\n${r.stderr}` };
}

/** A main-session tool turn whose tool result must be the memory server's real answer. */
async function mainToolTurn(gw: Gateway, tool: "create_entities" | "read_graph", expect: RegExp): Promise<string> {
  const d = Gateway.directive("memory", tool);
  await gw.mainTurn(d.text);
  const result = await gw.toolResult(d.nonce);
  assert.match(result, expect, `the main session's ${tool} result is not real: ${result.slice(0, 300)}`);
  assert.doesNotMatch(result, /not connected|"status":\s*"error"/i, `the main session's tool call failed: ${result.slice(0, 300)}`);
  return result;
}

const settle = async (gw: Gateway, quietMs = 2000) => {
  let last = "";
  let since = Date.now();
  await waitFor("the gateway's tree to settle", () => {
    const sig = gw.tree().procs.map((p) => `${p.pid}:${p.startTicks}`).join(",");
    if (sig !== last) [last, since] = [sig, Date.now()];
    return Date.now() - since >= quietMs;
  }, 60_000);
};

if (process.env.MCP_REAPER_OPENCLAW === "1") {
  const installs = await cachedInstalls();
  const skip = "skip" in installs ? installs.skip : false;
  if (!existsSync(BIN)) throw new Error(`no mcp-reaper CLI at ${BIN} (npm run build, or set MCP_REAPER_BIN)`);

  describe("real OpenClaw gateway, offline", { skip }, () => {
    test("2026.4.9: a default pass after a main tool turn and three isolated runs keeps the main session's servers and reaps the runs'", { timeout: 240_000 }, async () => {
      if ("skip" in installs) return;
      const inst = installs.old;
      const gw = await Gateway.start(inst, PORTS.old);
      try {
        await mainToolTurn(gw, "create_entities", /entity-/);
        await settle(gw);
        const mainSet = chains(gw.tree(), inst);
        assert.equal(mainSet.length, 1, `one memory server after the main turn, saw ${JSON.stringify(mainSet)}`);

        for (let i = 1; i <= 3; i++) {
          const d = Gateway.directive("memory", "read_graph");
          await gw.hookRun(d.text, `hook-${i}`);
          assert.match(await gw.toolResult(d.nonce, 120_000), /entity-/, `hook run ${i} got no real result`);
          await settle(gw);
        }
        const runSets = added(mainSet, chains(gw.tree(), inst));
        // Negative control: 2026.4.9 keeps an isolated run's server after the run ends (issue 9), so there
        // is something to reap; without it this test could not fail.
        assert.equal(runSets.length, 3, `three isolated runs' servers still running before the pass, saw ${runSets.length}`);

        const r = await reap(gw);
        assert.ok(r.code === 0, `mcp-reaper exited ${r.code}:\n${r.out.slice(0, 3000)}`);
        await waitFor("the isolated runs' servers to be gone", () => runSets.every((p) => !alive(p)), 15_000).catch(() => undefined);
        const left = runSets.filter(alive);
        const mainLost = mainSet.filter((p) => !alive(p));
        assert.deepEqual(mainLost, [], `the pass killed the main session's server:\n${r.out.slice(0, 3000)}`);
        assert.deepEqual(left, [], `isolated runs' servers left after the pass:\n${r.out.slice(0, 3000)}`);

        await mainToolTurn(gw, "read_graph", /entity-/);
        assert.deepEqual(added(mainSet, chains(gw.tree(), inst)), [], "the main session started new servers: its own were broken");
      } finally {
        await gw.stop();
      }
    });

    test("2026.9.x: a default pass after a main tool turn and three stateless chat turns reaps the chats' chains and keeps the main chain", { timeout: 300_000 }, async () => {
      if ("skip" in installs) return;
      const inst = installs.new;
      const gw = await Gateway.start(inst, PORTS.new);
      try {
        await mainToolTurn(gw, "create_entities", /entity-/);
        await settle(gw);
        const mainSet = chains(gw.tree(), inst);
        assert.equal(mainSet.length, 3, `relay, anchor and server after the main turn, saw ${JSON.stringify(mainSet.map((p) => p.argv.slice(-1)))}`);

        for (let i = 1; i <= 3; i++) {
          const d = Gateway.directive("memory", "read_graph");
          await gw.chatTurn(d.text);
          assert.match(await gw.toolResult(d.nonce), /entity-/, `chat turn ${i} got no real result`);
          await settle(gw);
        }
        const chatSets = added(mainSet, chains(gw.tree(), inst));
        // Negative control: 2026.9 keeps a stateless chat session's chain until the gateway exits (issue 9).
        assert.equal(chatSets.length, 9, `three chat sessions' chains (3 processes each) before the pass, saw ${chatSets.length}`);

        const r = await reap(gw);
        assert.ok(r.code === 0, `mcp-reaper exited ${r.code}:\n${r.out.slice(0, 3000)}`);
        // The relay exits by itself once its anchor and server are gone.
        await waitFor("the chat sessions' chains to be gone", () => chatSets.every((p) => !alive(p)), 15_000).catch(() => undefined);
        const left = chatSets.filter(alive);
        const mainLost = mainSet.filter((p) => !alive(p));
        assert.deepEqual(mainLost.map((p) => p.argv.slice(-1)), [], `the pass broke the main session's chain:\n${r.out.slice(0, 3000)}`);
        assert.deepEqual(left.map((p) => `${p.pid} ${p.argv.slice(-1)}`), [], `chat sessions' chains left after the pass:\n${r.out.slice(0, 3000)}`);

        await mainToolTurn(gw, "read_graph", /entity-/);
        assert.deepEqual(added(mainSet, chains(gw.tree(), inst)), [], "the main session started a new chain: its own was broken");
      } finally {
        await gw.stop();
      }
    });
  });
}
