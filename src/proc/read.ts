// Thin reads of /proc files under a configurable root; the parsing lives in parse.ts.
import { closeSync, constants, openSync, readSync, readdirSync, readlinkSync } from "node:fs";
import { ProcParseError, parseAuxvPageSize, parseCmdline, parseEnviron, parseIo, parseStat, parseStatus, type IoCounters, type Stat, type Status } from "./parse.js";

/**
 * One buffer reused by every read. A long-running loop that allocates a fresh buffer per file grew
 * 56 -> 111 MB RSS over 300 s on this kind of host (garbage the heap keeps); reading into one
 * buffer stayed at 49-58 MB. Reads are synchronous, so nothing else can touch it mid-read.
 */
let scratch = Buffer.allocUnsafe(16 * 1024);
const MAX_PROC_FILE_BYTES = 64 * 1024 * 1024;

/** Errors that mean "this process (or its file) is not there for us": it exited, or belongs to someone else. */
const GONE = new Set(["ENOENT", "ESRCH"]);
const DENIED = new Set(["EACCES", "EPERM"]);

export function errorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * Reads a whole file into the scratch buffer; returns a view valid until the next read. Null when gone
 * or denied. `shortReadIsEnd`: a read that comes back short is the end, and the second read(2) that
 * would return 0 is skipped: a third of the syscalls of a scan. True of stat, status and children (the
 * kernel renders each whole on the first read) and of cmdline (the kernel fills the buffer from the
 * argument area until it is full or the area ends; it stops short only when the process's memory
 * cannot be read, and a second read fails the same way). On a fake --proc-root of regular files a
 * read is short only at end of file. environ and io are read to the end.
 */
