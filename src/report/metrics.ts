// Report: Prometheus text-format metrics after each pass, for node_exporter's textfile collector. Counters
// are carried over from the previous file, so they keep counting across one-shot (timer) runs and restarts.
import { renameSync, writeFileSync } from "node:fs";
import type { PassResult } from "../pass.js";
import { errorCode } from "../proc/read.js";
import { readSmallFile } from "../files.js";

export type ErrorKind = "gateway_not_found" | "pass" | "reap";

/** One sample: metric name, labels in order, value. */
export interface Sample {
  name: string;
  labels: [string, string][];
  value: number;
}

const FAMILIES: [name: string, type: "counter" | "gauge", help: string][] = [
  ["mcp_reaper_passes_total", "counter", "Passes run (one-shot runs and loop passes), whatever their outcome."],
  ["mcp_reaper_errors_total", "counter", 'Passes that found no gateway (kind="gateway_not_found") or failed otherwise (kind="pass"), and instance reaps that failed (kind="reap").'],
  ["mcp_reaper_reaped_instances_total", "counter", "Instances terminated (SIGTERM, or SIGKILL after the grace period), by server type."],
  ["mcp_reaper_reaps_by_reason_total", "counter", 'Instances terminated, by the plan\'s reason (reason="duplicate", "session-ended", "session-idle", "unreachable").'],
  ["mcp_reaper_killed_instances_total", "counter", "Reaped instances that needed SIGKILL after the grace period, by server type."],
  ["mcp_reaper_reclaimed_bytes_total", "counter", "Resident memory of the reaped instances, in bytes."],
  ["mcp_reaper_instances", "gauge", "MCP server instances the last pass saw, by server type and state (kept or reaped; in a dry run, reaped = would be reaped)."],
  ["mcp_reaper_gateway_up", "gauge", "1 if the last pass found the gateway, else 0."],
  ["mcp_reaper_last_pass_timestamp_seconds", "gauge", "When the last pass ended, in seconds since the epoch."],
  ["mcp_reaper_last_pass_duration_seconds", "gauge", "How long the last pass took, in seconds."],
  ["mcp_reaper_last_pass_success", "gauge", "1 if the last pass ran to the end with no failed reap, else 0."],
  ["mcp_reaper_last_success_timestamp_seconds", "gauge", "When a pass last ran to the end with no failed reap, in seconds since the epoch."],
];
/**
 * Per-type counters are carried over for ever, so their number is capped: a host whose type labels keep
 * changing (a session id in the arguments) must not grow the file and the loop's memory without end.
 * Types past the cap count under type="(other types)".
 */
export const MAX_TYPE_SERIES = 100;
export const OTHER_TYPES = "(other types)";

/** Carried over from the previous file besides the counters: a timer run must not forget the last success. */
const CARRIED_GAUGES = new Set(["mcp_reaper_last_success_timestamp_seconds"]);

