// Runs the real OpenClaw gateway offline (a mock model on 127.0.0.1, real stdio MCP servers) in a temp
// state dir, with helpers for the turns issue 9's tests need and a clean-up that kills its whole tree.
import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findByEnv, killTree } from "../../src/demo/procfs.js";
import { parseUptimeMs } from "../../src/proc/parse.js";
import { listPids, readCmdline, readStatOrNull, readText } from "../../src/proc/read.js";
import { MockModel } from "./mock-model.js";

/** One installed gateway version (paths from test/openclaw/install.sh). */
export interface Install {
  version: string;
  /** The Node binary it runs on (22.x for 2026.4, 24.x for 2026.9). */
  node: string;
  /** The openclaw package directory (has openclaw.mjs and dist/). */
  pkg: string;
  memoryServer: string;
  filesystemServer: string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** test/openclaw/install.sh in the source tree (this file runs from dist/test/openclaw/). */
export const INSTALL_SH = join(here, "..", "..", "..", "test", "openclaw", "install.sh");

/** The cached installs, or why there are none (install.sh --print: exit 3 with a `skip:` line). */
export async function cachedInstalls(): Promise<{ old: Install; new: Install } | { skip: string }> {
  const r = await run("bash", [INSTALL_SH, "--print"], { timeoutMs: 30_000 });
  if (r.code !== 0) return { skip: r.stderr.trim().split("\n").pop() ?? `install.sh --print exited ${r.code}` };
  const kv = new Map(r.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
  const get = (k: string) => kv.get(k) ?? "";
  const servers = { memoryServer: get("MCP_SERVER_MEMORY"), filesystemServer: get("MCP_SERVER_FILESYSTEM") };
  return {
    old: { version: get("OPENCLAW_OLD_VERSION"), node: get("OPENCLAW_OLD_NODE"), pkg: get("OPENCLAW_OLD_PKG"), ...servers },
    new: { version: get("OPENCLAW_NEW_VERSION"), node: get("OPENCLAW_NEW_NODE"), pkg: get("OPENCLAW_NEW_PKG"), ...servers },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end (killed after timeoutMs), never throwing. */
export function run(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string }): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { env: o.env ?? process.env, timeout: o.timeoutMs, maxBuffer: 64 << 20, cwd: o.cwd, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - t0 });
    });
  });
}

/** Bounded poll (every 100 ms): resolves with the first truthy value, throws naming what it waited for. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs: number): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`not after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One process as a fixture records it. */
export interface ProcRecord {
  pid: number;
  ppid: number;
  pgid: number;
  /** Session id (stat field 6): a process with sid === pid is a session leader (detached with setsid). */
  sid: number;
  state: string;
  comm: string;
  /** Start time after boot in clock ticks (stat field 22). */
  startTicks: number;
  rssKb: number;
  argv: string[];
}

/** A process tree taken at one moment, with what turns start ticks into wall-clock ms. */
export interface TreeRecord {
  /** Date.now() when the walk began. */
  wallMs: number;
  /** /proc/uptime at the same moment, in ms (boot wall time = wallMs - uptimeMs). */
  uptimeMs: number;
  /** /proc/stat btime (s since the epoch; whole seconds only). */
  btime: number;
  /** sysconf(_SC_CLK_TCK): start ticks per second. */
  clockTicks: number;
  rootPid: number;
  procs: ProcRecord[];
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux build the tests run on (getconf CLK_TCK)

function sidOf(pid: number): number {
  const text = readText(`/proc/${pid}/stat`);
  if (!text) return -1;
  return Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[3]); // state ppid pgrp session
}

/** The live tree under (and including) root, parents before children. */
export function treeOf(root: number): TreeRecord {
  const wallMs = Date.now();
  const uptimeMs = parseUptimeMs(readText("/proc/uptime") ?? "0 0");
  const btime = Number(/btime (\d+)/.exec(readText("/proc/stat") ?? "")?.[1] ?? 0);
  const stats = listPids("/proc").map((pid) => readStatOrNull("/proc", pid)).filter((s) => s !== null);
  const procs: ProcRecord[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const s = stats.find((x) => x.pid === pid);
    if (!s) continue;
    procs.push({ pid, ppid: s.ppid, pgid: s.pgid, sid: sidOf(pid), state: s.state, comm: s.comm, startTicks: s.startTicks, rssKb: s.rssPages * 4, argv: readCmdline("/proc", pid) ?? [] });
    for (const c of stats) if (c.ppid === pid) queue.push(c.pid);
  }
  return { wallMs, uptimeMs, btime, clockTicks: CLOCK_TICKS, rootPid: root, procs };
}

/** Wall-clock ms at which a process with these start ticks started, per a tree record's clocks. */
export function startedAtMs(rec: Pick<TreeRecord, "wallMs" | "uptimeMs" | "clockTicks">, startTicks: number): number {
  return rec.wallMs - rec.uptimeMs + (startTicks * 1000) / rec.clockTicks;
}

/** The MCP server processes of a tree (their argv names the server's dist/index.js). */
export function servers(tree: TreeRecord, inst: Install): ProcRecord[] {
  return tree.procs.filter((p) => p.argv.includes(inst.memoryServer) || p.argv.includes(inst.filesystemServer));
}

