// Unit: the pure parsers behind the orphan search (fd links, fd modes, ss -xa, cgroups) and the cgroup rule.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isDedicatedServiceCgroup } from "../../src/decide/orphans.js";
import { containerImageOf } from "../../src/decide/signature.js";
import { parseCgroup, parseFdinfoMode, parseFdTarget, parseSsUnix } from "../../src/proc/links.js";

describe("orphan-search parsers", () => {
  it("parseFdTarget", () => {
    assert.deepEqual(parseFdTarget("pipe:[123]"), { kind: "pipe", inode: 123 });
    assert.deepEqual(parseFdTarget("socket:[456]"), { kind: "socket", inode: 456 });
    assert.deepEqual(parseFdTarget("/dev/null"), { kind: "other", inode: null });
    assert.deepEqual(parseFdTarget("anon_inode:[eventfd]"), { kind: "other", inode: null });
  });

  it("parseFdinfoMode reads the access mode from octal flags", () => {
    assert.equal(parseFdinfoMode("pos:\t0\nflags:\t0100000\nmnt_id:\t15\n"), "r");
    assert.equal(parseFdinfoMode("pos:\t0\nflags:\t02000001\n"), "w");
    assert.equal(parseFdinfoMode("flags:\t02\n"), "rw");
    assert.equal(parseFdinfoMode("pos:\t0\n"), null);
  });

  it("parseSsUnix keeps local -> peer inodes, skips headers and addresses with spaces", () => {
    const text = [
      "Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process",
      "u_str ESTAB  0      0                  * 558             * 559            ",
      "u_str ESTAB  0      0      /run/systemd/journal/stdout 16160            * 16159",
      "u_str ESTAB  0      0                  * 700             * 0",
      "u_str ESTAB  0      0      /tmp/a b 123 900            * 901",
      "u_dgr UNCONN 0      0      /run/systemd/notify 12              * 0",
      "tcp   ESTAB  0      0      1.2.3.4:5 1.2.3.4:6",
    ].join("\n");
    assert.deepEqual([...parseSsUnix(text)], [[558, 559], [16160, 16159], [700, 0], [12, 0]]);
  });

  it("parseCgroup prefers the unified path, and name=systemd on hybrid hosts where 0:: is /", () => {
    assert.equal(parseCgroup("0::/system.slice/openclaw.service\n"), "/system.slice/openclaw.service");
    assert.equal(parseCgroup("9:name=systemd:/user.slice/x.service\n4:memory:/m\n0::/\n"), "/user.slice/x.service");
    assert.equal(parseCgroup("9:name=systemd:/\n0::/\n"), "/");
    assert.equal(parseCgroup("4:memory:/m\n"), null);
  });

  it("a dedicated service cgroup is a *.service unit, never the root, a scope, a session or the user manager", () => {
    const table: [string | null, boolean][] = [
      ["/system.slice/openclaw-gateway.service", true],
      ["/user.slice/user-1000.slice/user@1000.service/app.slice/openclaw-gateway.service", true],
      ["/", false],
      [null, false],
      ["/user.slice/user-1000.slice/session-3.scope", false],
      ["/user.slice/user-1000.slice/user@1000.service", false],
      ["/user.slice/user-1000.slice/user@1000.service/init.scope", false],
      ["/docker/0123abcd", false],
    ];
    for (const [path, want] of table) assert.equal(isDedicatedServiceCgroup(path), want, String(path));
  });

  it("containerImageOf finds the image after docker/podman run options", () => {
    assert.equal(containerImageOf(["docker", "run", "-i", "--rm", "mcp/fetch"]), "mcp/fetch");
    assert.equal(containerImageOf(["/usr/bin/docker", "run", "-i", "--rm", "-e", "TOKEN", "-v", "/a:/b", "ghcr.io/github/github-mcp-server", "stdio"]), "ghcr.io/github/github-mcp-server");
    assert.equal(containerImageOf(["podman", "container", "run", "--env=A=1", "--name", "x", "img:1"]), "img:1");
    assert.equal(containerImageOf(["docker", "ps"]), null);
    assert.equal(containerImageOf(["node", "run", "x"]), null);
  });
});
