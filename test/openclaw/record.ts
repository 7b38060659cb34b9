// Records fixtures from the real OpenClaw gateway: the session store and the process tree after each step
// of issue 9's scenario, into test/fixtures/openclaw/<version>/. Run by test/openclaw/record.sh (it needs
// Node >= 22.13 for node:sqlite); does nothing unless OPENCLAW_RECORD_OUT names the output directory, so
// a test runner that loads every file under dist/test/ never starts it.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cachedInstalls, Gateway, servers, startedAtMs, treeOf, waitFor, type Install, type TreeRecord } from "./gateway.js";

/** Long strings and big objects are cut so fixtures stay small; keys and scalars stay as they were. */
function trim(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.length > 240 ? `${value.slice(0, 160)}…[${value.length} chars]` : value;
  if (Array.isArray(value)) return value.length > 12 ? [...value.slice(0, 12).map((v) => trim(v, depth + 1)), `…[${value.length} items]`] : value.map((v) => trim(v, depth + 1));
  if (value && typeof value === "object") {
    const size = JSON.stringify(value).length;
    if (depth > 0 && size > 3000) return `[trimmed object: ${size} chars; keys ${Object.keys(value).join(",")}]`;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, trim(v, depth + 1)]));
  }
  return value;
}

/** First and last few lines of a JSONL transcript, each event trimmed. */
function transcriptEnds(path: string, n = 4): unknown {
  const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
  const parse = (l: string) => {
    try {
      return trim(JSON.parse(l));
    } catch {
      return `unparsable: ${l.slice(0, 100)}`;
    }
  };
  return { lines: lines.length, bytes: statSync(path).size, first: lines.slice(0, n).map(parse), last: lines.length > n ? lines.slice(-n).map(parse) : [] };
}

type Sqlite = { prepare(sql: string): { all(...a: unknown[]): Record<string, unknown>[]; get(...a: unknown[]): Record<string, unknown> | undefined }; close(): void };

async function openSqlite(path: string): Promise<Sqlite> {
  const mod = (await import("node:sqlite" as string)) as { DatabaseSync: new (p: string, o: object) => Sqlite };
  return new mod.DatabaseSync(path, { readOnly: true });
}

/** 2026.4.x: sessions.json (trimmed), every transcript's ends, and tasks/runs.sqlite's rows. */
async function storeOld(stateDir: string): Promise<unknown> {
  const dir = join(stateDir, "agents", "main", "sessions");
  const sessionsPath = join(dir, "sessions.json");
  const sessions = existsSync(sessionsPath) ? JSON.parse(readFileSync(sessionsPath, "utf8")) : null;
  const transcripts: Record<string, unknown> = {};
  for (const name of existsSync(dir) ? readdirSync(dir).sort() : []) {
    if (name !== "sessions.json") transcripts[name] = name.endsWith(".jsonl") ? transcriptEnds(join(dir, name)) : { bytes: statSync(join(dir, name)).size };
  }
  const runs = join(stateDir, "tasks", "runs.sqlite");
  let tasks: unknown = null;
  if (existsSync(runs)) {
    const db = await openSqlite(runs);
    try {
      const tables = db.prepare("select name, sql from sqlite_master where type = 'table'").all();
      tasks = Object.fromEntries(tables.map((t) => [String(t.name), { sql: t.sql, rows: db.prepare(`select * from "${String(t.name)}"`).all().map((r) => trim({ ...r })) }]));
    } finally {
      db.close();
    }
  }
  return { sessionsJsonBytes: existsSync(sessionsPath) ? statSync(sessionsPath).size : null, sessionsJson: trim(sessions), transcripts, tasksRunsSqlite: tasks };
}

/** 2026.9.x: session_nodes and session_windows rows (entry_json parsed and trimmed), transcript event counts. */
async function storeNew(stateDir: string): Promise<unknown> {
  const path = join(stateDir, "agents", "main", "agent", "openclaw-agent.sqlite");
  if (!existsSync(path)) return { file: null, why: "no agent database yet (it is created on the first turn)" };
  const db = await openSqlite(path);
  try {
    const nodes = db.prepare("select * from session_nodes order by created_at").all().map((r) => {
      const { entry_json, ...rest } = r;
      let entry: unknown = entry_json;
      try {
        entry = JSON.parse(String(entry_json));
      } catch {
        // keep the text
      }
      return { ...rest, entry_json: trim(entry) };
    });
    const windows = db.prepare("select * from session_windows order by created_at").all().map((r) => ({ ...r }));
    const events = db.prepare("select session_id, count(*) as n, min(created_at) as first_at, max(created_at) as last_at from transcript_events group by session_id").all().map((r) => ({ ...r }));
    const firstUser = db
      .prepare("select session_id, min(created_at) as first_user_at from transcript_events where event_json like '%\"role\":\"user\"%' group by session_id")
      .all()
      .map((r) => ({ ...r }));
    return { file: path.slice(stateDir.length + 1), session_nodes: nodes, session_windows: windows, transcript_events: events, first_user_event: firstUser };
  } finally {
    db.close();
  }
}