export interface GatewayOptions {
  port: number;
  mockPort: number;
  /** Also configure the filesystem server (a second server type). */
  filesystem?: boolean;
  /** Extra top-level config merged in (e.g. { mcp: { sessionIdleTtlMs } } is merged into mcp). */
  mcpExtra?: Record<string, unknown>;
}

let counter = 0;

export class Gateway {
  /** The `openclaw-gateway` process (in 2026.4.x the child of the launcher we spawned). */
  gatewayPid = 0;
  readonly marker: string;
  readonly dir: string;
  readonly stateDir: string;
  readonly configPath: string;
  readonly env: NodeJS.ProcessEnv;
  readonly model: MockModel;
  readonly token = "gw-token-0123456789abcdef";
  readonly hooksToken = "hooks-token-0123456789abcdef";
  private launcherPid = 0;
  private readonly logPath: string;

  private constructor(
    readonly inst: Install,
    readonly o: GatewayOptions,
  ) {
    this.marker = `openclaw-real-${process.pid}-${++counter}`;
    this.dir = mkdtempSync(join(tmpdir(), "mcp-reaper-openclaw-"));
    this.stateDir = join(this.dir, "state");
    this.configPath = join(this.dir, "openclaw.json");
    this.logPath = join(this.dir, "gateway.log");
    mkdirSync(join(this.dir, "home"));
    mkdirSync(join(this.dir, "files"));
    writeFileSync(join(this.dir, "files", "hello.txt"), "hello\n");
    this.model = new MockModel(o.mockPort, join(this.dir, "files"), process.env.OPENCLAW_MOCK_DUMP ? this.dir : null);
    this.env = {
      PATH: `${dirname(inst.node)}:/usr/local/bin:/usr/bin:/bin`,
      HOME: join(this.dir, "home"),
      OPENCLAW_STATE_DIR: this.stateDir,
      OPENCLAW_CONFIG_PATH: this.configPath,
      NO_COLOR: "1",
      TZ: "UTC",
      LANG: "C.UTF-8",
      MCP_REAPER_WORLD: this.marker,
    };
  }

  static async start(inst: Install, o: GatewayOptions): Promise<Gateway> {
    const gw = new Gateway(inst, o);
    try {
      await gw.model.start();
      gw.writeConfig();
      await gw.launch();
    } catch (err) {
      await gw.stop();
      throw err;
    }
    return gw;
  }

  private writeConfig(): void {
    const serverEnv = { MCP_REAPER_WORLD: this.marker };
    const servers: Record<string, unknown> = {
      memory: { command: this.inst.node, args: [this.inst.memoryServer], env: { ...serverEnv, MEMORY_FILE_PATH: join(this.dir, "memory.jsonl") } },
    };
    if (this.o.filesystem) servers.filesystem = { command: this.inst.node, args: [this.inst.filesystemServer, join(this.dir, "files")], env: serverEnv };
    const config = {
      gateway: {
        mode: "local",
        port: this.o.port,
        bind: "loopback",
        auth: { mode: "token", token: this.token },
        http: { endpoints: { chatCompletions: { enabled: true } } },
      },
      hooks: { enabled: true, token: this.hooksToken, path: "/hooks" },
      discovery: { mdns: { mode: "off" } },
      logging: { file: join(this.dir, "openclaw.log") },
      update: { checkOnStart: false },
      cron: { enabled: true },
      models: {
        providers: {
          mock: {
            baseUrl: `http://127.0.0.1:${this.o.mockPort}/v1`,
            apiKey: "x",
            api: "openai-completions",
            models: [{ id: "mock-model", name: "Mock", reasoning: false, input: ["text"], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 128000, maxTokens: 4096 }],
          },
        },
      },
      agents: { defaults: { model: { primary: "mock/mock-model" }, heartbeat: { every: "0m" }, workspace: join(this.dir, "workspace") } },
      // 2026.9 hides MCP tools behind Tool Search by default; offer their schemas to the model directly.
      ...(this.inst.version.startsWith("2026.4.") ? {} : { tools: { toolSearch: false } }),
      mcp: { servers, ...(this.o.mcpExtra ?? {}) },
    };
    writeFileSync(this.configPath, JSON.stringify(config, null, 2));
  }

  private async launch(): Promise<void> {
    const log = openSync(this.logPath, "a");
    const child = spawn(this.inst.node, [join(this.inst.pkg, "openclaw.mjs"), "gateway", "--port", String(this.o.port), "--bind", "loopback"], {
      env: this.env,
      cwd: this.dir,
      stdio: ["ignore", log, log],
      detached: true,
    });
    closeSync(log);
    child.unref();
    this.launcherPid = child.pid ?? 0;
    await waitFor("the gateway's `[gateway] ... ready` line", () => {
      if (readStatOrNull("/proc", this.launcherPid) === null) throw new Error(`the gateway exited during start-up:\n${this.logTail()}`);
      return /\[gateway\] ready\b/.test(this.log());
    }, 120_000);
    const tree = treeOf(this.launcherPid);
    const gw = tree.procs.find((p) => p.comm === "openclaw-gatewa");
    if (!gw) throw new Error(`no openclaw-gateway process under ${this.launcherPid}: ${tree.procs.map((p) => p.comm).join(", ")}`);
    this.gatewayPid = gw.pid;
  }

