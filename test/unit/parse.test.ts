// Unit: the pure /proc parsers, including command names made to fool a naive split.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProcParseError, parseAuxvPageSize, parseCmdline, parseEnviron, parseIo, parseStat, parseStatus, parseUptimeMs } from "../../src/proc/parse.js";
import { pageSize } from "../../src/proc/read.js";
import { statLine } from "./fakeproc.js";

describe("parseStat", () => {
  it("reads a real-looking line", () => {
    const s = parseStat("4242 (node) S 17 4242 17 0 -1 4194560 1 2 3 4 55 66 0 0 20 0 11 0 987654 100000 2000 18446744073709551615\n");
    assert.deepEqual(s, { pid: 4242, comm: "node", state: "S", ppid: 17, pgid: 4242, utimeTicks: 55, stimeTicks: 66, startTicks: 987654, threads: 11, rssPages: 2000 });
  });

  const tricky: [string, string][] = [
    ["spaces", "my server"],
    ["close paren then fields", "x) S 1 1 1 0"],
    ["nested parens", "((a)) (b)"],
    ["newline", "a\nb"],
    ["empty", ""],
    ["only parens", ")))((("],
  ];
  for (const [what, comm] of tricky) {
    it(`keeps ppid and start ticks right when comm has ${what}`, () => {
      const s = parseStat(statLine({ pid: 77, ppid: 5, comm, startTicks: 31337, utime: 9, stime: 8 }));
      assert.equal(s.comm, comm);
      assert.equal(s.ppid, 5);
      assert.equal(s.startTicks, 31337);
      assert.equal(s.utimeTicks, 9);
      assert.equal(s.stimeTicks, 8);
    });
  }

  it("the naive split it replaces would have been wrong (negative control)", () => {
    const line = statLine({ pid: 77, ppid: 5, comm: "x) S 1 1 1 0", startTicks: 31337 });
    const naivePpid = Number(line.split(" ")[3]);
    assert.notEqual(naivePpid, 5);
    assert.equal(parseStat(line).ppid, 5);
  });

  for (const bad of ["", "garbage", "12 (x) S 1 2", "12 (x) 7 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", "x (y) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5"]) {
    it(`throws a typed error for ${JSON.stringify(bad.slice(0, 20))}`, () => {
      assert.throws(() => parseStat(bad), ProcParseError);
    });
  }
});

describe("parseCmdline", () => {
  it("splits on NUL and drops the trailing one", () => {
    assert.deepEqual(parseCmdline(Buffer.from("uv\0run\0mcp-server-fetch\0")), ["uv", "run", "mcp-server-fetch"]);
  });
  it("keeps empty arguments in the middle", () => {
    assert.deepEqual(parseCmdline(Buffer.from("a\0\0b\0")), ["a", "", "b"]);
  });
  it("reads a retitled process without a trailing NUL", () => {
    assert.deepEqual(parseCmdline(Buffer.from("openclaw-gateway")), ["openclaw-gateway"]);
  });
  it("drops the NUL padding of a title set through process.title (libuv zero-fills the old argv area)", () => {
    assert.deepEqual(parseCmdline(Buffer.from(`demo-gateway${"\0".repeat(40)}`)), ["demo-gateway"]);
    assert.deepEqual(parseCmdline(Buffer.from(`npm exec @scope/pkg /tmp${"\0".repeat(9)}`)), ["npm exec @scope/pkg /tmp"]);
    // Negative control: empty words between arguments are arguments, not padding.
    assert.deepEqual(parseCmdline(Buffer.from("a\0\0\0b\0\0\0")), ["a", "", "", "b"]);
  });
  it("reads a cmdline of NULs only as one empty word, not as a kernel thread", () => {
    assert.deepEqual(parseCmdline(Buffer.from("\0\0\0")), [""]);
  });
  it("is empty for a kernel thread", () => {
    assert.deepEqual(parseCmdline(Buffer.alloc(0)), []);
  });
  it("turns invalid UTF-8 into replacement characters, not an exception", () => {
    assert.deepEqual(parseCmdline(Buffer.from([0x61, 0xff, 0xfe, 0x00])), ["a\ufffd\ufffd"]);
  });
});

describe("parseStatus", () => {
  it("reads the real uid", () => {
    assert.deepEqual(parseStatus("Name:\tnode\nUid:\t1000\t1001\t1001\t1001\nVmRSS:\t   10240 kB\n"), { uid: 1000 });
  });
  it("throws a typed error without a Uid line", () => {
    assert.throws(() => parseStatus("Name:\tx\n"), ProcParseError);
  });
});

describe("parseAuxvPageSize", () => {
  /** (type, value) pairs as machine words, ended by AT_NULL. */
  const auxv = (pairs: [number, number][], wordBytes: 4 | 8, littleEndian: boolean): Uint8Array => {
    const view = new DataView(new ArrayBuffer((pairs.length + 1) * 2 * wordBytes));
    pairs.forEach(([type, value], i) => {
      const at = i * 2 * wordBytes;
      if (wordBytes === 8) {
        view.setBigUint64(at, BigInt(type), littleEndian);
        view.setBigUint64(at + 8, BigInt(value), littleEndian);
      } else {
        view.setUint32(at, type, littleEndian);
        view.setUint32(at + 4, value, littleEndian);
      }
    });
    return new Uint8Array(view.buffer);
  };
  it("finds AT_PAGESZ (6) among other entries, for 32- and 64-bit words of either byte order", () => {
    for (const wordBytes of [4, 8] as const) {
      for (const le of [true, false]) {
        assert.equal(parseAuxvPageSize(auxv([[33, 0x7fff0000], [16, 0xbfebfbff], [6, 16384], [17, 100]], wordBytes, le), wordBytes, le), 16384);
      }
    }
  });
  it("is null without one, after AT_NULL, for an implausible size, or for short bytes", () => {
    assert.equal(parseAuxvPageSize(auxv([[16, 1], [17, 100]], 8, true), 8, true), null);
    const ended = auxv([[0, 0], [6, 4096]], 8, true);
    assert.equal(parseAuxvPageSize(ended, 8, true), null);
    assert.equal(parseAuxvPageSize(auxv([[6, 4097]], 8, true), 8, true), null);
    assert.equal(parseAuxvPageSize(auxv([[6, 0]], 8, true), 8, true), null);
    assert.equal(parseAuxvPageSize(new Uint8Array([6, 0, 0]), 8, true), null);
  });
  it("reads this machine's page size from /proc/self/auxv", () => {
    assert.ok([4096, 16384, 65536].includes(pageSize()), `page size ${pageSize()}`);
  });
});

describe("parseIo / parseEnviron / parseUptimeMs", () => {
  it("reads the four counters", () => {
    assert.deepEqual(parseIo("rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n"), { rchar: 1, wchar: 2, syscr: 3, syscw: 4 });
    assert.throws(() => parseIo("rchar: 1\n"), ProcParseError);
  });
  it("reads environ, first value wins, '=' inside values kept", () => {
    const env = parseEnviron(Buffer.from("A=1\0B=x=y\0A=2\0NOEQ\0"));
    assert.equal(env.get("A"), "1");
    assert.equal(env.get("B"), "x=y");
    assert.equal(env.get("NOEQ"), "");
  });
  it("reads uptime to the hundredth", () => {
    assert.equal(parseUptimeMs("6791.42 13000.01\n"), 6_791_420);
    assert.equal(parseUptimeMs("5.5 1.0\n"), 5_500);
    assert.throws(() => parseUptimeMs("soon"), ProcParseError);
  });
});
