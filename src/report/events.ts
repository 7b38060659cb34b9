// Report: what mcp-reaper tells the world, as typed events. Formatters (human.ts, json.ts) turn them into text.
import type { PassResult } from "../pass.js";

export type ReportEvent =
  /** A pass finished: the plan, what was done, the totals. */
  | { kind: "pass"; at: number; result: PassResult }
  /** Something worth a line that is not a pass: the loop starting, a gateway that went away, ... */
  | { kind: "info" | "warning" | "error"; at: number; message: string };

/**
 * Escapes what a terminal would act on: C0 and C1 control characters, DEL, and the bidirectional
 * overrides that can make text read backwards. argv, comm and paths come from other users' processes.
 */
export function safe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** 104857600 -> "100.0 MB" (powers of 1024, as free(1) and top(1) count). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** 93000 -> "1m33s"; 4200 -> "4.2s". */
export function formatAge(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}