  /** The gateway's output so far, ANSI colours stripped. */
  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, "utf8").replace(/\x1b\[[0-9;]*m/g, "") : "";
  }

  logTail(lines = 30): string {
    return this.log().split("\n").slice(-lines).join("\n");
  }

  /** The OpenClaw CLI of this install, pointed at this gateway's state and config. */
  cli(args: string[], timeoutMs = 120_000): Promise<RunResult> {
    return run(this.inst.node, [join(this.inst.pkg, "openclaw.mjs"), ...args], { env: this.env, timeoutMs, cwd: this.dir });
  }

  /** A fresh directive for the mock: the turn calls server's tool; the outcome is kept under the nonce. */
  static directive(server: string, tool: string): { nonce: string; text: string } {
    const nonce = `n${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    return { nonce, text: `Please run MCPCALL:${nonce}:${server}:${tool} and report.` };
  }

  /**
   * A main-session turn through the running gateway (`openclaw agent --agent main`). The CLI runs the turn
   * in-process when the gateway call fails, which would prove nothing about the gateway: that is an error.
   */
  async mainTurn(message: string, extra: string[] = []): Promise<RunResult> {
    const r = await this.cli(["agent", "--agent", "main", "--message", message, "--json", ...extra], 180_000);
    if (/falling back to embedded/i.test(r.stderr + r.stdout)) throw new Error(`openclaw agent fell back to an embedded run:\n${r.stderr.slice(-2000)}`);
    if (r.code !== 0) throw new Error(`openclaw agent exited ${r.code}:\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-1000)}`);
    return r;
  }

  /** An isolated run (POST /hooks/agent); retried while the endpoint is still coming up. Returns the response body. */
  async hookRun(message: string, name: string): Promise<unknown> {
    return waitFor("POST /hooks/agent answered 2xx", async () => {
      const res = await this.post("/hooks/agent", this.hooksToken, { message, name, wakeMode: "next-heartbeat", deliver: false });
      return res.ok ? (res.body ?? {}) : null;
    }, 60_000);
  }

  /** A stateless chat turn (POST /v1/chat/completions without `user`): a new session each call. */
  async chatTurn(message: string): Promise<unknown> {
    const res = await this.post("/v1/chat/completions", this.token, { model: "openclaw/default", messages: [{ role: "user", content: message }] }, 180_000);
    if (!res.ok) throw new Error(`chat completions answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
    return res.body;
  }

  /** `openclaw gateway call METHOD --params JSON` through the running gateway. */
  async call(method: string, params: unknown): Promise<RunResult> {
    // The CLI gives up after 10 s by default; a loaded 2026.4.9 gateway took longer to answer sessions.reset.
    const r = await this.cli(["gateway", "call", method, "--params", JSON.stringify(params), "--json", "--timeout", "120000"], 180_000);
    if (r.code !== 0) throw new Error(`gateway call ${method} exited ${r.code}: ${r.stderr.slice(-1000)}`);
    return r;
  }

  /** Gives the key a new sessionId (as /new does). */
  reset(key = "agent:main:main"): Promise<RunResult> {
    return this.call("sessions.reset", { key });
  }

  /** The tool result the turn with this nonce got back (waits for it). */
  async toolResult(nonce: string, timeoutMs = 60_000): Promise<string> {
    const outcome = await waitFor(`the tool result of ${nonce}`, () => {
      const o = this.model.outcomes.get(nonce);
      if (o && o.called === null) throw new Error(`the model was not offered the tool for ${nonce}; offered: ${o.offered.join(", ")}`);
      return o?.result != null ? o : null;
    }, timeoutMs);
    return outcome.result as string;
  }

  private async post(path: string, token: string, body: unknown, timeoutMs = 30_000): Promise<{ ok: boolean; status: number; body: unknown }> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.o.port}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { ok: res.ok, status: res.status, body: parsed };
    } catch (err) {
      return { ok: false, status: 0, body: String(err) };
    }
  }

  /** The gateway's tree now (rooted at openclaw-gateway). */
  tree(): TreeRecord {
    return treeOf(this.gatewayPid || this.launcherPid);
  }

  /** Kills the whole tree (also processes reparented away, found by the env marker), the mock, and the temp dir. */
  async stop(keepDir = false): Promise<void> {
    const launcher = this.launcherPid;
    await killTree({
      env: ["MCP_REAPER_WORLD", this.marker],
      root: () => (launcher && readStatOrNull("/proc", launcher) ? launcher : null),
      exclude: [process.pid],
      timeoutMs: 20_000,
      pollMs: 50,
    });
    await this.model.stop();
    const left = findByEnv("MCP_REAPER_WORLD", this.marker, [process.pid]);
    if (left.length > 0) throw new Error(`processes left after stop: ${left.map((s) => s.pid).join(" ")}`);
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
