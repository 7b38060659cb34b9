// Unit: sensing over a fake /proc: both discovery methods, races, malformed files, gateway resolution.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { GatewayNotFoundError, resolveGateway } from "../../src/proc/gateway.js";
import { GatewayGoneError, protectedPidsOf, takeSnapshot } from "../../src/proc/snapshot.js";
import { makeFakeProc, type FakeProc } from "./fakeproc.js";

const tree: FakeProc[] = [
  { pid: 1, ppid: 0, comm: "init", startTicks: 1, argv: ["/sbin/init"] },
  { pid: 100, ppid: 1, comm: "openclaw-gatewa", startTicks: 500, argv: ["openclaw-gateway"], threads: [101, 102] },
  { pid: 200, ppid: 100, comm: "uv", startTicks: 1000, argv: ["uv", "run", "mcp-yfinance-server"], cwd: "/srv", rssKb: 20_480 },
  { pid: 201, ppid: 200, comm: "python", startTicks: 1002, argv: ["python", "mcp-yfinance-server"], rssKb: 90_112 },
  { pid: 300, ppid: 100, comm: "sh", startTicks: 2000, argv: ["sh", "-c", "node x.js"] },
  { pid: 301, ppid: 300, comm: "node", startTicks: 2001, argv: ["node", "x.js"] },
  { pid: 400, ppid: 1, comm: "unrelated", startTicks: 50, argv: ["sleep", "9"] },
];

describe("takeSnapshot", () => {
  const roots: (() => void)[] = [];
  after(() => roots.forEach((c) => c()));

  for (const childrenFiles of [true, false]) {
    it(`finds the gateway's subtree (${childrenFiles ? "children files" : "full scan"})`, () => {
      const fake = makeFakeProc(tree, { childrenFiles, uptimeSeconds: 100 });
      roots.push(fake.cleanup);
      const s = takeSnapshot({ procRoot: fake.root, gatewayPid: 100, protectedPids: new Set([4242]), now: () => 1_000_000 });
      assert.equal(s.method, childrenFiles ? "children-files" : "full-scan");
      assert.deepEqual([...s.procs.keys()].sort(), [200, 201, 300, 301]);
      assert.deepEqual(s.children.get(100)?.slice().sort(), [200, 300]);
      const py = s.procs.get(201);
      // A whole number of pages on 4, 16 and 64 KiB kernels alike.
      assert.equal(py?.rssBytes, 90_112 * 1024);
      assert.equal(py?.ageMs, 100_000 - 10_020);
      assert.equal(py?.startedAtMs, 1_000_000 - (100_000 - 10_020));
      assert.equal(s.procs.get(200)?.cwd, "/srv");
      assert.equal(s.procs.get(301)?.cwd, null);
      // Only the gateway's uid is read (from status); descendants' are not.
      assert.equal(s.gateway.uid, 1000);
      assert.equal(py?.uid, null);
    });
  }

  it("skips a child whose own stat names another parent (children files are racy)", () => {
    const fake = makeFakeProc(tree, { childrenFiles: true });
    roots.push(fake.cleanup);
    // The gateway's children file still lists 300, but 300 was reparented to init.
    writeFileSync(join(fake.root, "300", "stat"), `300 (sh) S 1 300 300 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 2000 0 0\n`);
    const s = takeSnapshot({ procRoot: fake.root, gatewayPid: 100, protectedPids: new Set() });
    assert.deepEqual([...s.procs.keys()].sort(), [200, 201]);
  });

  it("survives processes that vanish or hold malformed files", () => {
    const racy: FakeProc[] = [
      ...tree.filter((p) => p.pid !== 301),
      { pid: 301, ppid: 300, startTicks: 2001, missing: ["cmdline"] },
      { pid: 302, ppid: 300, startTicks: 2002, rawStat: "302 (broken" },
      { pid: 303, ppid: 300, startTicks: 2003, argv: ["node"], missing: ["status"], rssKb: null },
    ];
    const fake = makeFakeProc(racy);
    roots.push(fake.cleanup);
    const s = takeSnapshot({ procRoot: fake.root, gatewayPid: 100, protectedPids: new Set() });
    assert.deepEqual([...s.procs.keys()].sort(), [200, 201, 300, 303]);
    // A descendant's status is never read: its RSS comes from stat (0 pages here, as a zombie's).
    assert.equal(s.procs.get(303)?.rssBytes, 0);
    assert.equal(s.procs.get(303)?.uid, null);
    assert.deepEqual(s.skipped.map((x) => x.pid).sort(), [301, 302]);
  });

  it("throws GatewayGoneError when the gateway is not there", () => {
    const fake = makeFakeProc(tree);
    roots.push(fake.cleanup);
    assert.throws(() => takeSnapshot({ procRoot: fake.root, gatewayPid: 999, protectedPids: new Set() }), GatewayGoneError);
  });

  it("protects a pid and all its ancestors", () => {
    const fake = makeFakeProc(tree);
    roots.push(fake.cleanup);
    assert.deepEqual([...protectedPidsOf(fake.root, 301)].sort((a, b) => a - b), [1, 100, 300, 301]);
  });
});

