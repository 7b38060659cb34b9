// Unit: --all's cut of nested gateways, and host-wide dead-orphan planning, on fake /proc trees.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { isMcpRoot, planHost } from "../../src/decide/hostwide.js";
import { DEFAULT_MATCH, instancesOf, keptPids, plan, type Policy } from "../../src/decide/planner.js";
import { senseHostOrphans } from "../../src/proc/escaped.js";
import { scanHost } from "../../src/proc/host.js";
import { LINK_DENIED, LINK_GONE, readLinkOr, readStat } from "../../src/proc/read.js";
import { readProcInfo, takeSnapshot, type ProcInfo } from "../../src/proc/snapshot.js";
import { ssOutput } from "../fixtures/trees/types.js";
import { makeFakeProc, type FakeProc } from "./fakeproc.js";

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));
const POLICY: Policy = { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null };
const READ = "00";
const WRITE = "01";

function fake(procs: FakeProc[]): string {
  const f = makeFakeProc(procs, { childrenFiles: true });
  cleanups.push(f.cleanup);
  return f.root;
}

describe("--all: a gateway nested in another's tree counts once, as its own", () => {
  const root = fake([
    { pid: 1, ppid: 0, startTicks: 1, comm: "systemd", argv: ["/sbin/init"] },
    { pid: 100, ppid: 1, startTicks: 10, comm: "claude", argv: ["claude"] },
    { pid: 110, ppid: 100, startTicks: 100, argv: ["npx", "mcp-server-memory"] },
    { pid: 120, ppid: 100, startTicks: 200, argv: ["npx", "mcp-server-memory"] },
    // A subagent's own claude under a shell of the outer one: a gateway of its own under --all.
    { pid: 150, ppid: 100, startTicks: 300, argv: ["bash", "/home/u/mcp-agent.sh"] },
    { pid: 200, ppid: 150, startTicks: 310, comm: "claude", argv: ["claude", "--mcp-config", "/tmp/x.json"] },
    { pid: 210, ppid: 200, startTicks: 400, argv: ["npx", "mcp-server-memory"] },
  ]);
  it("the outer walk stops at the inner gateway; the shell holding it is protected; the inner's servers are its own", () => {
    const outer = takeSnapshot({ procRoot: root, gatewayPid: 100, protectedPids: new Set([999_999]), cut: new Set([200]) });
    assert.deepEqual(outer.nested, [{ pid: 200, ppid: 150 }]);
    assert.ok(!outer.procs.has(210), "the inner gateway's server is not the outer's");
    const p = plan(outer, POLICY);
    const byRoot = new Map(instancesOf(p).map((i) => [i.rootPid, i]));
    assert.equal(byRoot.get(120)?.action, "keep");
    assert.equal(byRoot.get(110)?.action, "reap");
    assert.equal(byRoot.get(150)?.reasonCode, "protected");
    assert.ok(keptPids(p).has(200));
    const inner = takeSnapshot({ procRoot: root, gatewayPid: 200, protectedPids: new Set([999_999]), cut: new Set([100]) });
    assert.deepEqual(instancesOf(plan(inner, POLICY)).map((i) => [i.rootPid, i.action]), [[210, "keep"]]);
  });
  it("negative control: without the cut, the outer gateway would take the inner one's server for its own", () => {
    const outer = takeSnapshot({ procRoot: root, gatewayPid: 100, protectedPids: new Set([999_999]) });
    assert.ok(outer.procs.has(210));
  });
});

