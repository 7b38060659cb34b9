// Unit: the terminate routine over a fake /proc, with a kill() that only records: which processes get
// which signal, late children (found by children files or, without them, by a scan), and the guard.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { terminate, type Guard } from "../../src/act/terminate.js";
import { makeFakeProc, type FakeProc } from "./fakeproc.js";

/** A reaped instance 500 -> 501 (in the snapshot); 502 appeared under 501 since, 503 is a zombie child of 500 not in the targets, 504 a late child of a kept process. */
const tree: FakeProc[] = [
  { pid: 1, ppid: 0, startTicks: 1, argv: ["/sbin/init"] },
  { pid: 100, ppid: 1, startTicks: 10, argv: ["gateway"] },
  { pid: 500, ppid: 100, startTicks: 500, argv: ["sh", "mcp-server-x.sh"] },
  { pid: 501, ppid: 500, startTicks: 501, argv: ["node", "mcp-server-x.js"] },
  { pid: 502, ppid: 501, startTicks: 900, argv: ["node", "late.js"] },
  { pid: 503, ppid: 500, startTicks: 502, state: "Z", argv: [] },
  { pid: 600, ppid: 100, startTicks: 600, argv: ["sh", "mcp-server-x.sh"] },
  { pid: 601, ppid: 600, startTicks: 950, argv: ["node", "kept-child.js"] },
];

function run(childrenFiles: boolean, members: number[], guardOver: Partial<Guard> = {}, tweak: (root: string) => void = () => undefined) {
  const fake = makeFakeProc(tree, { childrenFiles });
  roots.push(fake.cleanup);
  tweak(fake.root);
  const sent: [number, string][] = [];
  const guard: Guard = { procRoot: fake.root, gatewayPid: 100, protectedPids: new Set([4242]), keptPids: new Set([600, 601]), ...guardOver };
  const targets = [
    { pid: 500, startTicks: 500 },
    { pid: 501, startTicks: 501 },
  ];
  return terminate(targets, guard, { graceMs: 0, killWaitMs: 0, members, kill: (pid, sig) => void sent.push([pid, sig]) }).then((outcomes) => ({ outcomes, sent }));
}

const roots: (() => void)[] = [];
after(() => roots.forEach((c) => c()));

describe("terminate over a fake /proc", () => {
  for (const childrenFiles of [true, false]) {
    it(`adds the child that appeared under a target, not the zombie member (${childrenFiles ? "children files" : "host scan"})`, async () => {
      const { outcomes, sent } = await run(childrenFiles, [500, 501, 503]);
      const late = outcomes.filter((o) => o.late).map((o) => o.pid);
      assert.deepEqual(late, [502]);
      // Fake processes never die: TERM to all three, then KILL to all three.
      assert.deepEqual(sent, [
        [500, "SIGTERM"], [501, "SIGTERM"], [502, "SIGTERM"],
        [500, "SIGKILL"], [501, "SIGKILL"], [502, "SIGKILL"],
      ]);
      assert.ok(!sent.some(([pid]) => pid === 503 || pid === 600 || pid === 601 || pid === 100));
    });
  }

  it("a zombie child left out of the targets is not taken for a late one even when not named a member", async () => {
    const { outcomes } = await run(true, [500, 501]);
    assert.deepEqual(outcomes.filter((o) => o.late).map((o) => o.pid), [502]);
  });

  it("a late child is still subject to the guard (here: named protected)", async () => {
    const { outcomes, sent } = await run(true, [500, 501, 503], { protectedPids: new Set([502]) });
    const late = outcomes.find((o) => o.pid === 502);
    assert.equal(late?.result, "skipped");
    assert.match(late?.detail ?? "", /ancestors/);
    assert.ok(!sent.some(([pid]) => pid === 502));
  });

  it("a pid a children file lists whose own stat names another parent is not adopted", async () => {
    // 501's children file also lists 601, whose stat says its parent is 600 (a kept process).
    const { outcomes, sent } = await run(true, [500, 501, 503], {}, (root) => writeFileSync(join(root, "501", "task", "501", "children"), "502 601 "));
    assert.deepEqual(outcomes.filter((o) => o.late).map((o) => o.pid), [502]);
    assert.ok(!sent.some(([pid]) => pid === 601));
  });

  it("a member of the instance left out of the targets is not taken for a late child", async () => {
    const { outcomes, sent } = await run(true, [500, 501, 502, 503]);
    assert.deepEqual(outcomes.filter((o) => o.late), []);
    assert.ok(!sent.some(([pid]) => pid === 502));
  });

  it("a children file that cannot be read (a directory) finds no late child there, and the targets are still signalled", async () => {
    const { outcomes, sent } = await run(true, [500, 501, 503], {}, (root) => {
      const file = join(root, "501", "task", "501", "children");
      rmSync(file);
      mkdirSync(file);
    });
    assert.deepEqual(outcomes.filter((o) => o.late), []);
    assert.deepEqual(sent.filter(([, sig]) => sig === "SIGTERM").map(([pid]) => pid), [500, 501]);
  });
});
