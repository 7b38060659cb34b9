// One reaper per gateway PROCESS: a lock file named after the resolved gateway (pid + start ticks), in one
// fixed directory per user, holding the owner's pid and start ticks, so every way of naming a gateway meets
// the same lock and a lock left by a dead reaper (or one whose pid was reused) is recognised and taken over.
import { linkSync, lstatSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { PassConfig } from "../config.js";
import { NotASmallFileError, readSmallFile } from "../files.js";
import { errorCode, readStat, readStatOrNull } from "../proc/read.js";

/** Another live mcp-reaper holds the lock: exit code 5. */
export class LockHeldError extends Error {
  override readonly name = "LockHeldError";
}

/** The lock directory is unusable (someone else's, group/world-writable, not a directory). */
export class LockDirError extends Error {
  override readonly name = "LockDirError";
}

/** A process named the way the lock names it: a bare pid may be reused. */
export interface Holder {
  pid: number;
  startTicks: number;
}

export interface Lock {
  path: string;
  /** The stale holder this lock replaced, if any (for the log). */
  tookOverFrom: Holder | "unreadable" | null;
  /**
   * Is the lock still ours? "recreated": the file had vanished (a tmp cleaner, a manual rm) and was
   * written again; "lost": another live reaper now holds it.
   */
  check(): { state: "held" | "recreated" } | { state: "lost"; holder: Holder };
  /** Removes the file if it still names us. Idempotent. */
  release(): void;
}

/** The one rule for taking a lock: only runs that may signal (not --dry-run or --check, not a recorded tree). */
export const mayLock = (c: Pick<PassConfig, "dryRun" | "procRoot">): boolean => !c.dryRun && c.procRoot === "/proc";

/** The one override of the lock directory (tests, packaging): every reaper of a gateway must agree on it. */
export const LOCK_DIR_ENV = "MCP_REAPER_LOCK_DIR";

/** The owner uid of a real directory (not a symlink) at path; null if there is none. */
export type DirOwner = (path: string) => number | null;

const dirOwner: DirOwner = (path) => {
  try {
    const st = lstatSync(path);
    return st.isDirectory() ? st.uid : null;
  } catch {
    return null;
  }
};

/**
 * Where locks live: one directory per user chosen from the uid and the filesystem only, never from
 * variables a login shell, cron, sudo or a unit set differently (XDG_RUNTIME_DIR), so a manual run meets
 * the supervisor's lock. Root: /run/mcp-reaper (RuntimeDirectory=mcp-reaper of a system unit). Others:
 * /run/mcp-reaper if it is ours (a system unit with User= and RuntimeDirectory=), else
 * /run/user/UID/mcp-reaper if /run/user/UID is ours (a user unit's RuntimeDirectory=), else
 * /tmp/mcp-reaper-UID. $MCP_REAPER_LOCK_DIR, when set, replaces all of this.
 */
export function lockDir(env: NodeJS.ProcessEnv, uid: number, ownerOf: DirOwner = dirOwner): string {
  const override = env[LOCK_DIR_ENV];
  if (override !== undefined && override !== "") {
    // A relative one would depend on the working directory: two reapers would not meet.
    if (!isAbsolute(override)) throw new LockDirError(`${LOCK_DIR_ENV} must be an absolute path, got "${override}"`);
    return override;
  }
  if (uid === 0 || ownerOf("/run/mcp-reaper") === uid) return "/run/mcp-reaper";
  if (ownerOf(`/run/user/${uid}`) === uid) return `/run/user/${uid}/mcp-reaper`;
  return `/tmp/mcp-reaper-${uid}`;
}

/**
 * Creates the lock directory (0700) if missing and refuses one we cannot trust: in /tmp anyone may create
 * it first, so it must be a real directory (not a symlink), owned by us, and writable by nobody else.
 */
export function ensureLockDir(dir: string, uid: number): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (errorCode(err) !== "EEXIST") throw new LockDirError(`cannot create lock directory ${dir}: ${errorCode(err) ?? String(err)}`);
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new LockDirError(`lock directory ${dir} is not a directory${st.isSymbolicLink() ? " (a symlink)" : ""}; refusing it`);
  if (st.uid !== uid) throw new LockDirError(`lock directory ${dir} is owned by uid ${st.uid}, not by us (uid ${uid}); refusing it`);
  if ((st.mode & 0o022) !== 0) throw new LockDirError(`lock directory ${dir} is group- or world-writable (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}); refusing it`);
}

/** The lock file of one gateway process: a restarted gateway (new pid or start ticks) has another. */
export function lockFileName(gateway: Holder): string {
  return `mcp-reaper.gateway.${gateway.pid}.${gateway.startTicks}.lock`;
}

