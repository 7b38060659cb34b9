// Bounded reads of the small files we are pointed at (host configs, options file, pidfiles, state and
// metrics files). Some of these paths come from other processes (OPENCLAW_CONFIG_PATH in the gateway's
// environment): a FIFO, a device or a huge file must not hang or exhaust a reaper that runs unattended.
import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** Larger than any config, options, state or metrics file we write or read. */
export const MAX_SMALL_FILE_BYTES = 4 * 1024 * 1024;

/** A path that is not a small regular file. `code` reads like an errno in the messages that quote it. */
export class NotASmallFileError extends Error {
  override readonly name = "NotASmallFileError";
  constructor(
    readonly code: string,
    path: string,
  ) {
    super(`${path}: ${code}`);
  }
}

/**
/**
 * Reads a regular file of at most maxBytes as UTF-8. The path is stat'ed before it is opened: opening
 * a device can have side effects (a pty allocated, a watchdog armed), and the path may come from
 * another user's process. Opened non-blocking, so a FIFO swapped in cannot hang the open, and checked
 * again after opening (same device and inode). Anything but a regular file, or a file over the limit,
 * throws NotASmallFileError. I/O errors (ENOENT, EACCES, ...) are thrown as fs throws them.
 * `ownerUid`: also refuse a file not owned by this uid. `noFollow` (default false): a symlink at the
 * path itself is not followed (refused as not a regular file).
 */
export function readSmallFile(path: string, maxBytes = MAX_SMALL_FILE_BYTES, o: { ownerUid?: number; noFollow?: boolean } = {}): string {
  const before = o.noFollow === true ? lstatSync(path) : statSync(path);
  if (!before.isFile()) throw new NotASmallFileError("not a regular file", path);
  if (o.ownerUid !== undefined && before.uid !== o.ownerUid) throw new NotASmallFileError(`not owned by uid ${o.ownerUid}`, path);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (o.noFollow === true ? constants.O_NOFOLLOW : 0));
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.dev !== before.dev || st.ino !== before.ino) throw new NotASmallFileError("changed while being opened", path);
    if (st.size > maxBytes) throw new NotASmallFileError(`larger than ${maxBytes} bytes`, path);
    const buf = Buffer.allocUnsafe(Math.min(st.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      // The file grew while we read it: still bounded.
      if (length === buf.length) throw new NotASmallFileError(`larger than ${maxBytes} bytes`, path);
    }
    return buf.toString("utf8", 0, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates a directory and its missing parents one level at a time. Node 20's mkdirSync(recursive)
 * loops forever on a path under /proc (procfs answers ENOENT to every mkdir); one level at a time,
 * the first failure is thrown.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) mkdirSync(d);
}

/**
 * The first `headBytes` and last `tailBytes` of a regular file, from one open, with readSmallFile's
 * checks (stat before open, non-blocking, same inode after, owner). `whole`: the head holds the whole
 * file (then `tail` is empty). For transcripts that can be large: only their ends are read.
 */
export function readFileEnds(path: string, headBytes: number, tailBytes: number, o: { ownerUid?: number } = {}): { head: string; tail: string; size: number; whole: boolean; mtimeMs: number } {
  const before = statSync(path);
  if (!before.isFile()) throw new NotASmallFileError("not a regular file", path);
  if (o.ownerUid !== undefined && before.uid !== o.ownerUid) throw new NotASmallFileError(`not owned by uid ${o.ownerUid}`, path);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.dev !== before.dev || st.ino !== before.ino) throw new NotASmallFileError("changed while being opened", path);
    const read = (at: number, n: number): string => {
      const buf = Buffer.allocUnsafe(n);
      let length = 0;
      while (length < n) {
        const got = readSync(fd, buf, length, n - length, at + length);
        if (got === 0) break;
        length += got;
      }
      return buf.toString("utf8", 0, length);
    };
    const whole = st.size <= headBytes;
    const head = read(0, Math.min(st.size, headBytes));
    const tail = whole ? "" : read(Math.max(headBytes, st.size - tailBytes), st.size - Math.max(headBytes, st.size - tailBytes));
    return { head, tail, size: st.size, whole, mtimeMs: st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}