/** Table schemas of the 2026.9 agent database (the tables the adapter reads, and transcript_events). */
async function schemaNew(stateDir: string): Promise<unknown> {
  const db = await openSqlite(join(stateDir, "agents", "main", "agent", "openclaw-agent.sqlite"));
  try {
    const all = db.prepare("select name, type, sql from sqlite_master where name not like 'sqlite_autoindex%' order by name").all();
    const wanted = new Set(["session_nodes", "session_windows", "transcript_events", "schema_meta"]);
    return {
      tables: all.filter((t) => t.type === "table").map((t) => t.name),
      sql: Object.fromEntries(all.filter((t) => wanted.has(String(t.name)) || (t.type === "index" && /session_(nodes|windows)/.test(String(t.sql)))).map((t) => [t.name, t.sql])),
      schema_meta: db.prepare("select * from schema_meta").all().map((r) => ({ ...r })),
    };
  } finally {
    db.close();
  }
}

/** Every process seen under the gateway while recording, polled every 100 ms: short-lived chains too. */
class Watcher {
  // argv and comm change in a process's first second (a fork shows its parent's argv until it execs; `sh -c
  // 'exec ...'` becomes the server; Node 24 renames its main thread `MainThread`): first and last are kept.
  readonly seen = new Map<string, { pid: number; ppid: number; sid: number; comm: string; commLast: string; startTicks: number; startedAtMs: number; argv: string[]; argvLast: string[]; firstSeenMs: number; lastSeenMs: number }>();
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly root: () => number) {}
  start(): void {
    const tick = () => {
      const t: TreeRecord = treeOf(this.root());
      for (const p of t.procs) {
        const key = `${p.pid}:${p.startTicks}`;
        const s = this.seen.get(key);
        // A process read while it exits has no argv and no sid: keep what was last read whole.
        if (s) Object.assign(s, { lastSeenMs: t.wallMs, ppid: p.ppid }, p.argv.length > 0 && p.sid > 0 ? { argvLast: p.argv, commLast: p.comm, sid: p.sid } : {});
        else this.seen.set(key, { pid: p.pid, ppid: p.ppid, sid: p.sid, comm: p.comm, commLast: p.comm, startTicks: p.startTicks, startedAtMs: Math.round(startedAtMs(t, p.startTicks)), argv: p.argv, argvLast: p.argv, firstSeenMs: t.wallMs, lastSeenMs: t.wallMs });
      }
    };
    this.timer = setInterval(tick, 100);
    tick();
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

async function record(inst: Install, out: string, isNew: boolean, port: number, mockPort: number): Promise<void> {
  mkdirSync(out, { recursive: true });
  const gw = await Gateway.start(inst, { port, mockPort, filesystem: true });
  const watcher = new Watcher(() => gw.gatewayPid);
  const steps: { step: string; at: number; note?: unknown }[] = [];
  const snap = async (step: string, note?: unknown) => {
    // Store and tree at one moment: the tree right before and after the store read bound the store's time.
    const tree = gw.tree();
    const store = isNew ? await storeNew(gw.stateDir) : await storeOld(gw.stateDir);
    const after = Date.now();
    const rel = (s: string) => s.split(gw.dir).join("$DIR").split(inst.pkg).join("$PKG").split(inst.node).join("$NODE");
    const fixture = { version: inst.version, step, note, storeReadBetweenMs: [tree.wallMs, after], tree, store };
    writeFileSync(join(out, `${step}.json`), rel(JSON.stringify(fixture, null, 1)) + "\n");
    steps.push({ step, at: tree.wallMs, note });
    console.error(`[${inst.version}] ${step}: ${servers(tree, inst).length} servers, ${tree.procs.length} processes`);
  };
  /** Waits until the gateway's tree stops changing for `quietMs` (a finished run's chain has gone or stayed). */
  const settle = async (quietMs = 2500) => {
    let last = "";
    let since = Date.now();
    await waitFor("the gateway's tree to settle", () => {
      const sig = gw.tree().procs.map((p) => `${p.pid}:${p.startTicks}`).join(",");
      if (sig !== last) {
        last = sig;
        since = Date.now();
      }
      return Date.now() - since >= quietMs;
    }, 60_000);
  };
  try {
    watcher.start();
    await snap("0-started");
    const turns: Record<string, unknown> = {};
    const d1 = Gateway.directive("memory", "create_entities");
    const r1 = await gw.mainTurn(d1.text);
    turns.mainTurn1 = { nonce: d1.nonce, cliMs: r1.ms, result: await gw.toolResult(d1.nonce), outcome: gw.model.outcomes.get(d1.nonce) };
    await settle();
    await snap("a-main-tool-turn", turns.mainTurn1);

    const plain = await gw.mainTurn("Just say hello, no tools.");
    await settle();
    await snap("a2-main-plain-turn", { cliMs: plain.ms });

    const hooks = [];
    for (let i = 1; i <= 3; i++) {
      const d = Gateway.directive("memory", "read_graph");
      const body = await gw.hookRun(d.text, `hook-${i}`);
      const result = await gw.toolResult(d.nonce, 120_000);
      await settle();
      hooks.push({ nonce: d.nonce, response: body, result: result.slice(0, 200), outcome: gw.model.outcomes.get(d.nonce) });
    }
    await snap("b-three-hook-runs", hooks);

    if (isNew) {
      const chats = [];
      for (let i = 1; i <= 3; i++) {
        const d = Gateway.directive("memory", "read_graph");
        const body = await gw.chatTurn(d.text);
        const result = await gw.toolResult(d.nonce);
        await settle();
        chats.push({ nonce: d.nonce, response: trim(body), result: result.slice(0, 200), outcome: gw.model.outcomes.get(d.nonce) });
      }
      await snap("c-three-stateless-chat-turns", chats);
    }

    const reset = await gw.reset("agent:main:main");
    await settle();
    await snap("d1-after-reset", { stdout: trim(reset.stdout) });
    const d2 = Gateway.directive("memory", "read_graph");
    const r2 = await gw.mainTurn(d2.text);
    const res2 = await gw.toolResult(d2.nonce);
    await settle();
    await snap("d2-main-tool-turn-after-reset", { nonce: d2.nonce, cliMs: r2.ms, result: res2.slice(0, 300) });
    const d3 = Gateway.directive("memory", "read_graph");
    const r3 = await gw.mainTurn(d3.text);
    const res3 = await gw.toolResult(d3.nonce);
    await settle();
    await snap("d3-second-main-tool-turn-after-reset", { nonce: d3.nonce, cliMs: r3.ms, result: res3.slice(0, 300) });
    if (isNew) writeFileSync(join(out, "schema.json"), JSON.stringify(await schemaNew(gw.stateDir), null, 1) + "\n");
  } finally {
    watcher.stop();
    const rel = (s: string) => s.split(gw.dir).join("$DIR").split(inst.pkg).join("$PKG").split(inst.node).join("$NODE");
    writeFileSync(join(out, "processes-seen.json"), rel(JSON.stringify({ steps, seen: [...watcher.seen.values()] }, null, 1)) + "\n");
    writeFileSync(join(out, "gateway-log.txt"), rel(gw.log().split("\n").filter((l) => !/skills|plugin-skills/.test(l)).join("\n")));
    await gw.stop(process.env.OPENCLAW_KEEP_DIR === "1");
    if (process.env.OPENCLAW_KEEP_DIR === "1") console.error(`state kept in ${gw.dir}`);
  }
}

const out = process.env.OPENCLAW_RECORD_OUT;
if (out) {
  const which = process.env.OPENCLAW_RECORD_WHICH === "old" ? "old" : "new";
  const installs = await cachedInstalls();
  if ("skip" in installs) {
    console.error(installs.skip);
    process.exit(3);
  }
  const inst = installs[which];
  await record(inst, join(out, inst.version), which === "new", Number(process.env.OPENCLAW_PORT ?? 18720), Number(process.env.OPENCLAW_MOCK_PORT ?? 18791));
}