/** Label values may hold anything a command line holds: backslash, double quote and newline are escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function seriesKey(name: string, labels: readonly [string, string][]): string {
  return JSON.stringify([name, ...labels]);
}

/** Go's strconv formatting of special values, which Prometheus reads; integers stay integers. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

/** Reads samples back from a text-format file (enough of the format for what renderMetrics writes). Throws on anything else. */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${JSON.stringify(line.slice(0, 60))}`);
    const labels: [string, string][] = [];
    let rest = m[3] ?? "";
    while (rest !== "") {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/.exec(rest);
      if (!l) throw new Error(`line ${i + 1}: bad labels: ${JSON.stringify(rest.slice(0, 60))}`);
      labels.push([l[1] as string, (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))]);
      rest = rest.slice(l[0].length);
    }
    const value = m[4] === "+Inf" ? Infinity : m[4] === "-Inf" ? -Infinity : Number(m[4]);
    if (Number.isNaN(value) && m[4] !== "NaN") throw new Error(`line ${i + 1}: bad value ${JSON.stringify(m[4])}`);
    samples.push({ name: m[1] as string, labels, value });
  }
  return samples;
}

interface LastPass {
  atMs: number;
  durationMs: number;
  success: boolean;
  gatewayUp: boolean;
  /** type -> counts of the plan's actions. */
  instances: Map<string, { kept: number; reaped: number }>;
}

/** The metrics of one run (a one-shot run, or a loop across its passes), written to one file. */
export class MetricsFile {
  private readonly counters = new Map<string, Sample>();
  private last: LastPass | null = null;
  /** Set when the previous file could not be read back: counters started from zero (the caller logs it once). */
  readonly carryOverProblem: string | null = null;

  constructor(readonly path: string) {
    let text: string | null = null;
    try {
      text = readSmallFile(path);
    } catch (err) {
      if (errorCode(err) !== "ENOENT") this.carryOverProblem = `cannot read ${path}: ${errorCode(err) ?? String(err)}`;
    }
    if (text === null) return;
    try {
      for (const s of parseSamples(text)) {
        if (s.name.endsWith("_total") || CARRIED_GAUGES.has(s.name)) this.counters.set(seriesKey(s.name, s.labels), s);
      }
    } catch (err) {
      this.counters.clear();
      this.carryOverProblem = `${path} is not a metrics file this version wrote (${(err as Error).message}); counters start from 0`;
    }
  }

  private add(name: string, labels: [string, string][], by: number): void {
    let key = seriesKey(name, labels);
    if (!this.counters.has(key) && labels.some(([k]) => k === "type") && this.typeSeries(name) >= MAX_TYPE_SERIES) {
      // Bounded: past MAX_TYPE_SERIES types, new ones count together.
      labels = labels.map(([k, v]) => [k, k === "type" ? OTHER_TYPES : v]);
      key = seriesKey(name, labels);
    }
    const s = this.counters.get(key) ?? { name, labels, value: 0 };
    s.value += by;
    this.counters.set(key, s);
  }

  private typeSeries(name: string): number {
    let n = 0;
    for (const s of this.counters.values()) if (s.name === name && s.labels.some(([k]) => k === "type")) n++;
    return n;
  }

  private set(name: string, value: number): void {
    this.counters.set(seriesKey(name, []), { name, labels: [], value });
  }

  /** A pass that ran (dry or real). Reaps, kills and bytes count only when processes were really signalled. */
  recordPass(r: PassResult, endedAtMs: number): void {
    this.add("mcp_reaper_passes_total", [], 1);
    const instances = new Map<string, { kept: number; reaped: number }>();
    const byRoot = new Map(r.results?.map((x) => [x.rootPid, x]));
    for (const type of r.plan.types) {
      const counts = { kept: 0, reaped: 0 };
      for (const inst of type.instances) {
        counts[inst.action === "keep" ? "kept" : "reaped"]++;
        const outcome = byRoot.get(inst.rootPid)?.outcome;
        if (outcome === "terminated" || outcome === "killed") {
          this.add("mcp_reaper_reaped_instances_total", [["type", type.label]], 1);
          this.add("mcp_reaper_reaps_by_reason_total", [["reason", inst.reasonCode]], 1);
          this.add("mcp_reaper_reclaimed_bytes_total", [], inst.rssBytes + (inst.exitsWith ?? []).reduce((t, e) => t + e.rssBytes, 0));
        }
        if (outcome === "killed") this.add("mcp_reaper_killed_instances_total", [["type", type.label]], 1);
      }
      instances.set(type.label, counts);
    }
    if (r.summary.failed > 0) this.add("mcp_reaper_errors_total", [["kind", "reap"]], r.summary.failed);
    const success = r.summary.failed === 0;
    if (success) this.set("mcp_reaper_last_success_timestamp_seconds", endedAtMs / 1000);
    this.last = { atMs: endedAtMs, durationMs: r.durationMs, success, gatewayUp: true, instances };
  }

  /** A pass that did not get to a plan: no gateway, or an error. */
  recordError(kind: Exclude<ErrorKind, "reap">, endedAtMs: number, durationMs: number): void {
    this.add("mcp_reaper_passes_total", [], 1);
    this.add("mcp_reaper_errors_total", [["kind", kind]], 1);
    this.last = { atMs: endedAtMs, durationMs, success: false, gatewayUp: kind !== "gateway_not_found", instances: new Map() };
  }

  /** The whole file: every family with HELP and TYPE, samples sorted for stable diffs. */
  render(): string {
    const samples: Sample[] = [...this.counters.values()];
    const l = this.last;
    if (l) {
      for (const [type, c] of l.instances) {
        samples.push({ name: "mcp_reaper_instances", labels: [["type", type], ["state", "kept"]], value: c.kept });
        samples.push({ name: "mcp_reaper_instances", labels: [["type", type], ["state", "reaped"]], value: c.reaped });
      }
      samples.push({ name: "mcp_reaper_gateway_up", labels: [], value: l.gatewayUp ? 1 : 0 });
      samples.push({ name: "mcp_reaper_last_pass_timestamp_seconds", labels: [], value: l.atMs / 1000 });
      samples.push({ name: "mcp_reaper_last_pass_duration_seconds", labels: [], value: l.durationMs / 1000 });
      samples.push({ name: "mcp_reaper_last_pass_success", labels: [], value: l.success ? 1 : 0 });
    }
    const out: string[] = [];
    for (const [name, type, help] of FAMILIES) {
      out.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
      const mine = samples.filter((s) => s.name === name).map((s) => {
        const labels = s.labels.length ? `{${s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}` : "";
        return `${name}${labels} ${formatValue(s.value)}`;
      });
      out.push(...mine.sort());
    }
    return `${out.join("\n")}\n`;
  }

  /** Write a temp file beside it, then rename: the collector never reads half a file. The temp name does not end in .prom. */
  write(): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, this.render(), { mode: 0o644 });
    renameSync(tmp, this.path);
  }
}
