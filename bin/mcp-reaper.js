#!/usr/bin/env node
// Entry point: a tiny shim over the bundled CLI (dist/src/cli.bundle.cjs, built by `npm run build` /
// `npm ci`). CommonJS (bin/package.json says so), like the bundle: Node 20 then never starts its ES
// module loader for a one-shot run (see scripts/bundle.mjs for what each choice saved).
// Output goes straight to fds 1 and 2 (src/report/out.ts): a reader that goes away (`| head`) is no
// error, and process.stdout is never built.
"use strict";
const { main } = require("../dist/src/cli.bundle.cjs");

main(process.argv).then((code) => {
  process.exitCode = code;
});
