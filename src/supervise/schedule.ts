// The loop's schedule: a cron expression (cron-parser 5, loaded only here) -> the next run time, never
// stalling. cron-parser's iterator can get stuck around a DST gap (harrisiirak/cron-parser#404: hasNext()
// false, next() undefined after a spring-forward), so every next time is computed by a fresh parse from
// "now", must lie strictly after now, and a failure steps past the gap or falls back to a fixed delay.
import { UsageError } from "../config.js";

export interface Schedule {
  /** The expression as given. */
  expression: string;
  /** IANA time zone the fields are read in. */
  tz: string;
  /** The first run time strictly after `nowMs`; `fallback` when the parser gave none and a fixed delay stands in. */
  nextAfter(nowMs: number): { atMs: number; fallback: boolean };
}

/** Used only when cron-parser finds no next time after every retry: the loop keeps running, one pass a minute. */
export const FALLBACK_DELAY_MS = 60_000;
/**
 * Later starting points tried when a parse from "now" fails or does not move forward: past a second
 * boundary, a minute, and a DST gap (at most one hour on every zone in use; two to be safe).
 */
const RETRY_SKEW_MS = [0, 1_000, 60_000, 3_600_000, 7_200_000];

/** The host's time zone (TZ or /etc/localtime), as cron(8) and systemd timers read their fields. */
export function hostTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** A time zone name Intl knows (IANA, e.g. "Europe/Rome", or "UTC"), or a usage error. */
export function parseTimeZone(text: string): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: text }).resolvedOptions().timeZone;
  } catch {
    throw new UsageError(`--tz: unknown time zone ${JSON.stringify(text)} (use an IANA name such as UTC or Europe/Rome)`);
  }
}

/** 5 fields (minute hour day month weekday) or 6 (seconds first), or a cron-parser alias such as @hourly. */
export function checkFieldCount(expression: string): void {
  const text = expression.trim();
  if (text.startsWith("@")) return;
  const fields = text === "" ? 0 : text.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    // cron-parser itself fills missing fields with defaults ("* * *" parses): a typo must not become "every minute".
    throw new UsageError(`--schedule ${JSON.stringify(expression)}: need 5 fields (minute hour day month weekday) or 6 (seconds first), got ${fields}`);
  }
}

/** Parses and checks the expression once (exit 2 with the parser's reason); cron-parser is imported here only. */
export async function loadSchedule(expression: string, tz: string): Promise<Schedule> {
  checkFieldCount(expression);
  const { CronExpressionParser } = await import("cron-parser");
  const parse = (fromMs: number): number => CronExpressionParser.parse(expression, { tz, currentDate: new Date(fromMs) }).next().getTime();
  try {
    parse(Date.now());
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new UsageError(`--schedule ${JSON.stringify(expression)}: ${reason}`);
  }
  return {
    expression,
    tz,
    nextAfter: (nowMs) => nextRunAfter(parse, nowMs),
  };
}

/**
 * The never-stalling rule, apart from cron-parser so tests can hand it a broken parser: the first time
 * `parse` gives from now (or a little later) that lies strictly after now; else now + FALLBACK_DELAY_MS.
 */
export function nextRunAfter(parse: (fromMs: number) => number, nowMs: number): { atMs: number; fallback: boolean } {
  for (const skewMs of RETRY_SKEW_MS) {
    let atMs: number;
    try {
      atMs = parse(nowMs + skewMs);
    } catch {
      continue; // #404: the iterator gave up inside a DST gap; start later
    }
    if (Number.isFinite(atMs) && atMs > nowMs) return { atMs, fallback: false };
  }
  return { atMs: nowMs + FALLBACK_DELAY_MS, fallback: true };
}
