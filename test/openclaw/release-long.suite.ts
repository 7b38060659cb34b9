// Issue 13's long real-gateway test: on openclaw 2026.9.x (offline, harness in ./gateway.ts), 270 stateless
// chat turns with a pass every 15 and --release-sessions all succeed (the gateway's live-runtime limit is
// 256), the main session's tool call afterwards returns a real result, and the report of a gateway with
// mcp.sessionIdleTtlMs off says so. Opt-in and long (tens of minutes on 2 loaded cores):
// `npm run test:openclaw:long` sets MCP_REAPER_OPENCLAW_LONG=1; without it this file registers nothing.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { cachedInstalls, Gateway, run } from "./gateway.js";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.MCP_REAPER_BIN ?? join(here, "..", "..", "..", "bin", "mcp-reaper.js");
/** From the range of this suite (18800-18899). */
const PORTS = { port: 18860, mockPort: 18861 };
const TURNS = Number(process.env.MCP_REAPER_LONG_TURNS ?? 270);
const EVERY = 15;

interface PassDoc {
  summary: { reaped: number; failed: number; reapedByReason?: Record<string, number> };
  warnings: string[];
  openclaw?: {
    ttl: { off: boolean; text: string } | null;
    runtimes: { held: number; limit: number } | null;
    releases: { key: string; outcome: string; error?: string; durationMs: number }[] | null;
  } | null;
}

if (process.env.MCP_REAPER_OPENCLAW_LONG === "1") {
  const installs = await cachedInstalls();
  const skip = "skip" in installs ? installs.skip : false;
  if (!existsSync(BIN)) throw new Error(`no mcp-reaper CLI at ${BIN} (npm run build, or set MCP_REAPER_BIN)`);

  describe("real OpenClaw 2026.9 gateway, long", { skip }, () => {
    test(`${TURNS} stateless chat turns, a pass with --release-sessions every ${EVERY}: none fails, the main session's tools still work`, { timeout: 3 * 3600_000 }, async () => {
      if ("skip" in installs) return;
      const inst = installs.new;
      const gw = await Gateway.start(inst, { ...PORTS });
      try {
        const node = process.env.MCP_REAPER_NODE ?? inst.node; // node:sqlite (the 2026.9 store) needs Node >= 22.13
        const first = Gateway.directive("memory", "read_graph");
        await gw.mainTurn(first.text);
        assert.match(await gw.toolResult(first.nonce), /entities/);
        let released = 0;
        let maxHeld = 0;
        for (let from = 1; from <= TURNS; from += EVERY) {
          for (let i = from; i < from + EVERY && i <= TURNS; i++) await gw.chatTurn(`hello ${i}`); // throws on any non-2xx (HTTP 500 at the limit)
          const r = await run(node, [BIN, "--gateway-pid", String(gw.gatewayPid), "--min-age", "0", "--release-sessions", "--json"], { timeoutMs: 120_000 });
          assert.equal(r.code, 0, r.stderr);
          const doc = JSON.parse(r.stdout) as PassDoc;
          assert.equal(doc.summary.failed, 0);
          assert.ok(doc.openclaw?.ttl?.off, "the report says the gateway's TTL is off");
          assert.match(doc.openclaw?.ttl?.text ?? "", /mcp\.sessionIdleTtlMs is off.*"sessionIdleTtlMs": 600000/);
          const failed = (doc.openclaw?.releases ?? []).filter((x) => x.outcome !== "released");
          assert.deepEqual(failed, [], "every release succeeded");
          released += (doc.openclaw?.releases ?? []).length;
          maxHeld = Math.max(maxHeld, doc.openclaw?.runtimes?.held ?? 0);
        }
        assert.ok(released >= TURNS - EVERY, `${released} sessions released for ${TURNS} turns`);
        assert.ok(maxHeld < 256 * 0.8, `never near the limit by the store (${maxHeld})`);
        const last = Gateway.directive("memory", "read_graph");
        await gw.mainTurn(last.text);
        const result = await gw.toolResult(last.nonce);
        assert.match(result, /entities/);
        assert.doesNotMatch(result, /not connected|live runtime limit|"status":\s*"error"/i);
      } finally {
        await gw.stop();
      }
    });
  });
}
