// Report: one line per event, for the loop's log and for the systemd journal (no colours; journald
// priority prefixes when the stream is the journal, as sd-daemon(3) describes).
import { fstatSync } from "node:fs";
import type { PassResult } from "../pass.js";
import { safe, type ReportEvent } from "./events.js";
import { freedText, hostChangeText } from "./memory.js";

/** syslog priorities journald reads from a `<N>` line prefix. */
export const PRIORITY = { error: 3, warning: 4, info: 6 } as const;

/** A pass's priority: error if a reap failed, warning if a target was skipped, else info. */
export function priorityOf(event: ReportEvent): number {
  if (event.kind !== "pass") return PRIORITY[event.kind];
  const s = event.result.summary;
  return s.failed > 0 ? PRIORITY.error : s.skipped > 0 ? PRIORITY.warning : PRIORITY.info;
}

/** A pass in one line: gateway, totals, and the reaped instances' root pids by type. */
export function passLine(r: PassResult): string {
  const s = r.summary;
  const g = r.plan.gateway;
  const verb = r.dryRun ? "would reap" : "reaped";
  const parts = [`${s.instances} instance${s.instances === 1 ? "" : "s"} of ${s.types} type${s.types === 1 ? "" : "s"}: ${s.kept} kept, ${s.reaped} ${verb}`];
  if (!r.dryRun && s.reaped > 0) {
    const outcomes = [s.terminated && `${s.terminated} terminated`, s.killed && `${s.killed} killed`, s.gone && `${s.gone} already gone`, s.skipped && `${s.skipped} skipped`, s.failed && `${s.failed} failed`].filter(Boolean);
    parts[0] += ` (${outcomes.join(", ")})`;
  }
  if (s.reaped > 0) {
    const host = hostChangeText(r);
    parts.push(`${freedText(r)}${host ? `; ${host}` : ""}`);
    const byType = r.plan.types
      .map((t) => [t.label, t.instances.filter((i) => i.action === "reap").map((i) => i.rootPid)] as const)
      .filter(([, pids]) => pids.length > 0)
      .map(([label, pids]) => `${safe(label)} [${pids.join(" ")}]`);
    parts.push(`${verb}: ${byType.join("; ")}`);
  }
  const failures = (r.results ?? []).flatMap((x) => x.targets.filter((t) => t.detail).map((t) => `${t.pid}: ${safe(t.detail as string)}`));
  if (failures.length > 0) parts.push(`problems: ${failures.join("; ")}`);
  parts.push(`${r.durationMs}ms`);
  const who = r.plan.scope === "host" ? "host-wide orphans" : `gateway ${g.pid} ${safe(g.comm)}${r.all ? ` (${r.all.index + 1} of ${r.all.of})` : ""}`;
  return `pass: ${who}${r.dryRun ? " (dry run)" : ""}: ${parts.join("; ")}`;
}

/** One event as one line: `journal` adds the priority prefix and leaves the timestamp to journald. */
export function formatLine(event: ReportEvent, journal: boolean): string {
  const text = event.kind === "pass" ? passLine(event.result) : `${event.kind}: ${safe(event.message)}`;
  return journal ? `<${priorityOf(event)}>${text}` : `${new Date(event.at).toISOString()} ${text}`;
}

/**
 * Is this fd connected to the journal? systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connects
 * (systemd.exec(5)); a redirected stream has another inode, so the prefix is only used where journald reads it.
 */
export function isJournal(fd: number, env: NodeJS.ProcessEnv): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? "");
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1] as string) && st.ino === BigInt(m[2] as string);
  } catch {
    return false;
  }
}
