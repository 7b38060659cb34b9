// CLI: the server-type and orphan options against the built bin: bad input is one line and exit 2;
// a recorded tree with a config and escaped orphans reports which file named what and which evidence.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { orphansInServiceCgroup } from "../fixtures/trees/orphans.js";
import { makeFakeProc } from "../unit/fakeproc.js";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "mcp-reaper-cli-servers-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 20_000, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("server-type and orphan options: usage errors (exit 2, one line, nothing done)", () => {
  const broken = join(dir, "broken.json");
  writeFileSync(broken, `{ "mcpServers": { "a": { "command": "x" } }\n  oops }`);
  const fake = makeFakeProc([{ pid: 100, ppid: 1, startTicks: 1, argv: ["gw"] }]);
  after(fake.cleanup);
  const base = ["--proc-root", fake.root, "--gateway-pid", "100"];
  const table: [string[], RegExp][] = [
    [[...base, "--orphan-env", "K=v"], /--orphan-env needs --orphans/],
    [[...base, "--orphans", "--orphan-env", "novalue"], /--orphan-env must be KEY=VALUE/],
    [[...base, "--orphans", "--orphan-env", "K="], /--orphan-env must be KEY=VALUE/],
    [[...base, "--orphans", "--orphan-env", "1K=v"], /--orphan-env must be KEY=VALUE/],
    [[...base, "--signature-env", "A-B"], /--signature-env must be an environment variable name/],
    [[...base, "--mcp-config", join(dir, "missing.json")], /--mcp-config .*missing\.json: cannot read: ENOENT/],
    [[...base, "--mcp-config", broken], /--mcp-config .*broken\.json: not valid JSON5: expected "," or "}" at line 2, column 3/],
  ];
  for (const [args, pattern] of table) {
    it(JSON.stringify(args.slice(4)), () => {
      const r = run(args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^mcp-reaper: /);
      assert.match(r.stderr, pattern);
    });
  }
});

describe("a recorded tree with escaped orphans and a config", () => {
  const fake = makeFakeProc(orphansInServiceCgroup.procs, { childrenFiles: true });
  after(fake.cleanup);
  // A recorded tree carries its `ss -xa` output beside it.
  writeFileSync(join(fake.root, "ss-xa"), orphansInServiceCgroup.orphans?.ss ?? "");
  const config = join(dir, "claude_desktop_config.json");
  writeFileSync(config, `{ "mcpServers": { "memory": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"] } } }`);
  const args = ["--proc-root", fake.root, "--gateway-pid", "100", "--min-age", "60s", "--orphans", "--mcp-config", config, "--no-config"];

  it("JSON: evidence per orphan, the config that named the type, the ones left alone", () => {
    const r = run([...args, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const byRoot = new Map<number, { type: string; action: string; reasonCode: string; orphan?: { evidence: string[]; reach: string }; config?: { name: string; path: string } }>(
      doc.instances.map((i: { rootPid: number }) => [i.rootPid, i]),
    );
    assert.deepEqual(byRoot.get(210)?.config, { name: "memory", path: config });
    assert.deepEqual([byRoot.get(210)?.type, byRoot.get(210)?.reasonCode, byRoot.get(210)?.orphan?.reach], ["memory", "unreachable", "nobody"]);
    assert.deepEqual(byRoot.get(201)?.orphan?.evidence, ["stdio-peer", "cgroup"]);
    assert.equal(byRoot.get(300)?.orphan, undefined);
    assert.deepEqual(doc.configs.map((c: { path: string; how: string; servers: number }) => [c.path, c.how, c.servers]), [[config, "option", 1]]);
    assert.deepEqual(doc.orphansLeft.map((o: { rootPid: number }) => o.rootPid).sort(), [240, 60, 910]);
    assert.deepEqual(doc.orphanScan, { processes: orphansInServiceCgroup.procs.length, socketPeers: true, fdsComplete: true });
    assert.equal(doc.summary.orphans, 3);
  });

  it("human: names the config, the evidence and who was left alone", () => {
    const r = run(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`config ${config.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(--mcp-config\\): 1 stdio server`));
    assert.match(r.stdout, /^memory {2}2 instances$/m);
    assert.match(r.stdout, /named by .*claude_desktop_config\.json: runs mcp-server-memory/);
    assert.match(r.stdout, /escaped orphan \[stdio-peer, cgroup\] fd 1 of 201 \(socket:\[5002\]\) has its other end in the gateway/);
    assert.match(r.stdout, /910 .*its stdio peer is held by pid 900, not by this gateway/);
    assert.match(r.stdout, /dry run: no process was signalled/);
  });
});
