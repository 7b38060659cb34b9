// Sense: what every host adapter shares. A gateway as its host sees it (environment, home, files through its
// own mount namespace), and the small interface a host's session reader fills in (OpenClaw first: ./openclaw/).
import { readSmallFile } from "../files.js";
import { errorCode, readEnviron, readLink } from "../proc/read.js";
import { parsePasswdHome } from "./parse.js";

/** The gateway process as the host adapters read it. */
export interface GatewayView {
  pid: number;
  /** Real uid: only files this user owns are read. null when unknown (then nothing owned is read). */
  uid: number | null;
  comm: string;
  argv: readonly string[];
  environ: ReadonlyMap<string, string> | null;
  /** Home of the gateway's user (its own /etc/passwd, read in its mount namespace), or null. */
  home: string | null;
  cwd: string | null;
  /** `${procRoot}/PID/root`: paths from the gateway's environment are read below it, as the gateway sees them (a container's own files). */
  root: string;
}

/** Reads what the adapters need of the gateway once per pass. `passwdPath` (tests): read this passwd file instead of the gateway's own. */
export function gatewayView(procRoot: string, g: { pid: number; uid: number | null; comm: string; argv: readonly string[] }, passwdPath?: string): GatewayView {
  const root = `${procRoot}/${g.pid}/root`;
  let home: string | null = null;
  if (g.uid !== null) {
    try {
      home = parsePasswdHome(readSmallFile(passwdPath ?? `${root}/etc/passwd`), g.uid);
    } catch {
      home = null;
    }
  }
  return { pid: g.pid, uid: g.uid, comm: g.comm, argv: g.argv, environ: readEnviron(procRoot, g.pid), home, cwd: readLink(`${procRoot}/${g.pid}/cwd`), root };
}

/** A path the gateway named, as the gateway sees it (through /proc/PID/root). */
export function inGateway(view: GatewayView, path: string): string {
  return `${view.root}${path.startsWith("/") ? path : `/${path}`}`;
}

/** The errno-like word for an error, for one-line warnings. */
export function why(err: unknown): string {
  return errorCode(err) ?? (err instanceof Error ? err.message : String(err));
}

export type SessionKind = "main" | "hook" | "cron" | "heartbeat" | "stateless-chat" | "subagent" | "other" | "unknown";

/** What a session is, as its host's adapter tells it (OpenClaw: from the key's shape, or a window naming a hook). */
export interface KeyClass {
  kind: SessionKind;
  /** The host starts a fresh session for every run of this key (nothing resumes it once its turn ends). */
  isolated: boolean;
}

/**
 * One session as a host keeps it, in the terms attribution and liveness need. Every time is ms since the
 * epoch, as the host wrote it.
 */
export interface HostSession {
  /** The session key (`agent:main:main`); null when only an archived transcript is left and it names none. */
  key: string | null;
  sessionId: string;
  /** From the session's first event to the end of its first turn: where its MCP set is started. null: not known. */
  firstTurn: { startMs: number; endMs: number | null; /** The first user message, when known: the evidence counts from it. */ userMs?: number | null } | null;
  /** The first turn's end could not be read: endMs is only an upper bound (the session's last event). */
  firstTurnEndBounded?: boolean;
  /** Is this sessionId the current one of its key? null: not known. */
  current: boolean | null;
  /** Whether the last turn finished (null: not known; false: a run in progress). */
  turnFinished: boolean | null;
  /** When the last turn finished or the session was replaced/archived, if known. */
  endedAtMs: number | null;
  /** Last activity the host recorded (updatedAt, last_activity_at). */
  lastActivityMs: number | null;
  /** Host words worth showing (a window's status and reason, an archive suffix). */
  hostStatus?: string | null;
  /** Only an archived transcript (`.reset.`/`.deleted.`) is left: the session is over. */
  archived?: boolean;
  /** What the session is and whether each run of its key is a fresh one: the adapter's reading of the host. */
  kind: KeyClass;
}

/** What one pass read of a host's sessions. */
export interface SessionStore {
  host: string;
  /** Which store layout was read: `sessions.json` (openclaw 2026.4.x) or `sqlite` (2026.9.x), with the schema version when known. */
  layout: string;
  sessions: HostSession[];
  /** Files read, for the report. */
  sources: string[];
  /** Sessions whose window could not be read though they were active while the instances started: every start in [fromMs, toMs] is ambiguous. */
  blind: { fromMs: number; toMs: number; why: string }[];
  /** Transcript reads this pass (each at most once), for the report and the benchmark. */
  transcriptsRead: number;
}

/** The outcome of reading a host's sessions: a store, or why not (one warning; every instance stays unattributed). */
export type SessionSensing = { store: SessionStore; warning: null } | { store: null; warning: string };

/** A host that can say which session an MCP set belongs to. */
export interface HostAdapter {
  name: string;
  /** Is this gateway one of this host's? */
  detects(view: GatewayView): boolean;
  /**
   * Reads the sessions that may own an instance started at or after `sinceMs` (the oldest instance root).
   * Never throws: an unreadable or unknown store is a warning.
   */
  readSessions(view: GatewayView, sinceMs: number, nowMs: number): SessionSensing | Promise<SessionSensing>;
}
