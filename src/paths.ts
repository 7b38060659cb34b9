// Where this installation lives. The CLI may run from dist/src/*.js or from the esbuild bundle
// (dist/src/cli.bundle.cjs), so paths are found by walking up to our package.json, not by a fixed ../../..
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | null = null;

/** The package's root directory (holds package.json and bin/). */
export function packageRoot(): string {
  if (root !== null) return root;
  let dir = dirname(realpathSync(fileURLToPath(import.meta.url)));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "mcp-reaper") return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find mcp-reaper's package.json above the running script");
    dir = up;
  }
}

/** Absolute path of bin/mcp-reaper.js: what a systemd unit's ExecStart runs. */
export function binPath(): string {
  return join(packageRoot(), "bin", "mcp-reaper.js");
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}
