// Property: the /proc parsers fed arbitrary and mutated bytes throw nothing but ProcParseError, and a
// comm of any characters round-trips through a generated stat line.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseAuxvPageSize, parseCmdline, parseEnviron, parseIo, parseStat, parseStatus, parseUptimeMs, ProcParseError } from "../../src/proc/parse.js";
import { statLine } from "../unit/fakeproc.js";
import { forAll, SEED, type Rng } from "./prng.js";

const CASES = 3000;

const SAMPLES = {
  stat: statLine({ pid: 4242, ppid: 1, comm: "node", startTicks: 123456 }),
  status: "Name:\tnode\nState:\tS (sleeping)\nUid:\t1000\t1000\t1000\t1000\nVmRSS:\t   51200 kB\nThreads:\t11\n",
  io: "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n",
  uptime: "12345.67 4321.00\n",
  environ: "PATH=/usr/bin\0HOME=/root\0A=b=c\0",
  cmdline: "node\0/srv/mcp-server.js\0--root\0/tmp\0",
};

/** Bytes the parsers are most likely to trip on, mixed into random ones. */
const NASTY = [0x00, 0x0a, 0x20, 0x28, 0x29, 0x3a, 0x3d, 0x2d, 0x09, 0xff, 0xc3, 0x80, 0x30, 0x39];

function randomBytes(rng: Rng): Uint8Array {
  const out = rng.bytes(rng.int(0, 200));
  for (let i = 0; i < out.length; i++) if (rng.bool(0.3)) out[i] = rng.pick(NASTY);
  return out;
}

/** A valid sample with a few bytes inserted, deleted or replaced: close to real input, so deep paths run. */
function mutated(rng: Rng, sample: string): Uint8Array {
  const bytes = [...Buffer.from(sample, "latin1")];
  for (let k = rng.int(1, 4); k > 0; k--) {
    const at = rng.int(0, bytes.length);
    const op = rng.int(0, 2);
    const b = rng.bool() ? rng.pick(NASTY) : rng.int(0, 255);
    if (op === 0) bytes.splice(at, 0, b);
    else if (op === 1) bytes.splice(at, 1);
    else bytes[Math.min(at, bytes.length - 1)] = b;
  }
  return Uint8Array.from(bytes);
}

function onlyParseErrors(parse: () => unknown): void {
  try {
    parse();
  } catch (err) {
    if (!(err instanceof ProcParseError)) throw new Error(`threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
}

describe(`parsers under fuzz (seed ${SEED})`, () => {
  const textParsers: [keyof typeof SAMPLES, (t: string) => unknown][] = [
    ["stat", parseStat],
    ["status", parseStatus],
    ["io", parseIo],
    ["uptime", parseUptimeMs],
  ];
  for (const [name, parse] of textParsers) {
    it(`${name}: arbitrary and mutated bytes throw only ProcParseError`, () => {
      forAll(`${name} fuzz`, CASES, (rng) => {
        const bytes = rng.bool() ? randomBytes(rng) : mutated(rng, SAMPLES[name]);
        const text = Buffer.from(bytes).toString(rng.bool() ? "utf8" : "latin1");
        onlyParseErrors(() => parse(text));
      });
    });
  }

  it("the samples themselves parse (negative control for the fuzz above)", () => {
    assert.equal(parseStat(SAMPLES.stat).startTicks, 123456);
    assert.deepEqual(parseStatus(SAMPLES.status), { uid: 1000 });
    assert.equal(parseIo(SAMPLES.io).syscw, 4);
    assert.equal(parseUptimeMs(SAMPLES.uptime), 12_345_670);
    assert.throws(() => parseStat("4242 (node S 1"), ProcParseError);
  });

  it("cmdline and environ: any bytes parse without throwing, and split on NUL", () => {
    forAll("cmdline/environ fuzz", CASES, (rng) => {
      const bytes = rng.bool() ? randomBytes(rng) : mutated(rng, rng.bool() ? SAMPLES.cmdline : SAMPLES.environ);
      const argv = parseCmdline(bytes);
      assert.ok(argv.every((w) => !w.includes("\0")));
      // Joining back gives the decoded text less its trailing NULs (a normal cmdline's one, or the
      // padding of a retitled process); no word but a lone one is empty at the end.
      const text = Buffer.from(bytes).toString("utf8");
      assert.equal(argv.join("\0"), text.replace(/\0+$/, ""));
      if (argv.length > 1) assert.notEqual(argv[argv.length - 1], "");
      for (const [key] of parseEnviron(bytes)) assert.ok(!key.includes("\0") && !key.includes("="));
    });
  });

  it("auxv: any bytes, at any offset, word size and byte order, give null or a plausible page size", () => {
    forAll("auxv fuzz", CASES, (rng) => {
      const raw = rng.bytes(rng.int(0, 130));
      const wordBytes = rng.bool() ? 8 : 4;
      // Often plant a whole little-endian AT_PAGESZ type word, so the found path runs too.
      if (raw.length >= 2 * wordBytes && rng.bool()) {
        const at = rng.int(0, Math.floor(raw.length / (2 * wordBytes)) - 1) * 2 * wordBytes;
        raw.fill(0, at, at + wordBytes);
        raw[at] = 6;
      }
      const offset = rng.int(0, 3);
      const bytes = raw.subarray(Math.min(offset, raw.length));
      const size = parseAuxvPageSize(bytes, wordBytes, rng.bool());
      assert.ok(size === null || (size >= 1024 && size <= 1 << 20 && (size & (size - 1)) === 0), String(size));
    });
  });

  it("a comm of any characters round-trips through a stat line", () => {
    const pool = [")", "(", " ", "\n", ") S 1 1 1", "((", "))", "x", "7", "\t", "é", "😀", "\u202e", "\x1b[31m", "\0"];
    forAll("comm round-trip", CASES, (rng) => {
      let comm = "";
      for (let k = rng.int(0, 6); k > 0; k--) comm += rng.pick(pool);
      const fields = { pid: rng.int(2, 4_194_304), ppid: rng.int(0, 4_194_304), startTicks: rng.int(0, 2 ** 40), state: rng.pick(["R", "S", "D", "Z", "T", "t", "X", "I"]) };
      const stat = parseStat(statLine({ ...fields, comm, utime: rng.int(0, 1e9), stime: rng.int(0, 1e9) }));
      assert.deepEqual({ pid: stat.pid, ppid: stat.ppid, startTicks: stat.startTicks, state: stat.state, comm: stat.comm }, { ...fields, comm });
    });
  });
});
