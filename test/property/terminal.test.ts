// Property: untrusted text from /proc (argv, comm, cwd) with escape sequences, CR, BEL, bidi overrides
// and invalid UTF-8 prints escaped in the human report and as JSON that round-trips exactly.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_MATCH, plan } from "../../src/decide/planner.js";
import { summarize, type PassResult } from "../../src/pass.js";
import { parseCmdline } from "../../src/proc/parse.js";
import type { ProcInfo, Snapshot } from "../../src/proc/snapshot.js";
import { formatPass } from "../../src/report/human.js";
import { formatJson } from "../../src/report/json.js";
import { forAll, SEED, type Rng } from "./prng.js";

const CASES = 400;

/** What a terminal acts on: C0 (but the report's own newlines), DEL, C1, bidi overrides and isolates. */
const DANGEROUS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const EVIL = ["\x1b[31m", "\x1b]0;pwned\x07", "\x1b[2J", "\r", "\x07", "\u202e", "\u2066", "\x9b31m", "\x7f", "\b", "\t", "\n", "\0", "\x1bP", "é", "😀"];

function evilWord(rng: Rng): string {
  let word = rng.pick(["mcp-server-", "npx", "/srv/mcp/", "x"]);
  for (let k = rng.int(1, 4); k > 0; k--) word += rng.bool(0.7) ? rng.pick(EVIL) : String.fromCharCode(rng.int(0, 0x2100));
  // Invalid UTF-8 as the kernel hands it over: decode raw bytes the way readCmdline does.
  if (rng.bool(0.3)) word += parseCmdline(Uint8Array.from([0xff, 0xc3, 0x28, 0x80, 0xe2, 0x82]))[0];
  return word;
}

function info(rng: Rng, pid: number, ppid: number, startTicks: number): ProcInfo {
  const argv = Array.from({ length: rng.int(1, 4) }, () => evilWord(rng)).map((w) => w.replace(/\0/g, ""));
  return {
    pid, ppid, pgid: pid, io: null, comm: evilWord(rng).slice(0, 15), state: rng.bool(0.1) ? "Z" : "S", utimeTicks: 0, stimeTicks: 0, threads: 1, rssPages: 0, startTicks,
    ageMs: 1_000_000, startedAtMs: 1_700_000_000_000, rssBytes: 1024, uid: 0, argv: ["mcp-server-evil", ...argv], cwd: evilWord(rng),
  };
}

function evilPass(rng: Rng): PassResult {
  const procs = new Map<number, ProcInfo>();
  const children = new Map<number, number[]>([[10, []]]);
  for (let pid = 100; pid < 100 + rng.int(1, 6); pid++) {
    procs.set(pid, info(rng, pid, 10, pid));
    children.get(10)?.push(pid);
    procs.set(pid + 1000, info(rng, pid + 1000, pid, pid));
    children.set(pid, [pid + 1000]);
  }
  const snapshot: Snapshot = {
    procRoot: "/nonexistent", takenAtMs: 1_800_000_000_000, uptimeMs: 10_000_000, gateway: info(rng, 10, 1, 5), procs, children,
    protectedPids: new Set([999_999]), method: "children-files", skipped: [],
  };
  const p = plan(snapshot, { keep: 1, minAgeMs: 0, match: DEFAULT_MATCH, ignore: null, idleMs: null });
  return { dryRun: true, takenAtMs: 1_800_000_000_000, warnings: [], scan: { method: "children-files", processes: procs.size + 1, durationMs: 1, skipped: [] }, plan: p, results: null, summary: summarize(p, null), durationMs: 1 };
}

describe(`terminal safety of reports (seed ${SEED})`, () => {
  it("the human report escapes every control character, C1 code and bidi override", () => {
    forAll("human report", CASES, (rng) => {
      const text = formatPass(evilPass(rng));
      const bad = DANGEROUS.exec(text);
      assert.equal(bad, null, `raw U+${bad?.[0].charCodeAt(0).toString(16).padStart(4, "0")} in the report`);
    });
  });

  it("the JSON document is valid, round-trips every argv exactly, and holds no raw control or bidi character", () => {
    forAll("json report", CASES, (rng) => {
      const r = evilPass(rng);
      const text = formatJson({ kind: "pass", at: 0, result: r });
      const bad = DANGEROUS.exec(text);
      assert.equal(bad, null, `raw U+${bad?.[0].charCodeAt(0).toString(16).padStart(4, "0")} in the JSON`);
      const doc = JSON.parse(text) as { gateway: { argv: string[] }; instances: { processes: { pid: number; argv: string[] }[] }[] };
      assert.deepEqual(doc.gateway.argv, r.plan.gateway.argv);
      const argvOf = new Map([...r.plan.types.flatMap((t) => t.instances.flatMap((i) => i.members.map((m) => [m.pid, m.argv] as const)))]);
      const seen = doc.instances.flatMap((i) => i.processes);
      assert.equal(seen.length, argvOf.size);
      for (const p of seen) assert.deepEqual(p.argv, argvOf.get(p.pid));
    });
  });

  it("negative control: the generator does produce dangerous text", () => {
    let dangerous = 0;
    forAll("generator", 100, (rng) => {
      const r = evilPass(rng);
      if (r.plan.types.flatMap((t) => t.instances.flatMap((i) => i.members.flatMap((m) => m.argv))).some((w) => DANGEROUS.test(w))) dangerous++;
    });
    assert.ok(dangerous >= 80, `only ${dangerous} of 100 generated passes hold dangerous text`);
  });
});
