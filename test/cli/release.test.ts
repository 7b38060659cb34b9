// CLI: --release-sessions on a recorded OpenClaw gateway (fake /proc, so a dry run): it would release the
// ended hook run's session and never the live main session's; without a store or a token, one warning.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { FakeProc } from "../unit/fakeproc.js";
import { runOnFakeProc } from "./fakecli.js";
import { T0, turnEvents, writeJsonStore } from "../unit/sessionfixture.js";

const dir = mkdtempSync(join(tmpdir(), "mcp-reaper-cli-release-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const MAIN = "11111111-1111-4111-8111-111111111111";
const HOOK = "22222222-2222-4222-8222-222222222222";
const state = join(dir, "state");
writeJsonStore(state, [
  { key: "agent:main:main", sessionId: MAIN, createdMs: T0, turns: [turnEvents(T0 + 50, 3000)] },
  { key: `agent:main:hook:${HOOK}`, sessionId: HOOK, createdMs: T0 + 60_000, turns: [turnEvents(T0 + 60_030, 2000)] },
]);
const uptime = 50_000;
const uid = process.getuid?.() ?? 1000;
const server = ["node", "/opt/node_modules/@modelcontextprotocol/server-memory/dist/index.js"];

function run(args: string[], gatewayEnv: Record<string, string>): { code: number | null; stdout: string; stderr: string } {
  // Start ticks from this run's "now", so a slow earlier run cannot push the servers out of their windows.
  const now = Date.now();
  const ticksAt = (ms: number): number => Math.round((uptime * 1000 - (now - ms)) / 10);
  const procs: FakeProc[] = [
    { pid: 100, ppid: 1, comm: "openclaw-gatewa", startTicks: 10, argv: ["openclaw-gateway"], uid, environ: { OPENCLAW_STATE_DIR: state, ...gatewayEnv } },
    { pid: 200, ppid: 100, startTicks: ticksAt(T0 + 800), argv: server, uid },
    { pid: 300, ppid: 100, startTicks: ticksAt(T0 + 60_800), argv: server, uid },
  ];
  return runOnFakeProc(procs, uptime, ["--gateway-pid", "100", "--min-age", "0", "--no-config", "--release-sessions", ...args]);
}

describe("--release-sessions", () => {
  it("would release the ended hook run's session, never the live main session's (dry run: nothing is sent)", () => {
    const r = run(["--json"], { OPENCLAW_GATEWAY_TOKEN: "t" });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(
      doc.openclaw.releases.map((x: { key: string; outcome: string; rootPids: number[] }) => [x.key, x.outcome, x.rootPids]),
      [[`agent:main:hook:${HOOK}`, "would-release", [300]]],
    );
    assert.deepEqual(doc.warnings, []);
    const human = run([], { OPENCLAW_GATEWAY_TOKEN: "t" });
    assert.match(human.stdout, /would release agent:main:hook:2222… \(sessions\.abort, servers 300\)/);
    assert.doesNotMatch(human.stdout, /release[^\n]*agent:main:main/);
  });
  it("with no token to be had: one warning, nothing released, the pass goes on", () => {
    const r = run(["--json"], {});
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.openclaw.releases, null);
    assert.equal(doc.warnings.length, 1);
    assert.match(doc.warnings[0], /^--release-sessions: cannot authenticate to the gateway \(its config is not read \(--no-config\), and no OPENCLAW_GATEWAY_TOKEN/);
    assert.equal(doc.instances.find((i: { rootPid: number }) => i.rootPid === 300).action, "reap", "the reap plan is the same");
  });
  it("with --no-sessions (no adapter): one warning, nothing released", () => {
    const r = run(["--no-sessions"], { OPENCLAW_GATEWAY_TOKEN: "t" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /^mcp-reaper: warning: --release-sessions: no session store was read this pass/);
    assert.doesNotMatch(r.stdout, /would release/);
  });
});
