// Unit: host config reading (tolerant JSON5, the three config shapes, OpenClaw discovery) and matching
// instances to config entries through launchers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { argvRunsEntry, matchEntry, namesRelated } from "../../src/decide/match.js";
import { ConfigSyntaxError, parseJson5 } from "../../src/hosts/json5.js";
import { openclawConfigPath } from "../../src/hosts/openclaw/config.js";
import { parseConfigText, parsePasswdHome, serversInConfig } from "../../src/hosts/parse.js";

describe("parseJson5", () => {
  it("reads what hand-edited host configs hold", () => {
    const text = `\uFEFF// top
    {
      /* block */ mcp: { servers: { 'a': { command: "npx", args: ['-y', "pkg",], }, }, },
      n: [0x10, .5, +1, -Infinity, 1e3,],
      s: "tab\\tquote\\" \\u00e9",
    }`;
    assert.deepEqual(JSON.parse(JSON.stringify(parseJson5(text))), {
      mcp: { servers: { a: { command: "npx", args: ["-y", "pkg"] } } },
      n: [16, 0.5, 1, null, 1000],
      s: 'tab\tquote" é',
    });
  });

  it("plain JSON reads as JSON.parse reads it", () => {
    const doc = { mcpServers: { x: { command: "uvx", args: ["a", "b"], env: { K: "v" } } }, list: [1, true, null, "s"] };
    assert.deepEqual(JSON.parse(JSON.stringify(parseJson5(JSON.stringify(doc, null, 2)))), doc);
  });

  const bad: [string, RegExp][] = [
    ["{ a: 1 ", /expected "," or "}" at line 1/],
    ['{ "a" 1 }', /expected ":"/],
    ["{ a: 'x }", /unterminated string/],
    ["/* never closed", /unterminated \/\* comment/],
    ["{} x", /unexpected text after the value/],
    ["{ a: undefined }", /unexpected word "undefined"/],
    ["", /unexpected end of input/],
    ["[".repeat(300), /nested too deeply/],
  ];
  for (const [text, re] of bad) {
    it(`rejects ${JSON.stringify(text.slice(0, 20))}`, () => {
      assert.throws(() => parseJson5(text), (err: unknown) => err instanceof ConfigSyntaxError && re.test(err.message));
    });
  }
});

describe("serversInConfig", () => {
  it("reads OpenClaw, mcpServers, VS Code and Claude Code per-project shapes; skips remote and broken entries", () => {
    const doc = {
      mcp: { servers: { oc: { command: "uv", args: ["run", "x"], workingDirectory: "/w" }, remote: { url: "https://x" } } },
      mcpServers: { cd: { command: "npx", args: ["-y", "p", 3], env: { A: "1", N: 2, O: {} } }, off: { command: "x", disabled: true } },
      servers: { vs: { type: "stdio", command: "node", args: ["s.js"] }, http: { type: "http", url: "u" }, nocmd: { args: [] } },
      projects: { "/p": { mcpServers: { pp: { command: "mcp-pp" } } } },
    };
    const r = serversInConfig(doc, "/cfg.json");
    assert.deepEqual(
      r.entries.map((e) => [e.name, e.shape, e.command, e.args, e.env, e.cwd]),
      [
        ["oc", "mcp.servers", "uv", ["run", "x"], {}, "/w"],
        ["cd", "mcpServers", "npx", ["-y", "p", "3"], { A: "1", N: "2" }, null],
        ["vs", "servers", "node", ["s.js"], {}, null],
        ["pp", "projects.*.mcpServers", "mcp-pp", [], {}, null],
      ],
    );
    assert.deepEqual(r.skipped.map((s) => s.name).sort(), ["http", "nocmd", "off", "remote"]);
    assert.ok(r.entries.every((e) => e.source === "/cfg.json"));
  });

  it("a document that is not an object defines nothing; a syntax error throws", () => {
    assert.deepEqual(parseConfigText("[1,2]", "/x").entries, []);
    assert.throws(() => parseConfigText("{", "/x"), ConfigSyntaxError);
  });
});

describe("OpenClaw discovery", () => {
  const home = "/home/pi";
  const table: [Record<string, string> | null, string | null, string | null, { path: string; how: string } | null][] = [
    [{ OPENCLAW_CONFIG_PATH: "/etc/oc.json", OPENCLAW_STATE_DIR: "/s" }, home, "/", { path: "/etc/oc.json", how: "OPENCLAW_CONFIG_PATH" }],
    [{ OPENCLAW_CONFIG_PATH: "~/oc.json" }, home, "/", { path: "/home/pi/oc.json", how: "OPENCLAW_CONFIG_PATH" }],
    [{ OPENCLAW_CONFIG_PATH: "conf/oc.json" }, home, "/srv/gw", { path: "/srv/gw/conf/oc.json", how: "OPENCLAW_CONFIG_PATH" }],
    [{ OPENCLAW_STATE_DIR: "/var/lib/openclaw/" }, home, "/", { path: "/var/lib/openclaw/openclaw.json", how: "OPENCLAW_STATE_DIR" }],
    [{}, home, "/", { path: "/home/pi/.openclaw/openclaw.json", how: "home" }],
    [null, null, "/", null],
    [{ OPENCLAW_CONFIG_PATH: "~/x" }, null, "/", null],
  ];
  for (const [env, h, cwd, want] of table) {
    it(`${JSON.stringify(env)} home=${h}`, () => assert.deepEqual(openclawConfigPath(env ? new Map(Object.entries(env)) : null, h, cwd), want));
  }
  it("finds a user's home by uid in /etc/passwd", () => {
    const passwd = "root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\nbad line\n";
    assert.equal(parsePasswdHome(passwd, 1000), "/home/pi");
    assert.equal(parsePasswdHome(passwd, 0), "/root");
    assert.equal(parsePasswdHome(passwd, 1001), null);
  });
});