describe("host-wide --orphans: planHost on a fake host", () => {
  const procs: FakeProc[] = [
    { pid: 1, ppid: 0, startTicks: 1, comm: "systemd", argv: ["/sbin/init"] },
    // docker run -i --rm under a dead host: its stdin pipe lost its writer, its stdout pipe its reader.
    { pid: 300, ppid: 1, startTicks: 300, argv: ["docker", "run", "-i", "--rm", "mcp/fetch"], fds: { 0: "pipe:[7000]", 1: "pipe:[7001]" }, fdFlags: { 0: READ, 1: WRITE } },
    // npm exec -> node on a socketpair whose peer was closed.
    { pid: 400, ppid: 1, startTicks: 400, argv: ["npm exec @modelcontextprotocol/server-memory", "", ""], fds: { 0: "socket:[8000]", 1: "socket:[8000]" } },
    { pid: 401, ppid: 400, startTicks: 401, argv: ["node", "/x/mcp-server-memory"], fds: { 0: "socket:[8000]", 1: "socket:[8000]" } },
    // Its stdin pipe's write end is held by a live logger: left alone.
    { pid: 500, ppid: 1, startTicks: 500, argv: ["uvx", "mcp-server-fetch"], fds: { 0: "pipe:[7100]", 1: "pipe:[7101]" }, fdFlags: { 0: READ, 1: WRITE } },
    { pid: 510, ppid: 1, startTicks: 510, argv: ["logger"], fds: { 1: "pipe:[7100]" }, fdFlags: { 1: WRITE } },
    // An HTTP MCP server a launcher started on /dev/null with output to a file: left alone.
    { pid: 600, ppid: 1, startTicks: 600, argv: ["mcp-proxy", "--port", "9000"], fds: { 0: "/dev/null", 1: "/var/log/mcp-proxy.log" } },
    // On a socketpair whose peer a live client still holds: left alone before any holder scan.
    { pid: 800, ppid: 1, startTicks: 800, argv: ["npx", "mcp-remote", "https://x"], fds: { 0: "socket:[8100]", 1: "socket:[8100]" } },
    { pid: 810, ppid: 1, startTicks: 810, argv: ["client"], fds: { 5: "socket:[8101]" } },
    // Not an MCP server by its command line: not a candidate.
    { pid: 700, ppid: 1, startTicks: 700, argv: ["node", "/srv/worker.js"], fds: { 0: "pipe:[7200]", 1: "pipe:[7201]" }, fdFlags: { 0: READ, 1: WRITE } },
  ];
  const root = fake(procs);
  const sense = (): ReturnType<typeof senseHostOrphans> => {
    const host = scanHost(root);
    const at = { uptimeMs: 10_000_000, takenAtMs: Date.now(), skipped: [], environ: false, io: false, uid: true };
    return senseHostOrphans(root, { protectedPids: new Set([999_999]), uid: null, want: (r: ProcInfo) => isMcpRoot(r, POLICY), ssUnix: () => ssOutput([[8000, 0], [8100, 8101], [8101, 8100]]) }, host, (s) => readProcInfo(root, s, at));
  };
  it("reaps the dead ones whole, lists the held and the /dev/null ones, never lists a non-MCP process", () => {
    const facts = sense();
    const init = readProcInfo(root, readStat(root, 1) as NonNullable<ReturnType<typeof readStat>>, { uptimeMs: 1e7, takenAtMs: 0, skipped: [], environ: false, io: false, uid: true }) as ProcInfo;
    const p = planHost(facts, init, new Set([999_999]), POLICY);
    assert.equal(p.scope, "host");
    assert.deepEqual(instancesOf(p).map((i) => [i.rootPid, i.action, i.members.map((m) => m.pid)]).sort(), [[300, "reap", [300]], [400, "reap", [400, 401]]]);
    const left = new Map((p.orphansLeft ?? []).map((o) => [o.rootPid, o.reason]));
    assert.match(left.get(500) ?? "", /held by live pid 510/);
    assert.match(left.get(600) ?? "", /stdin is \/dev\/null, stdout is a file or device/);
    assert.match(left.get(800) ?? "", /the peer of socket:\[8100\] \(fd 0\) is open outside its subtree/);
    assert.ok(!left.has(700) && !instancesOf(p).some((i) => i.rootPid === 700));
    assert.ok(!keptPids(p).has(300) && keptPids(p).has(500));
  });
  it("younger than --min-age: kept, too-young; unknown socket peers (no ss): left alone", () => {
    const facts = sense();
    const init = { pid: 1, startTicks: 1, comm: "systemd", argv: ["/sbin/init"] } as ProcInfo;
    const young = planHost(facts, init, new Set(), { ...POLICY, minAgeMs: 1e12 });
    assert.ok(instancesOf(young).every((i) => i.action === "keep" && i.reasonCode === "too-young"));
    const host = scanHost(root);
    const at = { uptimeMs: 1e7, takenAtMs: 0, skipped: [], environ: false, io: false, uid: true };
    const noSs = senseHostOrphans(root, { protectedPids: new Set(), uid: null, want: (r: ProcInfo) => isMcpRoot(r, POLICY), ssUnix: () => null }, host, (s) => readProcInfo(root, s, at));
    const p = planHost(noSs, init, new Set(), POLICY);
    assert.deepEqual(instancesOf(p).map((i) => i.rootPid), [300]);
    assert.match(new Map((p.orphansLeft ?? []).map((o) => [o.rootPid, o.reason])).get(400) ?? "", /unknown/);
  });
});

