// One reaper per gateway: a lock file in the runtime dir holding the owner's pid and start ticks, so a
// lock left by a dead reaper (or one whose pid was reused) is recognised and taken over.
import { createHash } from "node:crypto";
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GatewaySpec } from "../proc/gateway.js";
import { ProcParseError } from "../proc/parse.js";
import { errorCode, readStat } from "../proc/read.js";

/** Another live mcp-reaper holds the lock: exit code 5. */
export class LockHeldError extends Error {
  override readonly name = "LockHeldError";
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
   * written again; "lost": another live reaper now holds it, and this one must stop.
   */
  check(): { state: "held" | "recreated" } | { state: "lost"; holder: Holder };
  /** Removes the file if it still names us. Idempotent. */
  release(): void;
}

/**
 * Where locks live: $RUNTIME_DIRECTORY (systemd RuntimeDirectory=, first entry), else $XDG_RUNTIME_DIR,
 * else /run for root, else /tmp. /tmp is shared by every user, so a lock there carries our uid in its name
 * (nobody else's file can block us).
 */
export function lockDir(env: NodeJS.ProcessEnv, uid: number): { dir: string; shared: boolean } {
  const runtime = env.RUNTIME_DIRECTORY?.split(":")[0];
  if (runtime) return { dir: runtime, shared: false };
  if (env.XDG_RUNTIME_DIR) return { dir: env.XDG_RUNTIME_DIR, shared: false };
  return uid === 0 ? { dir: "/run", shared: false } : { dir: "/tmp", shared: true };
}

/** A file name that says which gateway spec it guards; a hash keeps specs that clean to the same text apart. */
export function lockFileName(spec: GatewaySpec, uid: number, shared: boolean): string {
  const [kind, value] =
    spec.kind === "pid" ? ["pid", String(spec.pid)] : spec.kind === "name" ? ["name", spec.name] : spec.kind === "pidfile" ? ["pidfile", spec.path] : [spec.user ? "user-unit" : "unit", spec.unit];
  let clean = value.replace(/[^A-Za-z0-9._@-]/g, "_").slice(0, 80);
  if (clean !== value) clean += `-${createHash("sha256").update(value).digest("hex").slice(0, 8)}`;
  return `mcp-reaper${shared ? `-u${uid}` : ""}.${kind}.${clean}.lock`;
}

export function lockPathFor(spec: GatewaySpec, env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string {
  const { dir, shared } = lockDir(env, uid);
  return join(dir, lockFileName(spec, uid, shared));
}

function parseHolder(text: string): Holder | null {
  const m = /^(\d+) (\d+)\n?$/.exec(text);
  return m ? { pid: Number(m[1]), startTicks: Number(m[2]) } : null;
}

/** The holder named by the file; "missing" if there is no file, null if it does not hold "PID TICKS". */
function readHolder(path: string): Holder | null | "missing" {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (errorCode(err) === "ENOENT") return "missing";
    throw err;
  }
  return parseHolder(text);
}

/** Is that exact process (pid and start ticks) still running? */
export function isAlive(h: Holder, procRoot = "/proc"): boolean {
  try {
    const stat = readStat(procRoot, h.pid);
    return stat !== null && stat.startTicks === h.startTicks && stat.state !== "Z" && stat.state !== "X";
  } catch (err) {
    if (err instanceof ProcParseError) return false;
    throw err;
  }
}

const same = (a: Holder, b: Holder): boolean => a.pid === b.pid && a.startTicks === b.startTicks;

/** Writes our holder line to a private temp file and hard-links it into place: the lock appears whole or not at all. */
function tryLink(path: string, me: Holder): boolean {
  const tmp = `${path}.${me.pid}.tmp`;
  try {
    writeFileSync(tmp, `${me.pid} ${me.startTicks}\n`, { mode: 0o644 });
  } catch (err) {
    throw new Error(`cannot create lock file ${path}: ${errorCode(err) ?? String(err)} (set RUNTIME_DIRECTORY or XDG_RUNTIME_DIR to a writable directory)`);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (errorCode(err) === "EEXIST") return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

function heldMessage(path: string, h: Holder): string {
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
    if (moved !== "missing" && moved !== null && holder !== null && !same(moved, holder) && isAlive(moved, procRoot)) {
      // Someone took over between our read and our rename: give their lock back and yield.
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
