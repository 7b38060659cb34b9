// Unit: bounded reads of files we are pointed at, and directory creation that cannot loop on procfs.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { makeDirs, NotASmallFileError, readSmallFile } from "../../src/files.js";
import { loadConfigs } from "../../src/hosts/read.js";
import { makeFakeProc } from "./fakeproc.js";

const dir = mkdtempSync(join(tmpdir(), "mcp-reaper-files-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const me = process.getuid?.() ?? 0;

describe("readSmallFile", () => {
  it("reads a small regular file", () => {
    writeFileSync(join(dir, "ok.json"), "{}\n");
    assert.equal(readSmallFile(join(dir, "ok.json")), "{}\n");
  });
  it("refuses a FIFO, a device and an oversized file without hanging", () => {
    execFileSync("mkfifo", [join(dir, "fifo")]);
    writeFileSync(join(dir, "big"), "x".repeat(2048));
    for (const [path, max, code] of [
      [join(dir, "fifo"), undefined, "not a regular file"],
      ["/dev/null", undefined, "not a regular file"],
      [join(dir, "big"), 1024, "larger than 1024 bytes"],
    ] as const) {
      assert.throws(() => readSmallFile(path, max), (err: Error) => err instanceof NotASmallFileError && err.code === code, path);
    }
  });
  it("with an owner uid, refuses a file someone else owns", () => {
    writeFileSync(join(dir, "mine.json"), "{}");
    assert.equal(readSmallFile(join(dir, "mine.json"), undefined, { ownerUid: me }), "{}");
    assert.throws(() => readSmallFile(join(dir, "mine.json"), undefined, { ownerUid: me + 1 }), /not owned by uid/);
  });
});

describe("makeDirs", () => {
  it("creates missing parents, and fails at once under /proc instead of looping", () => {
    makeDirs(join(dir, "a", "b", "c"));
    makeDirs(join(dir, "a", "b", "c"));
    assert.throws(() => makeDirs("/proc/no-such-dir/x"), /ENOENT/);
  });
});

describe("OpenClaw discovery", () => {
  it("reads the config the gateway names only when the gateway's own user owns it", () => {
    const config = join(dir, "openclaw.json");
    writeFileSync(config, '{ "mcp": { "servers": { "fetch": { "command": "uvx", "args": ["mcp-server-fetch"] } } } }');
    for (const [uid, servers, error] of [
      [me, 1, null],
      [me + 1, 0, /not owned by uid/],
    ] as const) {
      const fake = makeFakeProc([{ pid: 100, ppid: 1, startTicks: 5, comm: "openclaw-gatewa", argv: ["openclaw-gateway"], uid, environ: { OPENCLAW_CONFIG_PATH: config } }]);
      try {
        const loaded = loadConfigs({ paths: [], discover: true, procRoot: fake.root, gateway: { pid: 100, uid, comm: "openclaw-gatewa", argv: ["openclaw-gateway"] }, passwdPath: join(dir, "none") });
        assert.equal(loaded.entries.length, servers);
        if (error) assert.match(loaded.sources[0]?.error ?? "", error);
        else assert.equal(loaded.sources[0]?.error, null);
      } finally {
        fake.cleanup();
      }
    }
  });
});
