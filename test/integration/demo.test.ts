// Integration: the README's first command. `mcp-reaper demo` reaps its own leaky gateway, and leaves
// nothing behind, whether it finishes or is interrupted.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { listPids, readEnviron } from "../../src/proc/read.js";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));

/** Live processes whose world marker says the demo process `demoPid` started them. */
function demoProcesses(demoPid: number): number[] {
  return listPids("/proc").filter((pid) => readEnviron("/proc", pid)?.get("MCP_REAPER_WORLD")?.startsWith(`${demoPid}-`));
}

/** Runs the demo; calls onOutput with everything printed so far, so a test can act mid-run. */
function runDemo(args: string[], onOutput?: (text: string, pid: number) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "demo", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      onOutput?.(stdout, child.pid as number);
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid as number });
    });
  });
}

describe("mcp-reaper demo", () => {
  it("shows the dry run, reaps, shows the result and cleans up", async () => {
    const r = await runDemo(["--sessions", "3"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /9 instances of 3 types: 3 kept, 6 would be reaped\n[\d.]+ MB reclaimable \(private\), [\d.]+ MB RSS\ndry run: no process was signalled/);
    assert.match(r.stdout, /9 instances of 3 types: 3 kept, 6 reaped \(4 terminated, 2 killed\)\n[\d.]+ MB freed \(private\), [\d.]+ MB RSS; host MemAvailable [-+][\d.]+ [KMG]?B over the pass \(the host's change, not only ours\)/);
    assert.match(r.stdout, /Memory: [\d.]+ MB freed \(private: Private_Clean \+ Private_Dirty of smaps_rollup\); the same processes' RSS sums to [\d.]+ MB/);
    assert.match(r.stdout, /The newest session's servers still answer on stdio: yes/);
    assert.doesNotMatch(r.stdout, /\x1b\[/, "no colour when stdout is not a terminal");
    assert.deepEqual(demoProcesses(r.pid), []);
  });

  it("cleans up when interrupted with SIGINT", async () => {
    let sent = false;
    const r = await runDemo(["--sessions", "2"], (text, pid) => {
      if (!sent && /Gateway pid \d+/.test(text)) {
        sent = true;
        process.kill(pid, "SIGINT");
      }
    });
    assert.ok(sent, "the demo got as far as starting its gateway");
    assert.equal(r.code, 130, `${r.signal} ${r.stderr}`);
    assert.deepEqual(demoProcesses(r.pid), []);
  });
});
