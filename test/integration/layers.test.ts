// Integration: OpenClaw 2026.9's wrapper layers as real processes: gateway -> node service-child-relay.js
// -> node service-child-group-anchor.js -> server. The relay is passed through and never touched; each
// anchor is the root of its instance; older instances go whole, the relay and the newest stay.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { instancesOf, DEFAULT_MATCH, type Policy } from "../../src/decide/planner.js";
import { runPass } from "../../src/pass.js";
import { readStat } from "../../src/proc/read.js";
import { scriptedGateway } from "./worlds.js";

const POLICY: Policy = { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null };

const alive = (pid: number, startTicks: number): boolean => {
  const s = readStat("/proc", pid);
  return s !== null && s.startTicks === startTicks && s.state !== "Z" && s.state !== "X";
};

describe("OpenClaw relay and anchor layers, real processes", () => {
  it("reaps the older anchors with their servers; the relay and the newest anchor stay", async (t) => {
    const spawnLater = (what: string, n: number): string =>
      `const { spawn } = require('node:child_process'); let i = 0; const next = () => { ${what}; if (++i < ${n}) setTimeout(next, 50); }; next(); setInterval(() => {}, 1000);`;
    const { gatewayPid } = await scriptedGateway(t, {
      files: {
        // Real names: the planner knows the layers by script basename.
        "service-child-relay.js": spawnLater("spawn(process.execPath, [process.env.FILE_SERVICE_CHILD_GROUP_ANCHOR], { stdio: 'ignore' })", 3),
        "service-child-group-anchor.js": spawnLater("spawn('sh', [process.env.FILE_MCP_SERVER_LAYERED], { stdio: 'ignore' })", 1),
        "mcp-server-layered.sh": ['mkfifo "$DIR/fifo-$$"', 'exec 3<>"$DIR/fifo-$$"', 'echo ready > "$DIR/ready-$$"', 'read -r _ <&3'].join("\n"),
      },
      gatewayJs: "require('node:child_process').spawn(process.execPath, [process.env.FILE_SERVICE_CHILD_RELAY], { stdio: 'ignore' }); setInterval(() => {}, 1000);",
      ready: 3,
    });

    const r = await runPass({ gateway: { kind: "pid", pid: gatewayPid }, policy: POLICY, graceMs: 2000, dryRun: false, procRoot: "/proc", stateFile: null });
    const relays = (r.plan.wrappers ?? []).filter((w) => w.kind === "relay");
    assert.equal(relays.length, 1, JSON.stringify(r.plan.wrappers));
    const relay = relays[0] as { pid: number };
    const instances = instancesOf(r.plan);
    assert.equal(instances.length, 3, JSON.stringify(instances.map((i) => [i.rootPid, i.members.map((m) => m.argv.join(" "))])));
    for (const inst of instances) {
      // Each instance is an anchor and the server under it; the type comes from the server.
      assert.deepEqual(inst.members.map((m) => m.depth), [0, 1]);
      assert.match(inst.members[0]?.argv.join(" ") ?? "", /service-child-group-anchor\.js$/);
      assert.match(inst.signature.label, /mcp-server-layered\.sh/);
    }
    const kept = instances.filter((i) => i.action === "keep");
    const reaped = instances.filter((i) => i.action === "reap");
    assert.equal(kept.length, 1);
    assert.equal(reaped.length, 2);
    assert.deepEqual(r.results?.map((x) => x.outcome), ["terminated", "terminated"]);

    for (const inst of reaped) for (const m of inst.members) assert.ok(!alive(m.pid, m.startTicks), `reaped ${m.pid} (${m.argv.join(" ")}) still runs`);
    for (const m of kept[0]?.members ?? []) assert.ok(alive(m.pid, m.startTicks), `kept ${m.pid} is gone`);
    const relayStat = readStat("/proc", relay.pid);
    assert.ok(relayStat !== null && relayStat.state !== "Z", "the relay was touched");
    assert.equal(relayStat?.ppid, gatewayPid);
  });

  it("2026.9.6's spawn broker: passed through and untouched; each relay exits by itself with its reaped anchor and counts as freed", async (t) => {
    const { gatewayPid } = await scriptedGateway(t, {
      files: {
        // gateway -> spawn-broker/worker.js -> one relay per server -> anchor -> server, as 2026.9.6 runs them.
        "spawn-broker/worker.js":
          "const { spawn } = require('node:child_process'); let i = 0; const next = () => { spawn(process.execPath, [process.env.FILE_SERVICE_CHILD_RELAY], { stdio: 'ignore' }); if (++i < 3) setTimeout(next, 50); }; next(); setInterval(() => {}, 1000);",
        // A real relay exits once its anchor is gone.
        "service-child-relay.js":
          "const c = require('node:child_process').spawn(process.execPath, [process.env.FILE_SERVICE_CHILD_GROUP_ANCHOR], { stdio: 'ignore' }); c.on('exit', () => process.exit(0)); setInterval(() => {}, 1000);",
        "service-child-group-anchor.js": "require('node:child_process').spawn('sh', [process.env.FILE_MCP_SERVER_LAYERED], { stdio: 'ignore' }); setInterval(() => {}, 1000);",
        "mcp-server-layered.sh": ['mkfifo "$DIR/fifo-$$"', 'exec 3<>"$DIR/fifo-$$"', 'echo ready > "$DIR/ready-$$"', 'read -r _ <&3'].join("\n"),
      },
      gatewayJs: "require('node:child_process').spawn(process.execPath, [process.env.FILE_SPAWN_BROKER_WORKER], { stdio: 'ignore' }); setInterval(() => {}, 1000);",
      ready: 3,
      // Ten processes, seven of them Node, start one after another: on a loaded 2-core host that took over 5 s.
      readyTimeoutMs: 30_000,
    });
    const r = await runPass({ gateway: { kind: "pid", pid: gatewayPid }, policy: POLICY, graceMs: 2000, dryRun: false, procRoot: "/proc", stateFile: null, sessions: false });
    const wrappers = r.plan.wrappers ?? [];
    const broker = wrappers.find((w) => w.argv.join(" ").includes("spawn-broker/worker.js"));
    assert.ok(broker, JSON.stringify(wrappers));
    assert.equal(wrappers.filter((w) => w.argv.join(" ").includes("service-child-relay.js")).length, 3);
    const instances = instancesOf(r.plan);
    assert.equal(instances.length, 3);
    const reaped = instances.filter((i) => i.action === "reap");
    assert.equal(reaped.length, 2);
    for (const inst of instances) assert.match(inst.exitsWith?.[0]?.argv.join(" ") ?? "", /service-child-relay\.js$/);
    // Never signalled: no target of any result is a relay or the broker.
    const signalled = new Set(r.results?.flatMap((x) => x.targets.filter((tg) => tg.signals.length > 0).map((tg) => tg.pid)));
    for (const w of wrappers) assert.ok(!signalled.has(w.pid), `wrapper ${w.pid} was signalled`);
    // Freed includes the relays that exit with their anchors.
    const relayRss = reaped.reduce((s, i) => s + (i.exitsWith?.[0]?.rssBytes ?? 0), 0);
    assert.ok(relayRss > 0);
    assert.equal(r.summary.rssReclaimedBytes, reaped.reduce((s, i) => s + i.rssBytes, 0) + relayRss);
    // The reaped anchors' relays exit by themselves; the broker and the kept chain's relay stay.
    const exited = async (pid: number, ticks: number): Promise<boolean> => {
      for (let i = 0; i < 100 && alive(pid, ticks); i++) await new Promise((res) => setTimeout(res, 20));
      return !alive(pid, ticks);
    };
    for (const inst of reaped) {
      const relay = inst.exitsWith?.[0] as { pid: number; startTicks: number };
      assert.ok(await exited(relay.pid, relay.startTicks), `relay ${relay.pid} still runs`);
    }
    const kept = instances.find((i) => i.action === "keep");
    const keptRelay = kept?.exitsWith?.[0] as { pid: number; startTicks: number };
    assert.ok(alive(keptRelay.pid, keptRelay.startTicks), "the kept chain's relay is gone");
    const brokerStat = readStat("/proc", broker.pid);
    assert.ok(brokerStat !== null && brokerStat.state !== "Z" && brokerStat.ppid === gatewayPid, "the broker was touched");
  });
});
