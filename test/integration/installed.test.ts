// Integration: the package as users get it. `npm pack` the checkout, `npm i -g --prefix` the tarball into a
// temp dir (dependencies from the npm cache, or the registry), and run the installed `mcp-reaper`: its
// version, help, man page and demo, whose plan must ignore the worker and name each type after its server.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { listPids, readEnviron } from "../../src/proc/read.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));

/** npm's own script variables (npm test sets dozens) would steer the nested npm: only the cache and registry pass. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.toLowerCase().startsWith("npm_") || /^npm_config_(cache|registry|userconfig)$/i.test(k)) env[k] = v;
  }
  // The node under test runs npm and the installed bin (`#!/usr/bin/env node`).
  env.PATH = [dirname(process.execPath), process.env.PATH ?? ""].join(delimiter);
  return env;
}

function npm(args: string[], cwd: string): string {
  const r = spawnSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8", timeout: 120_000, env: npmEnv() });
  assert.equal(r.status, 0, `npm ${args.join(" ")}: ${r.error?.message ?? ""}${r.stderr}`);
  return r.stdout;
}

interface PackedFile {
  path: string;
}

let dir: string;
let files: string[];
let bin: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "mcp-reaper-installed-"));
  // --ignore-scripts: `prepare` would rebuild dist/ under the running suite; npm test built it already.
  const packed = JSON.parse(npm(["pack", "--ignore-scripts", "--json", "--pack-destination", dir], REPO)) as { filename: string; files: PackedFile[] }[];
  files = (packed[0]?.files ?? []).map((f) => f.path);
  const prefix = join(dir, "prefix");
  npm(["install", "--global", "--prefix", prefix, "--prefer-offline", join(dir, packed[0]?.filename ?? "")], dir);
  bin = join(prefix, "bin", "mcp-reaper");
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function installed(args: string[]): { code: number | null; stdout: string; stderr: string; pid: number } {
  // cwd: the temp dir, so nothing of the checkout is in reach by accident.
  const r = spawnSync(bin, args, { cwd: dir, encoding: "utf8", timeout: 60_000, env: { ...npmEnv(), NO_COLOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, pid: r.pid as number };
}

describe("the installed package", () => {
  it("ships what a user needs and none of the tests", () => {
    const docs = readdirSync(join(REPO, "docs")).map((f) => `docs/${f}`);
    assert.ok(docs.length > 0);
    for (const want of ["bin/mcp-reaper.js", "dist/src/cli.bundle.cjs", "dist/src/demo/run.js", "dist/man/mcp-reaper.1", "systemd/mcp-reaper.service", "systemd/mcp-reaper.timer", "systemd/mcp-reaper-supervisor.service", "README.md", "package.json", ...docs]) {
      assert.ok(files.includes(want), `${want} is in the package`);
    }
    assert.deepEqual(files.filter((f) => /^(test|dist\/test|dist\/bench|bench|src|scripts|\.ci)\//.test(f) || f.endsWith(".ts")), [], "no tests, sources or CI scripts");
  });

  it("runs --version and --help", () => {
    const version = installed(["--version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version);
    const help = installed(["--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: mcp-reaper /m);
  });

  it("installs the man page where man finds it", (t) => {
    const page = join(dirname(bin), "..", "share", "man", "man1", "mcp-reaper.1");
    assert.ok(existsSync(page), `${page} exists`);
    const man = ["/usr/bin/man", "/bin/man"].find((p) => existsSync(p));
    if (man === undefined) return t.skip("man is not installed: the page is there, not rendered");
    const r = spawnSync(man, ["mcp-reaper"], { encoding: "utf8", timeout: 30_000, env: { PATH: process.env.PATH, MANPATH: join(dirname(bin), "..", "share", "man"), MANPAGER: "cat", PAGER: "cat", MANWIDTH: "100" } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^NAME\n\s+mcp-reaper - /m);
    assert.match(r.stdout, /--gateway-pid <pid>/);
  });

  it("runs the demo: the worker ignored, each type named after its server, the gateway's title without padding", () => {
    const r = installed(["demo", "--json", "--sessions", "2"]);
    assert.equal(r.code, 0, r.stderr);
    // The demo prints the dry run, then the real pass: one JSON document per line.
    const docs = r.stdout.trim().split("\n").map((line) => JSON.parse(line) as {
      dryRun: boolean;
      gateway: { argv: string[] };
      types: { type: string; instances: number }[];
      ignored: { argv: string[] }[];
      summary: { kept: number; reaped: number };
    });
    const dry = docs[0];
    assert.ok(dry !== undefined && dry.dryRun, r.stdout);
    assert.deepEqual(dry.gateway.argv, ["demo-gateway"]);
    const pkg = join(dirname(bin), "..", "lib", "node_modules", "mcp-reaper");
    assert.ok(existsSync(pkg), pkg);
    assert.deepEqual(dry.ignored.map((i) => i.argv.at(-1)), [join(pkg, "dist", "src", "demo", "worker.js")], "the worker is ignored");
    const types = dry.types.map((t) => t.type).sort();
    assert.equal(types.length, 3, types.join("\n"));
    assert.match(types[0] as string, /^\/.*\/lib\/node_modules\/mcp-reaper\/dist\/src\/demo\/mcp-server\.js --server fetch --ignore-term$/);
    assert.equal(types[1], "@modelcontextprotocol/server-filesystem /tmp");
    assert.equal(types[2], "mcp-yfinance-server --server yfinance");
    assert.ok(types.every((t) => !t.startsWith("mcp-reaper")), "no type is named after the package the demo ships in");
    assert.deepEqual(dry.types.map((t) => t.instances), [2, 2, 2]);
    const real = docs.find((d) => !d.dryRun);
    assert.equal(real?.summary.reaped, 3, r.stdout);
    // Nothing of the demo's world outlives it (its marker starts with the demo's pid).
    assert.deepEqual(listPids("/proc").filter((pid) => readEnviron("/proc", pid)?.get("MCP_REAPER_WORLD")?.startsWith(`${r.pid}-`)), []);
  });
});
