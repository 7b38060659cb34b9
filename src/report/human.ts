// Report: events as text for people. Colour comes in through Paint, so chalk is loaded only on a TTY.
import type { InstanceResult } from "../act/execute.js";
import type { Member, PlannedInstance } from "../decide/planner.js";
import type { PassResult } from "../pass.js";
import { shortKey } from "../decide/sessions.js";
import { formatAge, formatBytes, safe, type ReportEvent } from "./events.js";
import { freedText, hostChangeText, instancePrivateText } from "./memory.js";

/** The few styles the report uses. Plain (identity) when colour is off. */
export interface Paint {
  keep: (s: string) => string;
  reap: (s: string) => string;
  warn: (s: string) => string;
  dim: (s: string) => string;
  bold: (s: string) => string;
}

const id = (s: string): string => s;
export const PLAIN: Paint = { keep: id, reap: id, warn: id, dim: id, bold: id };

/** argv as one line, cut to `max` characters, escaped. */
function commandLine(argv: readonly string[], max = 100): string {
  const text = argv.filter((w) => w !== "").join(" ");
  return safe(text.length > max ? `${text.slice(0, max - 3)}...` : text);
}

function memberLine(m: Member, isLast: boolean[], paint: Paint): string {
  // isLast[k]: is the member at depth k on the path to m the last child of its parent?
  let prefix = "";
  for (let d = 1; d < m.depth; d++) prefix += isLast[d] ? "   " : "│  ";
  const branch = m.depth === 0 ? "" : isLast[m.depth] ? "└─ " : "├─ ";
  const state = m.state === "Z" ? paint.warn(" [zombie]") : "";
  return `      ${paint.dim(prefix + branch)}${m.pid} ${commandLine(m.argv.length > 0 ? m.argv : [`[${m.comm}]`])}${state}`;
}

/** The members as a small tree: root first, children indented under their parent. */
function tree(inst: PlannedInstance, paint: Paint): string[] {
  const lines: string[] = [];
  const stack: boolean[] = [];
  inst.members.forEach((m, i) => {
    // Is m the last child of its parent? Look ahead for a sibling at the same depth before a shallower one.
    let last = true;
    for (let j = i + 1; j < inst.members.length; j++) {
      const d = (inst.members[j] as Member).depth;
      if (d < m.depth) break;
      if (d === m.depth) {
        last = false;
        break;
      }
    }
    stack.length = m.depth + 1;
    stack[m.depth] = last;
    lines.push(memberLine(m, stack, paint));
  });
  return lines;
}

function outcomeText(r: InstanceResult, paint: Paint): string {
  const detail = r.targets
    .filter((t) => t.detail)
    .map((t) => `${t.pid}: ${safe(t.detail as string)}`)
    .join("; ");
  const word =
    r.outcome === "failed" ? paint.reap("FAILED") : r.outcome === "skipped" ? paint.warn("skipped") : r.outcome === "killed" ? paint.warn("killed (SIGKILL after grace)") : r.outcome === "terminated" ? paint.keep("terminated") : "already gone";
  const late = r.targets.filter((t) => t.late && t.signals.length > 0).length;
  const lateText = late > 0 ? `, with ${late} process${late === 1 ? "" : "es"} started after the scan` : "";
  return `-> ${word} in ${r.durationMs}ms${lateText}${detail ? ` (${detail})` : ""}`;
}

/**
 * How idle an instance is, as sure as the looks allow: its last activity lies between two looks, so
 * "active 0s-24s ago" or "idle 3m00s-4m00s"; "idle >= 3m00s" when it came before the first look; "activity
 * unknown" on a first look.
 */
function activityText(idleMs: number | null, idleMaxMs: number | null): string {
  if (idleMs === null) return "activity unknown";
  if (idleMaxMs === null) return `idle >= ${formatAge(idleMs)}`;
  const range = formatAge(idleMaxMs) === formatAge(idleMs) ? formatAge(idleMs) : `${formatAge(idleMs)}-${formatAge(idleMaxMs)}`;
  return idleMs < 60_000 ? `active ${range} ago` : `idle ${range}`;
}