describe("resolveGateway", () => {
  const fake = makeFakeProc([
    ...tree,
    { pid: 500, ppid: 1, comm: "node", startTicks: 60, argv: ["/usr/bin/node", "/srv/app.js"] },
    { pid: 501, ppid: 1, comm: "node", startTicks: 61, argv: ["node", "other.js"] },
    { pid: 502, ppid: 1, comm: "gone", startTicks: 62, argv: [], state: "Z" },
  ]);
  after(fake.cleanup);
  const none = new Set<number>();

  it("finds a retitled gateway by its full title (comm is cut to 15 characters)", () => {
    assert.equal(resolveGateway({ kind: "name", name: "openclaw-gateway" }, fake.root, none).pid, 100);
  });
  it("finds by comm as the kernel cut it, and by argv[0] basename", () => {
    assert.equal(resolveGateway({ kind: "name", name: "openclaw-gatewa" }, fake.root, none).pid, 100);
    assert.equal(resolveGateway({ kind: "name", name: "unrelated" }, fake.root, none).pid, 400);
  });
  it("lists the candidates when the name is ambiguous", () => {
    assert.throws(() => resolveGateway({ kind: "name", name: "node" }, fake.root, none), (err: Error) => {
      assert.ok(err instanceof GatewayNotFoundError);
      assert.match(err.message, /3 processes are named "node": 301 \(node x.js\), 500 \(\/usr\/bin\/node \/srv\/app.js\), 501 \(node other.js\); pick one with --gateway-pid/);
      return true;
    });
  });
  it("leaves out our own pid and ancestors when matching by name", () => {
    assert.equal(resolveGateway({ kind: "name", name: "node" }, fake.root, new Set([301, 501])).pid, 500);
  });
  it("errors on no match, a missing pid, pid 1, a zombie and a bad pidfile", () => {
    const dir = fake.root;
    writeFileSync(join(dir, "good.pid"), "100\n");
    writeFileSync(join(dir, "bad.pid"), "hello\n");
    assert.equal(resolveGateway({ kind: "pidfile", path: join(dir, "good.pid") }, dir, none).pid, 100);
    for (const spec of [
      { kind: "name" as const, name: "nope" },
      { kind: "pid" as const, pid: 9999 },
      { kind: "pid" as const, pid: 1 },
      { kind: "pid" as const, pid: 502 },
      { kind: "pidfile" as const, path: join(dir, "bad.pid") },
      { kind: "pidfile" as const, path: join(dir, "missing.pid") },
    ]) {
      assert.throws(() => resolveGateway(spec, dir, none), GatewayNotFoundError, JSON.stringify(spec));
    }
  });
});