export function readBytes(path: string, shortReadIsEnd = false): Uint8Array | null {
  let fd: number;
  try {
    // Non-blocking: under a --proc-root that is not procfs, a FIFO must not hang the open.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = errorCode(err);
    if (code !== undefined && (GONE.has(code) || DENIED.has(code))) return null;
    throw err;
  }
  try {
    let length = 0;
    for (;;) {
      if (length === scratch.length) {
        // No /proc file we read comes near this (cmdline and environ are bounded by ARG_MAX); a larger
        // one is not a proc file (a recorded tree pointing at /dev/zero).
        if (length >= MAX_PROC_FILE_BYTES) throw new Error(`${path}: larger than ${MAX_PROC_FILE_BYTES} bytes: not a /proc file`);
        const bigger = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(bigger, 0, 0, length);
        scratch = bigger;
      }
      let n: number;
      try {
        n = readSync(fd, scratch, length, scratch.length - length, null);
      } catch (err) {
        // ESRCH: the process exited between open and read. EACCES: environ of another user.
        const code = errorCode(err);
        if (code !== undefined && (GONE.has(code) || DENIED.has(code))) return null;
        throw err;
      }
      if (n === 0) break;
      length += n;
      if (shortReadIsEnd && length < scratch.length) break;
    }
    return scratch.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

export function readText(path: string, shortReadIsEnd = false): string | null {
  const bytes = readBytes(path, shortReadIsEnd);
  return bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/** An empty file (a process caught mid-exit) reads as gone; a ProcParseError goes to the caller. */
function parsed<T>(text: string | null, parse: (t: string) => T): T | null {
  if (text === null || text === "") return null;
  return parse(text);
}

export function readStat(procRoot: string, pid: number): Stat | null {
  return parsed(readText(`${procRoot}/${pid}/stat`, true), parseStat);
}

/**
 * readStat for callers that only ask "is it there, and what is it": a malformed stat (a process caught
 * mid-exit, a broken recorded tree) reads as not there, and is passed to onBad for those who report it.
 */
export function readStatOrNull(procRoot: string, pid: number, onBad?: (pid: number, why: string) => void): Stat | null {
  try {
    return readStat(procRoot, pid);
  } catch (err) {
    if (!(err instanceof ProcParseError)) throw err;
    onBad?.(pid, err.message);
    return null;
  }
}

export function readStatus(procRoot: string, pid: number): Status | null {
  return parsed(readText(`${procRoot}/${pid}/status`, true), parseStatus);
}

export function readCmdline(procRoot: string, pid: number): string[] | null {
  const bytes = readBytes(`${procRoot}/${pid}/cmdline`, true);
  return bytes === null ? null : parseCmdline(bytes);
}

export function readIo(procRoot: string, pid: number): IoCounters | null {
  return parsed(readText(`${procRoot}/${pid}/io`), parseIo);
}

export function readEnviron(procRoot: string, pid: number): Map<string, string> | null {
  const bytes = readBytes(`${procRoot}/${pid}/environ`);
  return bytes === null ? null : parseEnviron(bytes);
}

/**
 * Children of `pid` from /proc/PID/task/TID/children, over every thread: a child belongs to the thread
 * that forked it, and Node forks from worker threads too. Returns null when this kernel does not
 * provide the files (CONFIG_PROC_CHILDREN off, as on some VM kernels).
 */
export function readChildren(procRoot: string, pid: number, threads: number): number[] | null {
  // One thread: the main thread (tid = pid) is the only task, and its file holds every child.
  const only = threads === 1 ? readText(`${procRoot}/${pid}/task/${pid}/children`, true) : null;
  if (only !== null) return parseChildren(only, []);
  const tids = listDir(`${procRoot}/${pid}/task`);
  if (tids === null) return [];
  const found: number[] = [];
  let anyFile = false;
  for (const tid of tids) {
    const text = readText(`${procRoot}/${pid}/task/${tid}/children`, true);
    if (text === null) continue;
    anyFile = true;
    parseChildren(text, found);
  }
  return anyFile || tids.length === 0 ? found : null;
}

/** "123 456 " -> [123, 456], appended to `into`. */
function parseChildren(text: string, into: number[]): number[] {
  for (const word of text.split(" ")) if (word !== "" && word !== "\n") into.push(Number(word));
  return into;
}

let pageBytes: number | null = null;

/**
 * This machine's page size, for stat's rss (in pages): AT_PAGESZ from /proc/self/auxv, read once. Node
 * has no sysconf(_SC_PAGESIZE); 4 KiB on x86, 4 or 16 KiB on arm64 (a Raspberry Pi 5 kernel uses 16).
 * Falls back to 4096 when auxv is unreadable. Always the real /proc: a fake tree has no auxv of ours.
 */
export function pageSize(): number {
  if (pageBytes !== null) return pageBytes;
  const bytes = readBytes("/proc/self/auxv");
  const wordBytes = ["arm", "ia32", "mips", "mipsel", "ppc", "s390"].includes(process.arch) ? 4 : 8;
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  pageBytes = (bytes && parseAuxvPageSize(bytes, wordBytes, littleEndian)) ?? 4096;
  return pageBytes;
}

/** readLinkOr's answers when there is no link text: the process or fd is gone, or it may not be read. */
export const LINK_GONE: unique symbol = Symbol("gone");
export const LINK_DENIED: unique symbol = Symbol("denied");

/**
 * A /proc link's text, or why there is none: LINK_GONE (the process exited, or that fd was closed) or
 * LINK_DENIED (ptrace rules: another user's process without CAP_SYS_PTRACE, as root in a container
 * that drops it, or a pid 1 that belongs to a parent namespace). The two must not be confused: an fd
 * that may not be read can still hold the other end of a pipe.
 */
export function readLinkOr(path: string): string | typeof LINK_GONE | typeof LINK_DENIED {
  try {
    return readlinkSync(path);
  } catch (err) {
    const code = errorCode(err);
    if (code !== undefined && GONE.has(code)) return LINK_GONE;
    if (code !== undefined && DENIED.has(code)) return LINK_DENIED;
    throw err;
  }
}

/** The target of a /proc symlink (cwd, exe, ns/pid), or null when it is gone or may not be read (for callers to whom both mean "unknown"). */
export function readLink(path: string): string | null {
  const target = readLinkOr(path);
  return typeof target === "string" ? target : null;
}

/** Names in a /proc directory, or null when the directory is gone or not readable. */
export function listDir(path: string): string[] | null {
  try {
    return readdirSync(path);
  } catch (err) {
    const code = errorCode(err);
    if (code !== undefined && (GONE.has(code) || DENIED.has(code) || code === "ENOTDIR")) return null;
    throw err;
  }
}

/** Every numeric entry of the proc root: the pids of the host (or of the fake tree in a test). */
export function listPids(procRoot: string): number[] {
  const names = listDir(procRoot) ?? [];
  const pids: number[] = [];
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57 && /^\d+$/.test(name)) pids.push(Number(name));
  }
  return pids;
}