/** A pass as the terminal report: gateway, types with their instances as trees, what happened, totals. */
export function formatPass(r: PassResult, paint: Paint = PLAIN): string {
  const out: string[] = [];
  const g = r.plan.gateway;
  if (r.plan.scope === "host") out.push(`${paint.bold("host-wide orphans")} ${paint.dim("(no gateway: children of pid 1 or of a subreaper, MCP servers by their own command line)")}`);
  else out.push(`${paint.bold("gateway")} ${g.pid} ${commandLine(g.argv.length > 0 ? g.argv : [g.comm], 80)}${r.all ? paint.dim(`  (${r.all.index + 1} of ${r.all.of} named ${safe(r.all.name)})`) : ""}`);
  out.push(paint.dim(`  scanned ${r.scan.processes} processes (${r.scan.method}) in ${r.scan.durationMs}ms`));
  out.push(...serverHeader(r, paint));
  const byRoot = new Map(r.results?.map((x) => [x.rootPid, x]));
  if (r.plan.types.length === 0) out.push("", r.plan.scope === "host" ? "  no dead host's orphan to reap" : "  no MCP server instances under this gateway");
  for (const type of r.plan.types) {
    out.push("", `${paint.bold(safe(type.label) || "(empty command)")}  ${paint.dim(`${type.instances.length} instance${type.instances.length === 1 ? "" : "s"}`)}`);
    const cwd = type.instances[0]?.signature.cwd;
    const config = type.instances.find((i) => i.config)?.config;
    if (config) out.push(paint.dim(`  named by ${safe(config.source)}: runs ${safe(type.instances[0]?.signature.command.join(" ") ?? "")}`));
    if (cwd) out.push(paint.dim(`  cwd ${safe(cwd)}`));
    for (const inst of type.instances) {
      const action = inst.action === "keep" ? paint.keep("keep") : paint.reap(r.dryRun ? "would reap" : "reap");
      const priv = instancePrivateText(r, inst.rootPid);
      const facts = `pid ${inst.rootPid}  age ${formatAge(inst.ageMs)}  rss ${formatBytes(inst.rssBytes)}${priv ? `  ${priv}` : ""}  ${inst.members.length} proc${inst.members.length === 1 ? "" : "s"}${r.plan.activityTracked ? `  ${activityText(inst.idleMs, inst.idleMaxMs ?? null)}` : ""}`;
      out.push(`  ${action}  ${facts}  ${paint.dim(inst.reason)}`);
      if (inst.session) out.push(`      ${paint.dim(`session ${sessionText(inst)}`)}`);
      if (inst.exitsWith && inst.exitsWith.length > 0) out.push(`      ${paint.dim(`exits with it: ${inst.exitsWith.map((e) => `${e.pid} ${commandLine(e.argv, 60)} (${formatBytes(e.rssBytes)})`).join(", ")}`)}`);
      if (inst.orphan) out.push(`      ${paint.warn(`escaped orphan [${inst.orphan.evidence.join(", ")}]`)} ${paint.dim(`${safe(inst.orphan.detail)}; reachable by: ${inst.orphan.reach}`)}`);
      out.push(...tree(inst, paint));
      const result = byRoot.get(inst.rootPid);
      if (result) out.push(`      ${outcomeText(result, paint)}`);
    }
  }
  if (r.plan.ignored.length > 0) {
    out.push("", paint.dim(`ignored (not MCP servers, never touched):`));
    for (const c of r.plan.ignored) out.push(paint.dim(`  ${c.rootPid} ${commandLine(c.argv, 80)}  (${c.reason})`));
  }
  out.push(...serverFooter(r, paint));
  out.push(...openclawLines(r, paint));
  if (r.plan.zombies.length > 0) {
    out.push("", paint.warn(`zombies waiting for the gateway to reap them: ${r.plan.zombies.map((z) => `${z.pid} [${safe(z.comm)}]`).join(", ")}`));
  }
  const s = r.summary;
  out.push("");
  const head = `${s.instances} instance${s.instances === 1 ? "" : "s"} of ${s.types} type${s.types === 1 ? "" : "s"}: ${s.kept} kept, ${s.reaped} ${r.dryRun ? "would be reaped" : "reaped"}`;
  const unknown = [...(r.memory?.values() ?? [])].find((m) => m.unknown !== null)?.unknown;
  if (unknown) out.push(paint.dim(`private memory unknown for some instances: ${safe(unknown)}`));
  if (r.dryRun) {
    out.push(paint.bold(head), freedText(r));
    out.push(paint.warn("dry run: no process was signalled"));
  } else {
    const parts = [
      s.terminated && `${s.terminated} terminated`,
      s.killed && `${s.killed} killed`,
      s.gone && `${s.gone} already gone`,
      s.skipped && `${s.skipped} skipped`,
      s.failed && paint.reap(`${s.failed} failed`),
    ].filter(Boolean);
    const host = hostChangeText(r);
    out.push(`${paint.bold(head)}${parts.length ? ` (${parts.join(", ")})` : ""}`, `${freedText(r)}${host ? `; ${host}` : ""}`);
  }
  return out.join("\n");
}

