// Build step after tsc: bundles the CLI and commander into one CommonJS file, dist/src/cli.bundle.cjs,
// which bin/mcp-reaper.js (CommonJS too) loads. Start-up is most of a one-shot run, so each of these was
// measured against `node -e 0` (median of 25 interleaved runs, `--dry-run --json` on a 29-process tree):
// - Node 20 resolves, reads and links every ES module on its own: unbundled a run cost 1.6x `node -e 0`,
//   as one ES module bundle ~1.5x; minifying whitespace and syntax (281 -> 178 KB) took ~6 ms off.
// - CommonJS instead of an ES module bundle: Node 20's ES module loader is not started at all, -6 ms.
// - commander requires child_process at load time (for executable subcommands, which we have none of);
//   here it gets a stand-in that loads child_process on first use, -3 ms.
// The demo, chalk and cron-parser stay outside, loaded only when a run needs them (import() is kept).
import { build } from "esbuild";

/** commander's `require("node:child_process")` becomes a proxy that requires it on first property use. */
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: "child_process", namespace: "lazy-builtin" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, () => ({
      contents: 'let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require("node:child_process"))[key] });',
      loader: "js",
    }));
  },
};

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/src/cli.bundle.cjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  // Relative to dist/src/, where dist/src/demo/run.js is tsc's output.
  // ws only with --release-sessions (import() is kept, like the demo's).
  external: ["chalk", "cron-parser", "ws", "./demo/run.js"],
  plugins: [lazyChildProcess],
  // paths.ts and lazy.ts find themselves by import.meta.url, which CommonJS spells with __filename.
  define: { "import.meta.url": "__bundleUrl" },
  // "use strict" first: a directive only counts before any statement, and esbuild's own comes after the banner.
  banner: { js: '"use strict";var __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  // Whitespace and syntax only: identifiers keep their names, so class names in errors stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
});
