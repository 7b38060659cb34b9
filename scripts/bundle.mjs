// Build step after tsc: bundles the CLI and commander into one ESM file, dist/src/cli.bundle.js, which
// bin/mcp-reaper.js loads. Node 20 resolves, reads and links every ES module on its own: unbundled a
// dry run cost 1.6x `node -e 0`, bundled ~1.5x (npm run bench); minifying whitespace and syntax (281 ->
// 178 KB) took another ~6 ms off the import (median of 25: 92 -> 86 ms, `node -e 0` 68 ms). The demo,
// chalk and cron-parser stay outside: they are loaded only when a run needs them.
import { build } from "esbuild";

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/src/cli.bundle.js",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // Relative to dist/src/, where dist/src/demo/run.js is tsc's output.
  external: ["chalk", "cron-parser", "./demo/run.js"],
  // commander is CommonJS and require()s node builtins; an ES module has no require of its own.
  banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  // Whitespace and syntax only: identifiers keep their names, so class names in errors stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
});
