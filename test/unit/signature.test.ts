// Unit: argv -> server type. The table is the spec of which launchers are stripped and how paths reduce.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { namesIn, nameOf, shellSplit, signatureOf, stripLaunchers } from "../../src/decide/signature.js";

describe("stripLaunchers", () => {
  const table: [string[], string[]][] = [
    [["uv", "run", "mcp-yfinance-server"], ["mcp-yfinance-server"]],
    [["uvx", "mcp-server-fetch"], ["mcp-server-fetch"]],
    [["/usr/bin/uvx", "--from", "git+https://x/y", "mcp-server-git", "--repository", "/r"], ["mcp-server-git", "--repository", "/r"]],
    [["uv", "tool", "uvx", "mcp-server-fetch"], ["mcp-server-fetch"]],
    [["uv", "tool", "run", "--python", "3.12", "mcp-server-time"], ["mcp-server-time"]],
    [["uv", "run", "--directory", "/srv/weather", "weather.py"], ["weather.py"]],
    [["npx", "-y", "@modelcontextprotocol/server-filesystem", "/tmp"], ["@modelcontextprotocol/server-filesystem", "/tmp"]],
    [["npm", "exec", "@modelcontextprotocol/server-filesystem", "/tmp"], ["@modelcontextprotocol/server-filesystem", "/tmp"]],
    [["npm", "exec", "--yes", "--", "mcp-remote", "https://x"], ["mcp-remote", "https://x"]],
    [["pnpm", "dlx", "@playwright/mcp"], ["@playwright/mcp"]],
    [["bunx", "mcp-x"], ["mcp-x"]],
    [["pipx", "run", "--spec", "mcp-server-fetch==1.0", "mcp-server-fetch"], ["mcp-server-fetch"]],
    [["sh", "-c", "node server.js --port 1; :"], ["server.js", "--port", "1"]],
    [["/bin/bash", "-lc", "exec uvx mcp-server-fetch"], ["mcp-server-fetch"]],
    [["sh", "-c", "FOO=1 'npx' -y \"mcp server\""], ["mcp server"]],
    [["env", "-u", "X", "A=1", "node", "--max-old-space-size=256", "-r", "dotenv/config", "index.js"], ["index.js"]],
    [["python3", "-u", "-m", "mcp_server_fetch", "--ignore-robots-txt"], ["mcp_server_fetch", "--ignore-robots-txt"]],
    [["/usr/bin/python3.11", "-X", "utf8", "server.py"], ["server.py"]],
    [["deno", "run", "-A", "--config", "deno.json", "main.ts"], ["main.ts"]],
    [["docker", "run", "-i", "--rm", "mcp/fetch"], ["docker", "run", "-i", "--rm", "mcp/fetch"]],
    [["bash", "/opt/launch.sh", "x"], ["/opt/launch.sh", "x"]],
    [["/bin/bash", "/tmp/w/bin/uv", "run", "mcp-yfinance-server"], ["mcp-yfinance-server"]],
    [["bash", "-x", "/opt/launch.sh"], ["bash", "-x", "/opt/launch.sh"]],
    [["npm exec @modelcontextprotocol/server-filesystem /tmp", "", "", ""], ["@modelcontextprotocol/server-filesystem", "/tmp"]],
    [["node"], ["node"]],
    [[], []],
  ];
  for (const [argv, want] of table) {
    it(`${JSON.stringify(argv)} -> ${JSON.stringify(want)}`, () => assert.deepEqual(stripLaunchers(argv), want));
  }
});

describe("signatureOf", () => {
  it("reduces a package path to its package name", () => {
    const s = signatureOf(["node", "/root/.npm/_npx/6913fdfd1ea7a741/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", "/tmp"], "/home/u");
    assert.deepEqual(s.command, ["@modelcontextprotocol/server-filesystem", "/tmp"]);
    assert.equal(s.label, "@modelcontextprotocol/server-filesystem /tmp");
  });
  it("reduces a cache bin to its basename, keeps other paths whole", () => {
    assert.deepEqual(signatureOf(["/root/.cache/uv/archive-v0/abc123/bin/mcp-server-fetch"], null).command, ["mcp-server-fetch"]);
    assert.deepEqual(signatureOf(["node", "/srv/a/index.js"], null).command, ["/srv/a/index.js"]);
  });
  it("npx and the npm exec it becomes are the same type", () => {
    const a = signatureOf(["npx", "-y", "@modelcontextprotocol/server-filesystem", "/tmp"], "/w");
    const b = signatureOf(["npm", "exec", "@modelcontextprotocol/server-filesystem", "/tmp"], "/w");
    assert.equal(a.key, b.key);
  });
  it("different arguments, working directory or chosen env make different types", () => {
    const base = signatureOf(["npx", "srv-fs", "/a"], "/w").key;
    assert.notEqual(signatureOf(["npx", "srv-fs", "/b"], "/w").key, base);
    assert.notEqual(signatureOf(["npx", "srv-fs", "/a"], "/other").key, base);
    assert.notEqual(signatureOf(["npx", "srv-fs", "/a"], "/w", new Map([["API_KEY", "2"]])).key, base);
  });
  it("labels quote words a reader could misread", () => {
    assert.equal(signatureOf(["sh", "-c", "node 'my server.js'"], null).label, '"my server.js"');
  });
});

