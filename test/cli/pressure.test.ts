// CLI table for the pressure options against the built bin: bad values and a trigger without --schedule
// (exit 2, one line), the environment and options file for a one-shot run (left unused), --help, and
// `systemd print` putting them on the supervisor's ExecStart= line only.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));

let dir: string;
let sleeper: ChildProcess;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "reaper-cli-pressure-"));
  sleeper = spawn("sleep", ["300"], { stdio: "ignore" });
});
after(() => {
  sleeper.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 20_000, env: { PATH: process.env.PATH, HOME: process.env.HOME, MCP_REAPER_LOCK_DIR: join(dir, "locks"), ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("pressure options", () => {
  const table: [string[], RegExp][] = [
    [["--memory-low", "300"], /--memory-low must be a size such as 300M or 1G, or a percentage of MemTotal such as 10%, got "300"/],
    [["--memory-low", "100%"], /a percentage of MemTotal must be above 0 and below 100/],
    [["--memory-psi", "0"], /--memory-psi must be a percentage above 0 and at most 100/],
    [["--tasks-low", "0"], /--tasks-low must be a whole number >= 1/],
    [["--pressure-every", "10ms"], /--pressure-every must be at least 100ms/],
    [["--memory-low", "300M"], /--memory-low works in the supervisor, between scheduled passes: add --schedule/],
    [["--tasks-low", "20"], /--tasks-low works in the supervisor/],
  ];
  for (const [args, pattern] of table) {
    it(`${args.join(" ")}: exit 2, one line`, () => {
      const r = run(["--gateway-pid", String(sleeper.pid), "-n", ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^mcp-reaper: /);
      assert.match(r.stderr, pattern);
    });
  }

  it("from the environment or an options file a one-shot run leaves them unused; a bad value there is still an error", () => {
    const file = join(dir, "options");
    writeFileSync(file, "MCP_REAPER_MEMORY_LOW=300M\nMCP_REAPER_TASKS_LOW=20\n");
    const viaFile = run(["--gateway-pid", String(sleeper.pid), "-n", "--options-file", file]);
    assert.equal(viaFile.code, 0, viaFile.stderr);
    const viaEnv = run(["--gateway-pid", String(sleeper.pid), "-n"], { MCP_REAPER_MEMORY_PSI: "20" });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const bad = run(["--gateway-pid", String(sleeper.pid), "-n"], { MCP_REAPER_MEMORY_LOW: "lots" });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^mcp-reaper: option '--memory-low <size\|percent>' value 'lots' from env 'MCP_REAPER_MEMORY_LOW' is invalid\. --memory-low must be a size/);
  });

  it("--help lists them with their variables", () => {
    const r = run(["--help"]);
    for (const v of ["--memory-low", "MCP_REAPER_MEMORY_LOW", "--tasks-low", "MCP_REAPER_TASKS_LOW", "--memory-psi", "MCP_REAPER_MEMORY_PSI", "--pressure-every", "MCP_REAPER_PRESSURE_EVERY"]) assert.ok(r.stdout.includes(v), v);
  });

  it("systemd print: on the supervisor's ExecStart= only, as typed", () => {
    const r = run(["systemd", "print", "--gateway-name", "gw", "--memory-low", "10%", "--keep", "2", "--tasks-low", "50", "--pressure-every", "1s"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("ExecStart="));
    assert.equal(lines.length, 2);
    const [oneshot, supervisor] = lines as [string, string];
    assert.doesNotMatch(oneshot, /--memory-low|--tasks-low|--pressure-every/);
    assert.match(oneshot, /--gateway-name gw --keep 2$/);
    assert.match(supervisor, /--schedule "\* \* \* \* \*" --options-file %E\/mcp-reaper\/options --memory-low "10%%" --tasks-low 50 --pressure-every 1s --gateway-name gw --keep 2$/);
  });
});
