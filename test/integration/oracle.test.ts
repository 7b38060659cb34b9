// Integration: our /proc snapshot checked against independent tools (pidtree, ps-list, pidusage) on a
// real process tree. They spawn `ps` and are too slow and too coarse for the reaper, but they are
// written by other people, which makes them good witnesses.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import pidtree from "pidtree";
import pidusage from "pidusage";
import psList from "ps-list";
import { startWorld, type World } from "../../src/demo/world.js";
import { protectedPidsOf, takeSnapshot, type Snapshot } from "../../src/proc/snapshot.js";

describe("snapshot agrees with pidtree, ps-list and pidusage", () => {
  let w: World;
  let snap: Snapshot;
  before(async () => {
    w = await startWorld({ sessions: 2, ignoreTermType: null });
    snap = takeSnapshot({ gatewayPid: w.gatewayPid, protectedPids: protectedPidsOf("/proc", process.pid) });
  });
  after(async () => {
    await w?.stop();
    // pidusage keeps a history-cleaning timer that would hold the test process open.
    pidusage.clear();
  });

  it("finds the same descendants as pidtree", async () => {
    const theirs = await pidtree(w.gatewayPid);
    assert.deepEqual([...snap.procs.keys()].sort((a, b) => a - b), [...theirs].sort((a, b) => a - b));
  });

  it("reads the same parents and command lines as ps-list", async () => {
    const theirs = new Map((await psList()).map((p) => [p.pid, p]));
    for (const p of snap.procs.values()) {
      const t = theirs.get(p.pid);
      assert.ok(t, `ps-list sees ${p.pid}`);
      assert.equal(t.ppid, p.ppid, `ppid of ${p.pid}`);
      // ps prints the NULs of a retitled process's padding as spaces, and trims them at the end.
      assert.equal(t.cmd, p.argv.join(" ").trimEnd(), `command line of ${p.pid}`);
    }
  });

  // pidusage reads the same stat field a moment later: a small shell may differ by ~10% meanwhile.
  it("reads RSS within 10% (or 256 KiB) of pidusage", async () => {
    for (const p of snap.procs.values()) {
      const theirs = await pidusage(p.pid);
      assert.ok(p.rssBytes !== null && p.rssBytes > 0);
      const diff = Math.abs(p.rssBytes - theirs.memory);
      assert.ok(diff < 256 * 1024 || diff / theirs.memory < 0.1, `pid ${p.pid}: ours ${p.rssBytes}, pidusage ${theirs.memory}`);
    }
  });

  // status's VmRSS is the kernel's exact sum of the counters stat's rss reads lazily (and in pages):
  // the two agree to the counters' per-CPU slack, which a wrong page size would break by 4x or more.
  it("reads RSS within 1 MiB (or 5%) of the kernel's VmRSS", () => {
    for (const p of snap.procs.values()) {
      let status: string;
      try {
        status = readFileSync(`/proc/${p.pid}/status`, "utf8");
      } catch {
        continue; // exited since the snapshot
      }
      const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
      assert.ok(kb > 0 && p.rssBytes !== null, `pid ${p.pid}: VmRSS ${kb} kB, ours ${p.rssBytes}`);
      const diff = Math.abs(p.rssBytes - kb * 1024);
      assert.ok(diff < 2 ** 20 || diff / (kb * 1024) < 0.05, `pid ${p.pid}: ours ${p.rssBytes}, VmRSS ${kb * 1024}`);
    }
  });
});
