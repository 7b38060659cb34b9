// Fake MCP stdio server (node): records signals, writes a ready file, answers JSON-RPC ping lines on stdin.
// Usage: mcp-server.js --server NAME [--ignore-term] [extra args...]; env MCP_REAPER_WORLD_DIR, MCP_REAPER_SESSION.
import { appendFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ENV, isServerType, readyFileName, type ReadyRecord } from "./protocol.js";

const args = process.argv.slice(2);
const serverAt = args.indexOf("--server");
const name = serverAt >= 0 ? args[serverAt + 1] : undefined;
const ignoreTerm = args.includes("--ignore-term");
const dir = process.env[ENV.dir];
const session = Number(process.env[ENV.session]);

if (!isServerType(name) || !dir || !Number.isInteger(session)) {
  process.stderr.write(`mcp-server: need --server <type>, ${ENV.dir} and ${ENV.session}\n`);
  process.exit(2);
}

// Record before acting, so a test can tell "got TERM and ignored it" from "never got TERM".
function record(signal: NodeJS.Signals): void {
  appendFileSync(join(dir!, "signals", `${process.pid}.log`), `${signal}\n`);
}
process.on("SIGTERM", () => {
  record("SIGTERM");
  if (!ignoreTerm) process.exit(143);
});
for (const signal of ["SIGINT", "SIGHUP"] as const) {
  process.on(signal, () => {
    record(signal);
    process.exit(128 + (signal === "SIGINT" ? 2 : 1));
  });
}

// Handlers first, ready file second: once the file exists, a signal is always recorded.
const ready: ReadyRecord = { session, type: name, pid: process.pid, ppid: process.ppid };
const readyPath = join(dir, "ready", readyFileName(session, name));
writeFileSync(`${readyPath}.tmp`, JSON.stringify(ready));
renameSync(`${readyPath}.tmp`, readyPath); // atomic: a reader never sees half a file

let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  pending += chunk;
  for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    answer(line);
  }
});
process.stdin.on("end", () => {
  // Like a real stdio server: the client closed the pipe, so we are done. A TERM-ignoring server
  // plays a stuck one instead and stays (the interval below keeps the loop alive).
  if (!ignoreTerm) process.exit(0);
  setInterval(() => undefined, 1 << 30);
});
process.stdout.on("error", () => process.exit(0)); // EPIPE: the gateway is gone

function answer(line: string): void {
  let id: unknown = null;
  try {
    id = (JSON.parse(line) as { id?: unknown }).id ?? null;
  } catch {
    return; // not JSON-RPC: a real server would log it; we only serve the world's pings
  }
  process.stdout.write(`${JSON.stringify({ jsonrpc: "2.0", id, result: { server: name, pid: process.pid } })}\n`);
}