describe("names for matching", () => {
  it("matches by package or basename, never by the directory a checkout sits in", () => {
    assert.equal(nameOf("/home/me/mcp-work/dist/worker.js"), "worker.js");
    assert.equal(nameOf("/x/node_modules/@modelcontextprotocol/server-memory/dist/index.js"), "@modelcontextprotocol/server-memory");
    assert.equal(nameOf("/x/node_modules/.bin/mcp-server-filesystem"), "mcp-server-filesystem");
    assert.equal(nameOf("/usr/lib/python3/site-packages/mcp_server_fetch/__main__.py"), "mcp_server_fetch");
    assert.equal(nameOf("mcp-server-fetch"), "mcp-server-fetch");
    assert.equal(nameOf("@modelcontextprotocol/server-filesystem"), "@modelcontextprotocol/server-filesystem");
    assert.equal(nameOf("@playwright/mcp@latest"), "@playwright/mcp@latest");
  });
  it("a path names its package only where it runs the package (its bin link, directory, top or bin/dist/build/lib/out script)", () => {
    // The package's own command: named after the package.
    for (const [path, name] of [
      ["/usr/lib/node_modules/mcp-remote/dist/proxy.js", "mcp-remote"],
      ["/x/node_modules/@playwright/mcp/cli.js", "@playwright/mcp"],
      ["/x/node_modules/@modelcontextprotocol/server-filesystem/build/index.js", "@modelcontextprotocol/server-filesystem"],
      ["/x/node_modules/mcp-reaper/bin/mcp-reaper.js", "mcp-reaper"],
      ["/x/node_modules/@modelcontextprotocol/server-memory/", "@modelcontextprotocol/server-memory"],
      ["/v/lib/python3.12/site-packages/mcp_server_git.py", "mcp_server_git"],
    ] as const) assert.equal(nameOf(path), name, path);
    // Helper scripts a package ships (a gateway's workers, our demo's): named by themselves.
    for (const [path, name] of [
      ["/usr/lib/node_modules/mcp-reaper/dist/src/demo/worker.js", "worker.js"],
      ["/x/node_modules/mcp-hub/dist/workers/health.js", "health.js"],
      ["/x/node_modules/@metamcp/gateway/scripts/cleanup.js", "cleanup.js"],
      ["/v/lib/python3.12/site-packages/mcp/server/fastmcp/worker.py", "worker.py"],
    ] as const) assert.equal(nameOf(path), name, path);
  });
  it("a helper script of a package with mcp in its name is no MCP server; its bin is (negative control)", () => {
    const mcp = /mcp|modelcontextprotocol/i;
    assert.equal(namesIn(["node", "/usr/lib/node_modules/mcp-reaper/dist/src/demo/worker.js"]).some((n) => mcp.test(n)), false);
    assert.equal(namesIn(["node", "/usr/lib/node_modules/mcp-reaper/bin/mcp-reaper.js"]).some((n) => mcp.test(n)), true);
  });
  it("two helper scripts of one package are two types named after the scripts, not one named after the package", () => {
    const pkg = "/usr/lib/node_modules/mcp-reaper/dist/src/demo";
    const fetch = signatureOf(["node", `${pkg}/mcp-server.js`, "--server", "fetch"], "/");
    const memory = signatureOf(["node", `${pkg}/mcp-server.js`, "--server", "memory"], "/");
    assert.equal(fetch.label, `${pkg}/mcp-server.js --server fetch`);
    assert.notEqual(fetch.key, memory.key);
    assert.notEqual(signatureOf(["node", `${pkg}/worker.js`], "/").key, signatureOf(["node", `${pkg}/other.js`], "/").key);
  });
  it("splits shell strings into their words first", () => {
    assert.deepEqual(namesIn(["sh", "-c", "node /srv/mcp-work/worker.js; :"]), ["sh", "-c", "node", "worker.js"]);
  });
  it("shellSplit handles quotes, escapes and stops at the first operator", () => {
    assert.deepEqual(shellSplit(`a 'b c' "d \\"e\\"" f\\ g && h`), ["a", "b c", 'd "e"', "f g"]);
    assert.deepEqual(shellSplit(""), []);
  });
});