describe("host-wide --orphans: fds that may not be read", () => {
  const procs: FakeProc[] = [
    { pid: 1, ppid: 0, startTicks: 1, comm: "systemd", argv: ["/sbin/init"] },
    { pid: 300, ppid: 1, startTicks: 300, argv: ["docker", "run", "-i", "--rm", "mcp/fetch"], fds: { 0: "pipe:[7000]", 1: "pipe:[7001]" }, fdFlags: { 0: READ, 1: WRITE } },
    { pid: 400, ppid: 1, startTicks: 400, argv: ["node", "/x/mcp-server-memory"], fds: { 0: "socket:[8000]", 1: "socket:[8000]" } },
    // Its fd directory lists, but its links may not be read (root in a container without CAP_SYS_PTRACE).
    { pid: 900, ppid: 1, startTicks: 900, argv: ["gateway"], fds: { 0: "/dev/null", 5: "pipe:[7000]" }, fdFlags: { 5: WRITE } },
  ];
  const root = fake(procs);
  const planWith = (deny: ReadonlySet<number>): ReturnType<typeof planHost> => {
    const host = scanHost(root);
    const at = { uptimeMs: 1e7, takenAtMs: 0, skipped: [], environ: false, io: false, uid: true };
    const readLink = (path: string): string | typeof LINK_DENIED | typeof LINK_GONE => (deny.has(Number(path.split("/").at(-3))) ? LINK_DENIED : readLinkOr(path));
    const facts = senseHostOrphans(root, { protectedPids: new Set(), uid: null, want: (r: ProcInfo) => isMcpRoot(r, POLICY), ssUnix: () => ssOutput([[8000, 0], [8100, 8101], [8101, 8100]]), readLink }, host, (s) => readProcInfo(root, s, at));
    return planHost(facts, { pid: 1, startTicks: 1, comm: "systemd", argv: ["/sbin/init"] } as ProcInfo, new Set(), POLICY);
  };
  const reasons = (p: ReturnType<typeof planHost>): Map<number, string> => new Map((p.orphansLeft ?? []).map((o) => [o.rootPid, o.reason]));
  it("a live process whose fd links are denied may hold the other end: the pipe orphan is left alone, unknown", () => {
    const p = planWith(new Set([900]));
    assert.deepEqual(instancesOf(p).map((i) => i.rootPid), [400], "a socket whose peer the kernel says is closed needs no holder");
    assert.match(reasons(p).get(300) ?? "", /unknown: some processes' fds could not be read/);
  });
  it("negative control: with every link readable, the holder is found", () => {
    const p = planWith(new Set());
    assert.match(reasons(p).get(300) ?? "", /held by live pid 900/);
  });
  it("a candidate whose own links are denied is left alone as unreadable, not as a server without stdio", () => {
    const p = planWith(new Set([300]));
    assert.match(reasons(p).get(300) ?? "", /its fds could not be read/);
  });
});

describe("pid 1 as a gateway, and every gateway of a name", () => {
  const tree = (pid1: FakeProc): string =>
    fake([
      pid1,
      { pid: 50, ppid: 1, startTicks: 5, comm: "claude", argv: ["claude"] },
      { pid: 60, ppid: 1, startTicks: 6, comm: "claude", argv: ["/usr/bin/claude", "--resume"] },
      { pid: 70, ppid: 1, startTicks: 7, comm: "node", argv: ["node", "/srv/other.js"] },
    ]);
  it("pid 1 that is no init may be the gateway, by pid and by name; an init never", async () => {
    const { pid1AsGateway, resolveGateway } = await import("../../src/proc/gateway.js");
    const container = tree({ pid: 1, ppid: 0, startTicks: 1, comm: "openclaw-gatewa", argv: ["openclaw-gateway"] });
    assert.equal(pid1AsGateway(container), "not-an-init");
    assert.equal(resolveGateway({ kind: "pid", pid: 1 }, container, new Set([999_999])).pid, 1);
    assert.equal(resolveGateway({ kind: "name", name: "openclaw-gateway" }, container, new Set([999_999])).pid, 1);
    // Ours or an ancestor's pid 1 stays refused, init or not.
    assert.throws(() => resolveGateway({ kind: "pid", pid: 1 }, container, new Set([1])), /ancestors/);
    for (const init of [
      { pid: 1, ppid: 0, startTicks: 1, comm: "systemd", argv: ["/sbin/init"] },
      { pid: 1, ppid: 0, startTicks: 1, comm: "tini", argv: ["/sbin/tini", "--", "node"] },
      { pid: 1, ppid: 0, startTicks: 1, comm: "proc", argv: ["/usr/bin/dumb-init", "node"] },
    ]) {
      const host = tree(init);
      assert.equal(pid1AsGateway(host), null);
      assert.throws(() => resolveGateway({ kind: "pid", pid: 1 }, host, new Set([999_999])), /refusing pid 1 as the gateway: it is init/);
      assert.throws(() => resolveGateway({ kind: "name", name: init.argv[0] as string }, host, new Set([999_999])), /no process named/);
    }
  });
  it("--all lists every process of the name; without it several are an error naming them and --all", async () => {
    const { resolveGateway, resolveGateways } = await import("../../src/proc/gateway.js");
    const host = tree({ pid: 1, ppid: 0, startTicks: 1, comm: "systemd", argv: ["/sbin/init"] });
    assert.deepEqual(resolveGateways({ kind: "name", name: "claude", all: true }, host, new Set([999_999])), [{ pid: 50, startTicks: 5 }, { pid: 60, startTicks: 6 }]);
    assert.throws(() => resolveGateway({ kind: "name", name: "claude" }, host, new Set([999_999])), /2 processes are named "claude": 50 \(claude\), 60 \(\/usr\/bin\/claude --resume\); pick one with --gateway-pid, or reap under each with --all/);
    assert.throws(() => resolveGateways({ kind: "name", name: "codex", all: true }, host, new Set([999_999])), /no process named "codex"/);
  });
});
