// The built CLI where another user can run it: tests that run it as uid 65534 use a copy in a 0755 temp
// dir, since the checkout may sit where that user cannot reach (a clone under a 0700 directory, as
// root's clones under /root do: `Cannot find module '.../bin/mcp-reaper.js'`).
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Why a user who is neither owner nor in the group cannot run `path` (a directory on the way lacks o+x,
 * the file lacks o+r or o+x), or null when it can. uid 65534 owns nothing here and is in no group of ours.
 */
export function unreachableByOthers(path: string): string | null {
  const real = realpathSync(path);
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return `${dir} is not searchable by other users (mode ${(statSync(dir).mode & 0o7777).toString(8)})`;
    if (dirname(dir) === dir) break;
  }
  const mode = statSync(real).mode;
  return (mode & 0o005) === 0o005 ? null : `${real} is not readable and executable by other users (mode ${(mode & 0o7777).toString(8)})`;
}

/** Directories 0755, files 0644, or 0755 where the owner may execute: whatever umask the clone was made with. */
function openUp(path: string): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    chmodSync(path, 0o755);
    for (const name of readdirSync(path)) openUp(join(path, name));
  } else {
    chmodSync(path, st.mode & 0o100 ? 0o755 : 0o644);
  }
}

export interface OtherUserCopy {
  /** bin/mcp-reaper.js of the copy. */
  bin: string;
  /** The copy's root (a cwd the other user may enter). */
  root: string;
  remove(): void;
}

/**
 * Copies what the built CLI needs at run time (package.json, bin/, dist/src/ and the dependencies
 * package-lock.json does not mark dev) into a fresh 0755 temp dir. Returns a reason to skip instead when
 * other users cannot run the node that runs the tests.
 */
export function copyForOtherUsers(): OtherUserCopy | { skip: string } {
  const node = unreachableByOthers(process.execPath);
  if (node !== null) return { skip: `other users cannot run this node: ${node}` };
  const root = mkdtempSync(join(tmpdir(), "mcp-reaper-copy-"));
  const remove = (): void => rmSync(root, { recursive: true, force: true });
  try {
    for (const part of ["package.json", "bin", join("dist", "src")]) cpSync(join(REPO, part), join(root, part), { recursive: true });
    const lock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path.startsWith("node_modules/") && entry.dev !== true) cpSync(join(REPO, path), join(root, path), { recursive: true });
    }
    openUp(root);
    const copy = unreachableByOthers(join(root, "bin", "mcp-reaper.js"));
    if (copy !== null) {
      remove();
      return { skip: `other users cannot reach a copy in the temp dir: ${copy}` };
    }
  } catch (err) {
    remove();
    throw err;
  }
  return { bin: join(root, "bin", "mcp-reaper.js"), root, remove };
}
