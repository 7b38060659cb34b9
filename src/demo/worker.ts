// Decoy child of the fake gateway: a long-running non-MCP worker the reaper must never touch.
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ENV } from "./protocol.js";

const dir = process.env[ENV.dir];
if (dir) {
  const path = join(dir, "ready", "decoy.json");
  writeFileSync(`${path}.tmp`, JSON.stringify({ pid: process.pid, ppid: process.ppid }));
  renameSync(`${path}.tmp`, path);
}
// stdin is ignored; the interval alone keeps it alive until something kills it.
setInterval(() => undefined, 1 << 30);
