// The activity history on disk, for runs from a timer: a JSON file written atomically (tmp + rename),
// keyed by boot id + pid + start ticks, pruned of processes that are gone.
import { renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { emptyHistory, type ActivityHistory, type ActivityRecord } from "./decide/activity.js";
import { errorCode, readStatOrNull, readText } from "./proc/read.js";
import { makeDirs, readSmallFile } from "./files.js";

const FORMAT = "mcp-reaper/activity@1";

/**
 * Where the history lives by default: systemd's StateDirectory= ($STATE_DIRECTORY, first entry), else
 * $XDG_STATE_HOME/mcp-reaper, else ~/.local/state/mcp-reaper; the file is activity.json.
 */
export function defaultStateFile(env: NodeJS.ProcessEnv): string {
  const systemd = env.STATE_DIRECTORY?.split(":")[0];
  if (systemd) return join(systemd, "activity.json");
  const xdg = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(xdg, "mcp-reaper", "activity.json");
}

/** This boot's id; start ticks only name a process within one boot. */
export function readBootId(procRoot: string): string {
  return readText(`${procRoot}/sys/kernel/random/boot_id`)?.trim() || "unknown-boot";
}

function isRecord(v: unknown): v is ActivityRecord {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.fingerprint === "string" && Number.isFinite(r.lastChangeMs) && Number.isFinite(r.seenMs);
}

/**
 * Loads the history. A missing file or another boot's file starts fresh silently; a corrupt one starts
 * fresh with a warning (unknown activity counts as active, so a lost history never causes a reap).
 */
export function loadHistory(path: string, bootId: string): { history: ActivityHistory; warning: string | null } {
  let text: string;
  try {
    text = readSmallFile(path);
  } catch (err) {
    const code = errorCode(err);
    return { history: emptyHistory(bootId), warning: code === "ENOENT" ? null : `cannot read state file ${path} (${code}); starting a fresh activity history` };
  }
  try {
    const doc = JSON.parse(text) as { format?: unknown; bootId?: unknown; records?: unknown };
    if (doc.format !== FORMAT || typeof doc.bootId !== "string" || typeof doc.records !== "object" || doc.records === null) {
      throw new Error("not an activity history");
    }
    if (doc.bootId !== bootId) return { history: emptyHistory(bootId), warning: null };
    const records = new Map<string, ActivityRecord>();
    for (const [key, value] of Object.entries(doc.records as Record<string, unknown>)) {
      if (!/^\d+:\d+$/.test(key) || !isRecord(value)) continue;
      // changeAfterMs came later: a record without it (or with a bad one) only knows a lower bound.
      const after = Number.isFinite(value.changeAfterMs) ? (value.changeAfterMs as number) : null;
      records.set(key, { fingerprint: value.fingerprint, lastChangeMs: value.lastChangeMs, seenMs: value.seenMs, changeAfterMs: after });
    }
    return { history: { bootId, records }, warning: null };
  } catch (err) {
    return { history: emptyHistory(bootId), warning: `state file ${path} is corrupt (${(err as Error).message}); starting a fresh activity history` };
  }
}

/** Drops records of processes that are gone (the pid is free or names another process now). */
export function pruneHistory(history: ActivityHistory, procRoot: string): void {
  for (const key of history.records.keys()) {
    const [pid, ticks] = key.split(":").map(Number) as [number, number];
    if (readStatOrNull(procRoot, pid)?.startTicks !== ticks) history.records.delete(key);
  }
}

/** Writes the history atomically: a reader (or a crash) never sees half a file. Returns a warning on failure. */
export function saveHistory(path: string, history: ActivityHistory): string | null {
  const doc = { format: FORMAT, bootId: history.bootId, records: Object.fromEntries(history.records) };
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    makeDirs(dirname(path));
    writeFileSync(tmp, `${JSON.stringify(doc)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
    return null;
  } catch (err) {
    return `cannot write state file ${path} (${errorCode(err) ?? String(err)}); activity will be unknown next run`;
  }
}
