#!/usr/bin/env node
// Entry point: a tiny shim over the bundled CLI (dist/src/cli.bundle.js, built by `npm run build` / `npm ci`).
import { main } from "../dist/src/cli.bundle.js";

// A reader that goes away (`mcp-reaper ... | head`, on stdout or stderr) is not an error worth a stack
// trace or an exit code. Writes after that are dropped, and the run still finishes (a demo still
// cleans up its processes).
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (err.code !== "EPIPE") throw err;
  });
}
process.exitCode = await main(process.argv);
