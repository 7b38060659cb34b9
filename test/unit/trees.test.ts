// Unit: the corpus of real-world tree shapes (test/fixtures/trees), each a fake /proc tree with the
// plan it must give, sensed and planned the way a pass does. Plus the planner's invariants on each.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DEFAULT_MATCH, instancesOf, keptPids, plan } from "../../src/decide/planner.js";
import { loadConfigs } from "../../src/hosts/read.js";
import { takeSnapshot } from "../../src/proc/snapshot.js";
import { ssOutput } from "../fixtures/trees/types.js";
import { TREES, type TreeFixture } from "../fixtures/trees/index.js";
import { evidenceOnDescendantOnly, fdsNotAllReadable, notStdioServersInServiceCgroup, socketPeerInGateway, stdoutPeerGoneStdinHeld, unreachedOrphanRanksLast } from "../fixtures/trees/orphans.js";
import { makeFakeProc } from "./fakeproc.js";

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

const OURS = 999_999; // protected pid (mcp-reaper itself): never in a fixture tree

function planFixture(f: TreeFixture) {
  const dir = mkdtempSync(join(tmpdir(), "mcp-reaper-trees-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const openclawPath = join(dir, "openclaw.json");
  if (f.openclawConfig !== undefined) writeFileSync(openclawPath, f.openclawConfig);
  const paths = (f.mcpConfigs ?? []).map((text, i) => {
    const path = join(dir, `config-${i}.json`);
    writeFileSync(path, text);
    return path;
  });
  // Processes of the fixture's own user run as us: a discovered config is read only when the gateway's
  // user owns it, and the files written here are ours.
  const ownUid = process.getuid?.() ?? 1000;
  const procs = f.procs
    .map((p) => ({ ...p, uid: p.uid ?? ownUid }))
    .map((p) => (p.environ ? { ...p, environ: Object.fromEntries(Object.entries(p.environ).map(([k, v]) => [k, v.replace("@CONFIG@", openclawPath)])) } : p));
  const fake = makeFakeProc(procs, { childrenFiles: true });
  cleanups.push(fake.cleanup);
  const snapshot = takeSnapshot({
    procRoot: fake.root,
    gatewayPid: f.gatewayPid,
    protectedPids: new Set([OURS]),
    environ: true,
    orphans: f.orphans ? { ssUnix: () => f.orphans?.ss ?? null } : null,
  });
  const configs = loadConfigs({ paths, discover: true, procRoot: fake.root, gateway: snapshot.gateway, passwdPath: join(dir, "no-passwd") });
  const p = plan(snapshot, {
    keep: 1,
    minAgeMs: f.minAgeMs ?? 0,
    match: DEFAULT_MATCH,
    ignore: null,
    idleMs: null,
    servers: configs.entries,
    signatureEnv: f.signatureEnv ?? [],
    orphans: f.orphans ? { markers: f.orphans.markers ?? [] } : null,
  });
  return { p, snapshot, configs };
}

describe("real-world tree shapes", () => {
  for (const f of TREES) {
    it(f.name, () => {
      const { p, snapshot } = planFixture(f);
      const types = Object.fromEntries(
        p.types.map((t) => [t.label, t.instances.map((i) => [i.rootPid, i.action, i.reasonCode, ...(i.orphan ? [i.orphan.evidence] : [])])]),
      );
      assert.deepEqual(types, f.expect.types);
      assert.deepEqual(p.ignored.map((i) => i.rootPid).sort(), (f.expect.ignored ?? []).slice().sort());
      assert.deepEqual((p.wrappers ?? []).map((w) => w.pid).sort(), (f.expect.wrappers ?? []).slice().sort());
      assert.deepEqual((p.orphansLeft ?? []).map((o) => o.rootPid).sort(), (f.expect.orphansLeft ?? []).slice().sort());

      // Invariants: never pid 1, ourselves, the gateway, its ancestors, a wrapper, or a kept instance's process.
      const kept = keptPids(p);
      const ancestors = new Set(snapshot.escaped?.gatewayAncestors ?? []);
      for (const inst of instancesOf(p).filter((i) => i.action === "reap")) {
        for (const m of inst.members) {
          assert.ok(m.pid > 1 && m.pid !== OURS && m.pid !== f.gatewayPid && !ancestors.has(m.pid), `reaps ${m.pid}`);
          assert.ok(!kept.has(m.pid), `reaps ${m.pid}, which a kept instance or wrapper holds`);
        }
      }
    });
  }

  it("the OpenClaw config is found through the gateway's OPENCLAW_CONFIG_PATH, and the report says which file named what", () => {
    const f = TREES[0] as TreeFixture;
    const { p, configs } = planFixture(f);
    assert.equal(configs.sources.length, 1);
    assert.equal(configs.sources[0]?.how, "OPENCLAW_CONFIG_PATH");
    assert.equal(configs.sources[0]?.servers, 2);
    assert.deepEqual(configs.sources[0]?.skipped, [{ name: "docs", why: "remote server (url), not a stdio process" }]);
    for (const inst of instancesOf(p)) assert.equal(inst.config?.source, configs.sources[0]?.path);
  });

  it("without the config the same OpenClaw tree still groups by signature (negative control for naming)", () => {
    const f = { ...(TREES[0] as TreeFixture), openclawConfig: undefined };
    const { p } = planFixture(f as TreeFixture);
    assert.deepEqual(p.types.map((t) => t.label).sort(), ["mcp-server-fetch", "mcp-yfinance-server"]);
  });
});

describe("escaped orphans: reach and the reasons in the report", () => {
  const reachOf = (f: TreeFixture): Map<number, string | undefined> => new Map(instancesOf(planFixture(f).p).map((i) => [i.rootPid, i.orphan?.reach]));
  const leftOf = (f: TreeFixture): Map<number, string> => new Map((planFixture(f).p.orphansLeft ?? []).map((o) => [o.rootPid, o.reason]));

  it("stdout on /dev/null, a file, a tty or closed: not a stdio server, even with stdin a lost pipe; both pipes lost: nobody", () => {
    const left = leftOf(notStdioServersInServiceCgroup);
    for (const pid of [500, 510, 520, 540]) assert.equal(left.get(pid), "its stdout is not a pipe or socket: not a stdio server", String(pid));
    assert.equal(reachOf(notStdioServersInServiceCgroup).get(530), "nobody");
  });

  it("one stdio channel lost, the other still held: reach is not nobody", () => {
    assert.equal(reachOf(stdoutPeerGoneStdinHeld).get(550), "subtree");
  });

  it("evidence below the root only: left alone, and the reason names the tied descendant", () => {
    const left = leftOf(evidenceOnDescendantOnly);
    assert.match(left.get(600) ?? "", /pid 601 below it is tied, but its parent is alive/);
    assert.match(left.get(610) ?? "", /pid 611 below it is tied/);
  });

  it("with some fds unreadable a lost peer is unknown, not nobody; an unreadable root is no candidate", () => {
    assert.equal(reachOf(fdsNotAllReadable).get(630), "unknown");
    assert.match(leftOf(fdsNotAllReadable).get(640) ?? "", /its fds could not be read/);
  });

  describe("socket peers that ss could not give are unknown, never \"no peer\"", () => {
    const f = socketPeerInGateway;
    const withSs = (ss: string | null): TreeFixture => ({ ...f, orphans: { ...f.orphans, ss } as TreeFixture["orphans"] });
    const server = (g: TreeFixture) => {
      const { p, snapshot } = planFixture(g);
      return { inst: instancesOf(p).find((i) => i.rootPid === 250), peers: snapshot.escaped?.socketPeers ?? null };
    };
    it("negative control: with real peers the gateway holds its stdout's peer", () => {
      const { inst, peers } = server(f);
      assert.equal(inst?.orphan?.reach, "gateway");
      assert.notEqual(peers, null);
    });
    // The same world seen through what ss gave under systemd 252's sandbox settings.
    const cases: [string, string | null][] = [
      ["ss failed (not installed, or exit 1)", null],
      ["/proc/net/unix fallback, every peer 0 (RestrictAddressFamilies=AF_UNIX: no netlink)", ssOutput([[5100, 0], [5101, 0], [5102, 0], [9000, 0]])],
      ["0 sockets listed", ssOutput([])],
      ["another network namespace's sockets only (PrivateNetwork=yes)", ssOutput([[31, 32], [32, 31]])],
    ];
    for (const [what, ss] of cases) {
      it(`${what}: reach unknown, kept, and the scan says it had no peers`, () => {
        const { inst, peers } = server(withSs(ss));
        assert.equal(peers, null);
        assert.equal(inst?.orphan?.reach, "unknown");
        assert.equal(inst?.action, "keep");
        assert.notEqual(inst?.reasonCode, "unreachable");
      });
    }
  });

  it("an escaped orphan ranked after the in-tree instances says so", () => {
    const inst = instancesOf(planFixture(unreachedOrphanRanksLast).p).find((i) => i.rootPid === 700);
    assert.equal(inst?.orphan?.reach, "unknown");
    assert.match(inst?.reason ?? "", /escaped orphan the gateway does not talk to, ranked after those it does \(3 ahead of it of this type\), newest is pid 710/);
  });
});