/** `agent:main:main (main, live): started 0.4 s into ...` or `unattributed: started in no session's first turn`. */
function sessionText(inst: PlannedInstance): string {
  const s = inst.session;
  if (!s) return "";
  if (s.state === "unattributed") return `unattributed: ${safe(s.evidence)}`;
  if (s.key === null) return `${s.state}: ${safe(s.evidence)}`;
  return `${safe(shortKey(s.key))} (${s.kind}, ${s.state}): ${safe(s.evidence)}`;
}

/** Which host configs were read, and how the orphan search went. */
function serverHeader(r: PassResult, paint: Paint): string[] {
  const out: string[] = [];
  for (const c of r.configs ?? []) {
    const how = c.how === "option" ? "--mcp-config" : c.how;
    out.push(paint.dim(`  config ${safe(c.path)} (${how}): ${c.error === null ? `${c.servers} stdio server${c.servers === 1 ? "" : "s"}` : safe(c.error)}`));
  }
  const ss = r.plan.sessions;
  if (ss) out.push(paint.dim(`  sessions: ${ss.host} ${safe(ss.layout)}, ${ss.sessions} session${ss.sessions === 1 ? "" : "s"} that may own an instance, ${ss.transcriptsRead} transcript${ss.transcriptsRead === 1 ? "" : "s"} read (${ss.sources.map(safe).join(", ")})`));
  const o = r.orphanScan;
  if (o) {
    const gaps = [!o.socketPeers && "no socket peers (ss failed, or listed none of these sockets with a peer): reach unknown", !o.fdsComplete && "some fds unreadable: unreachability unprovable"].filter(Boolean);
    out.push(paint.dim(`  orphan search over ${o.processes} processes${gaps.length ? ` (${gaps.join("; ")})` : ""}`));
  }
  return out;
}

/** An OpenClaw gateway's idle TTL, its runtime slots against the limit, and --release-sessions' calls. */
function openclawLines(r: PassResult, paint: Paint): string[] {
  const o = r.openclaw;
  if (!o) return [];
  const out: string[] = [""];
  if (o.ttl) out.push(o.ttl.off ? paint.warn(`openclaw: ${safe(o.ttl.text)}`) : paint.dim(`openclaw: ${safe(o.ttl.text)}`));
  if (o.runtimes) out.push(o.runtimes.near ? paint.warn(`openclaw: ${o.runtimes.text}`) : paint.dim(`openclaw: ${o.runtimes.text} (limit from ${safe(o.runtimes.source)})`));
  for (const x of o.releases ?? []) {
    const what = `${safe(shortKey(x.key))} (${x.method}, servers ${x.rootPids.join(", ")})`;
    if (x.outcome === "released") out.push(`released ${what} in ${x.durationMs}ms`);
    else if (x.outcome === "would-release") out.push(paint.dim(`would release ${what}`));
    else out.push(paint.reap(`release FAILED ${what}: ${safe(x.error ?? "no answer")}`));
  }
  for (const x of o.releaseSkipped) out.push(paint.dim(`not released ${safe(shortKey(x.key))}: ${safe(x.why)}`));
  return out.length === 1 ? [] : out;
}

/** Wrapper layers passed through, and MCP-looking processes outside the tree that were left alone. */
function serverFooter(r: PassResult, paint: Paint): string[] {
  const out: string[] = [];
  const wrappers = r.plan.wrappers ?? [];
  if (wrappers.length > 0) {
    out.push("", paint.dim("wrapper layers (not servers, never touched):"));
    for (const w of wrappers) out.push(paint.dim(`  ${w.pid} ${w.kind} ${commandLine(w.argv, 80)}`));
  }
  for (const n of r.plan.nested ?? []) out.push("", paint.dim(`gateway ${n.pid} (under ${n.ppid}) is a gateway of its own: reported on its own, never touched here`));
  const left = r.plan.orphansLeft ?? [];
  if (left.length > 0) {
    out.push("", paint.dim(r.plan.scope === "host" ? "left alone under pid 1 or a subreaper:" : "outside the tree, left alone (not this gateway's):"));
    for (const c of left) out.push(paint.dim(`  ${c.rootPid} ${commandLine(c.argv, 80)}  (${safe(c.reason)})`));
  }
  return out;
}

/** One event as text: a pass as the full report, anything else as one line. */
export function formatHuman(event: ReportEvent, paint: Paint = PLAIN): string {
  if (event.kind === "pass") return formatPass(event.result, paint);
  const tag = event.kind === "error" ? paint.reap("error") : event.kind === "warning" ? paint.warn("warning") : paint.dim("info");
  return `${tag}: ${safe(event.message)}`;
}