describe("matching instances to config entries", () => {
  const npxEntry = { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem@latest", "/tmp"] };
  const table: [string, string[], { command: string; args: string[] }, boolean][] = [
    ["npm exec root", ["npm", "exec", "--yes", "@modelcontextprotocol/server-filesystem", "/tmp"], npxEntry, true],
    ["npm 11 one-word title", ["npm exec @modelcontextprotocol/server-filesystem /tmp", "", ""], npxEntry, true],
    ["node leaf in the _npx cache (bin name)", ["node", "/r/.npm/_npx/ab/node_modules/.bin/mcp-server-filesystem", "/tmp"], npxEntry, true],
    ["other argument", ["node", "/r/.npm/_npx/ab/node_modules/.bin/mcp-server-filesystem", "/home"], npxEntry, false],
    ["uv tool uvx root", ["uv", "tool", "uvx", "mcp-server-fetch"], { command: "uvx", args: ["mcp-server-fetch"] }, true],
    ["python leaf of uvx", ["/c/uv/archive-v0/x/bin/python", "/c/uv/archive-v0/x/bin/mcp-server-fetch"], { command: "uvx", args: ["mcp-server-fetch"] }, true],
    ["python -m module with underscores", ["python3", "-m", "mcp_server_fetch"], { command: "uvx", args: ["mcp-server-fetch"] }, true],
    ["PATH-resolved command", ["/usr/local/bin/mcp-remote-proxy", "--port", "1"], { command: "mcp-remote-proxy", args: ["--port", "1"] }, true],
    ["bash collapsed sh -c", ["node", "/srv/s.js"], { command: "sh", args: ["-c", "exec node /srv/s.js"] }, true],
    ["dash kept sh -c", ["/bin/sh", "-c", "exec node /srv/s.js"], { command: "sh", args: ["-c", "exec node /srv/s.js"] }, true],
    ["VS Code variable", ["node", "/w/s.js", "/w"], { command: "node", args: ["/w/s.js", "${workspaceFolder}"] }, true],
    ["unrelated short name", ["node", "/srv/x.js"], { command: "x", args: [] }, false],
  ];
  for (const [what, argv, entry, want] of table) it(what, () => assert.equal(argvRunsEntry(argv, entry), want));

  it("namesRelated: equal, or a prefix before a dash; short names never", () => {
    assert.ok(namesRelated("@modelcontextprotocol/server-filesystem", "mcp-server-filesystem"));
    assert.ok(namesRelated("mcp-server-fetch", "mcp-server-fetch"));
    assert.ok(!namesRelated("fetch2", "mcp-server-fetch"));
    assert.ok(!namesRelated("git", "mcp-git"));
  });

  it("tells entries apart by env and cwd; an env that contradicts all is no match; indistinguishable ones are twins", () => {
    const base = { command: "npx", args: ["-y", "@acme/mcp-weather"], source: "/c", shape: "mcpServers" as const };
    const entries = [
      { ...base, name: "home", env: { API_KEY: "one" }, cwd: null },
      { ...base, name: "work", env: { API_KEY: "two" }, cwd: null },
    ];
    const proc = (env: Record<string, string> | null) => [{ argv: ["npx", "-y", "@acme/mcp-weather"], cwd: "/", environ: env ? new Map(Object.entries(env)) : null }];
    assert.equal(matchEntry(proc({ API_KEY: "two" }), entries)?.entry.name, "work");
    assert.equal(matchEntry(proc({ API_KEY: "three" }), entries), null);
    assert.deepEqual(matchEntry(proc(null), entries), { entry: entries[0], twins: 2, bound: [] });
    const cwdEntries = [{ ...base, name: "a", env: {}, cwd: "/a" }, { ...base, name: "b", env: {}, cwd: "/b/" }];
    assert.equal(matchEntry([{ argv: ["npx", "-y", "@acme/mcp-weather"], cwd: "/b" }], cwdEntries)?.entry.name, "b");
  });

  it("remembers what VS Code variables stood for: two workspaces are two types", () => {
    const entry = { name: "fs", command: "node", args: ["/s.js", "${workspaceFolder}"], env: {}, cwd: null, source: "/c", shape: "servers" as const };
    assert.deepEqual(matchEntry([{ argv: ["node", "/s.js", "/w1"], cwd: "/" }], [entry])?.bound, ["/w1"]);
    assert.deepEqual(matchEntry([{ argv: ["node", "/s.js", "/w2"], cwd: "/" }], [entry])?.bound, ["/w2"]);
  });
});