export function lockPathFor(gateway: Holder, env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string {
  return join(lockDir(env, uid), lockFileName(gateway));
}

function parseHolder(text: string): Holder | null {
  const m = /^(\d+) (\d+)\n?$/.exec(text);
  return m ? { pid: Number(m[1]), startTicks: Number(m[2]) } : null;
}

/** Longer than any "PID TICKS" line: a longer file is garbage, not something to read whole. */
const MAX_LOCK_FILE_BYTES = 64;

/**
 * The holder named by the file; "missing" if there is no file, null if it does not hold "PID TICKS" or
 * is no small regular file (a symlink, a FIFO: garbage to take over, never followed or waited on).
 */
function readHolder(path: string): Holder | null | "missing" {
  let text: string;
  try {
    text = readSmallFile(path, MAX_LOCK_FILE_BYTES, { noFollow: true });
  } catch (err) {
    if (errorCode(err) === "ENOENT") return "missing";
    if (err instanceof NotASmallFileError || errorCode(err) === "ELOOP") return null;
    throw err;
  }
  return parseHolder(text);
}

/** Is that exact process (pid and start ticks) still running? */
export function isAlive(h: Holder, procRoot = "/proc"): boolean {
  const stat = readStatOrNull(procRoot, h.pid);
  return stat !== null && stat.startTicks === h.startTicks && stat.state !== "Z" && stat.state !== "X";
}

const same = (a: Holder, b: Holder): boolean => a.pid === b.pid && a.startTicks === b.startTicks;

/** Writes our holder line to a private temp file and hard-links it into place: the lock appears whole or not at all. */
function tryLink(path: string, me: Holder): boolean {
  const tmp = `${path}.${me.pid}.tmp`;
  try {
    writeFileSync(tmp, `${me.pid} ${me.startTicks}\n`, { mode: 0o644 });
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (errorCode(err) === "EEXIST") return false;
    throw new Error(`cannot create lock file ${path}: ${errorCode(err) ?? String(err)}`);
  } finally {
    // Also when the write failed half-way: no temp file is left behind.
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
  }
}

/**
 * Takes the lock of one gateway process in our lock directory (created and checked first): LockHeldError
 * when another live reaper holds it, LockDirError when the directory cannot be trusted.
 */
export function lockGateway(gateway: Holder, env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): Lock {
  ensureLockDir(lockDir(env, uid), uid);
  return acquireLock(lockPathFor(gateway, env, uid));
}

export function heldMessage(path: string, h: Holder): string {
  return `another mcp-reaper (pid ${h.pid}) already watches this gateway; lock ${path}`;
}

/**
 * Takes the lock or throws LockHeldError. A stale lock (its holder's pid gone or reused) is moved aside
 * with rename (atomic: of two reapers taking over at once, one moves it), checked to be the stale one
 * we read, and replaced; if a live holder's file was moved by mistake it is linked back.
 */
export function acquireLock(path: string, procRoot = "/proc", me: Holder = self(procRoot)): Lock {
  let tookOverFrom: Lock["tookOverFrom"] = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryLink(path, me)) return makeLock(path, procRoot, me, tookOverFrom);
    const holder = readHolder(path);
    if (holder === "missing") continue; // released between our link and our read
    if (holder !== null && !same(holder, me) && isAlive(holder, procRoot)) throw new LockHeldError(heldMessage(path, holder));
    const aside = `${path}.${me.pid}.stale`;
    try {
      renameSync(path, aside);
    } catch (err) {
      if (errorCode(err) === "ENOENT") continue;
      throw err;
    }
    const moved = readHolder(aside);
    if (moved !== "missing" && moved !== null && !same(moved, me) && isAlive(moved, procRoot)) {
      // Someone took over between our read and our rename (also when what we read was garbage): give
      // their lock back and yield. A holder we read is dead, so a live one here is a newcomer.
      try {
        linkSync(aside, path);
      } catch {
        /* a third reaper got there; it checks the lock each pass */
      }
      unlinkSync(aside);
      throw new LockHeldError(heldMessage(path, moved));
    }
    unlinkSync(aside);
    tookOverFrom = holder ?? "unreadable";
  }
  throw new LockHeldError(`could not take lock ${path}: it keeps changing hands`);
}

function self(procRoot: string): Holder {
  const stat = readStat(procRoot, process.pid);
  if (stat === null) throw new Error(`cannot read our own ${procRoot}/${process.pid}/stat`);
  return { pid: process.pid, startTicks: stat.startTicks };
}

function makeLock(path: string, procRoot: string, me: Holder, tookOverFrom: Lock["tookOverFrom"]): Lock {
  let released = false;
  return {
    path,
    tookOverFrom,
    check() {
      const holder = readHolder(path);
      if (holder !== "missing" && holder !== null && same(holder, me)) return { state: "held" };
      if (holder !== "missing" && holder !== null && isAlive(holder, procRoot)) return { state: "lost", holder };
      // Gone or garbage: take it again, unless a live reaper slipped in meanwhile.
      try {
        acquireLock(path, procRoot, me);
        return { state: "recreated" };
      } catch (err) {
        const now = readHolder(path);
        if (err instanceof LockHeldError && now !== "missing" && now !== null) return { state: "lost", holder: now };
        throw err;
      }
    },
    release() {
      if (released) return;
      released = true;
      const holder = readHolder(path);
      if (holder !== "missing" && holder !== null && same(holder, me)) {
        try {
          unlinkSync(path);
        } catch {
          /* already gone */
        }
      }
    },
  };
}
