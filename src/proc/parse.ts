// Pure parsers for /proc text: no I/O here, so every edge case is a table test (earlyoom proc_pid.c shape).

/** A /proc file whose text is not what the kernel writes. Typed, so callers can tell it from an I/O error. */
export class ProcParseError extends Error {
  override readonly name = "ProcParseError";
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** The fields of /proc/PID/stat that a reaper needs. */
export interface Stat {
  pid: number;
  /** The command name (kernel `comm`, at most 15 bytes, any characters: spaces, parentheses, newlines). */
  comm: string;
  /** R, S, D, Z, T, t, X, I, ... (`Z` and `X` mean the process is gone but for its exit status). */
  state: string;
  ppid: number;
  pgid: number;
  /** User and system CPU time in clock ticks: the activity guard watches them change. */
  utimeTicks: number;
  stimeTicks: number;
  /** Start time after boot in clock ticks (field 22). With the pid it names one process: pids are reused, this is not. */
  startTicks: number;
  /** Number of threads (field 20): with one, its only task is the main thread and no listing is needed. */
  threads: number;
  /**
   * Resident set size in pages (field 24). The kernel sums its per-CPU counters lazily here, so it can
   * lag status's VmRSS by up to 64 pages per CPU and counter: 20-240 KB per process measured on a
   * 2-CPU host, under 1% of a server's RSS. Reading it from stat saves reading status at all, which
   * cost 11% of a scan.
   */
  rssPages: number;
}

const STAT_FIELDS_AFTER_COMM = 22; // state (3) .. rss (24)

function toInt(file: string, what: string, text: string | undefined): number {
  if (text === undefined || !/^-?\d+$/.test(text)) {
    throw new ProcParseError(file, `${what} is not an integer: ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/**
 * Parses /proc/PID/stat. The command name sits between the FIRST `(` and the LAST `)`: a name like
 * `x) S 1 1 1 0` would make a naive split read `S` or `1` as the ppid.
 */
export function parseStat(text: string): Stat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 1 || close < open) throw new ProcParseError("stat", "no (comm)");
  const pid = toInt("stat", "pid", text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  const rest = text.slice(close + 1).trim().split(" ");
  if (rest.length < STAT_FIELDS_AFTER_COMM) throw new ProcParseError("stat", `only ${rest.length} fields after comm`);
  const state = rest[0] ?? "";
  if (!/^[A-Za-z]$/.test(state)) throw new ProcParseError("stat", `bad state ${JSON.stringify(state)}`);
  return {
    pid,
    comm,
    state,
    ppid: toInt("stat", "ppid", rest[1]),
    pgid: toInt("stat", "pgid", rest[2]),
    utimeTicks: toInt("stat", "utime", rest[11]),
    stimeTicks: toInt("stat", "stime", rest[12]),
    startTicks: toInt("stat", "starttime", rest[19]),
    threads: toInt("stat", "num_threads", rest[17]),
    rssPages: toInt("stat", "rss", rest[21]),
  };
}

/**
 * Splits /proc/PID/cmdline on NUL, less the NULs at its end. Kernel threads have an empty one (no
 * words); one of NULs only is a single empty word. Invalid UTF-8 becomes U+FFFD.
 */
export function parseCmdline(buf: Uint8Array): string[] {
  if (buf.length === 0) return [];
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString("utf8");
  // A normal cmdline ends with one NUL; a process that rewrote its title (setproctitle) may end with
  // none, and one that retitled itself through Node's process.title (libuv) writes the title over argv
  // and zero-fills the rest of the area: "demo-gateway" then dozens of NULs, which split into as many
  // empty words. Trailing NULs are all padding here: a trailing empty argument cannot be told from
  // them, and goes with them (an empty word names nothing).
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0) end--;
  return text.slice(0, end).split("\0");
}

/** The fields of /proc/PID/status we use. */
export interface Status {
  /** Real uid (first column of `Uid:`). */
  uid: number;
}

/** Parses /proc/PID/status for the real uid: read for the gateway and escaped-orphan candidates only. */
export function parseStatus(text: string): Status {
  // One anchored search instead of splitting ~55 lines.
  const uid = /^Uid:[ \t]*(\d+)/m.exec(text);
  if (!uid) throw new ProcParseError("status", "no Uid line");
  return { uid: Number(uid[1]) };
}

/** AT_PAGESZ, the auxiliary vector entry that carries the page size. */
const AT_PAGESZ = 6;

/**
 * The page size from /proc/self/auxv: (type, value) pairs of machine words, ended by type 0. Null when
 * the bytes hold no plausible AT_PAGESZ (a power of two from 1 KiB to 1 MiB).
 */
export function parseAuxvPageSize(buf: Uint8Array, wordBytes: 4 | 8, littleEndian: boolean): number | null {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const word = (at: number): number => (wordBytes === 8 ? Number(view.getBigUint64(at, littleEndian)) : view.getUint32(at, littleEndian));
  for (let at = 0; at + 2 * wordBytes <= buf.byteLength; at += 2 * wordBytes) {
    const type = word(at);
    if (type === 0) break;
    if (type !== AT_PAGESZ) continue;
    const size = word(at + wordBytes);
    return size >= 1024 && size <= 1 << 20 && (size & (size - 1)) === 0 ? size : null;
  }
  return null;
}

/** Byte and syscall counters from /proc/PID/io: any change means the process did I/O. */
export interface IoCounters {
  rchar: number;
  wchar: number;
  syscr: number;
  syscw: number;
}

export function parseIo(text: string): IoCounters {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) values.set(line.slice(0, colon), toInt("io", line.slice(0, colon), line.slice(colon + 1).trim()));
  }
  const get = (key: string): number => {
    const v = values.get(key);
    if (v === undefined) throw new ProcParseError("io", `no ${key} line`);
    return v;
  };
  return { rchar: get("rchar"), wchar: get("wchar"), syscr: get("syscr"), syscw: get("syscw") };
}

/** Parses /proc/PID/environ (NUL-separated KEY=VALUE). Entries without `=` are kept with an empty value. */
export function parseEnviron(buf: Uint8Array): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of parseCmdline(buf)) {
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    if (eq < 0) env.set(entry, "");
    else if (!env.has(entry.slice(0, eq))) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/** /proc/uptime's first number (seconds, two decimals) as milliseconds. */
export function parseUptimeMs(text: string): number {
  const m = /^(\d+)(?:\.(\d{1,2}))?\s/.exec(text);
  if (!m) throw new ProcParseError("uptime", `bad text ${JSON.stringify(text.slice(0, 40))}`);
  return Number(m[1]) * 1000 + Number((m[2] ?? "0").padEnd(2, "0")) * 10;
}
