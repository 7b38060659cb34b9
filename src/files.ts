// Bounded reads of the small files we are pointed at (host configs, options file, pidfiles, state and
// metrics files). Some of these paths come from other processes (OPENCLAW_CONFIG_PATH in the gateway's
// environment): a FIFO, a device or a huge file must not hang or exhaust a reaper that runs unattended.
import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readSync } from "node:fs";
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
 * Reads a regular file of at most maxBytes as UTF-8. Opened non-blocking, so a FIFO cannot hang the
 * open; anything but a regular file, or a file over the limit, throws NotASmallFileError. I/O errors
 * (ENOENT, EACCES, ...) are thrown as fs throws them. With noFollow (default false) a symlink at the
 * path itself is not followed: the open fails with ELOOP.
 */
export function readSmallFile(path: string, maxBytes = MAX_SMALL_FILE_BYTES, o: { noFollow?: boolean } = {}): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (o.noFollow === true ? constants.O_NOFOLLOW : 0));
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotASmallFileError("not a regular file", path);
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
