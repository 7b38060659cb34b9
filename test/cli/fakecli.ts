// Runs the built CLI on a fake /proc (a recorded gateway): a dry run by nature, with a clean environment.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { makeFakeProc, type FakeProc } from "../unit/fakeproc.js";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));

export function runOnFakeProc(procs: FakeProc[], uptimeSeconds: number, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const fake = makeFakeProc(procs, { childrenFiles: true, uptimeSeconds });
  try {
    const r = spawnSync(process.execPath, [BIN, "--proc-root", fake.root, ...args], {
      encoding: "utf8",
      timeout: 20_000,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    fake.cleanup();
  }
}
