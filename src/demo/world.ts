// A real-process "world" for `mcp-reaper demo` and integration tests: a fake leaky gateway whose
// sessions start fake MCP servers through real wrapper chains, plus readiness waits and full clean-up.
import { fork, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findByEnv, killTree } from "./procfs.js";
import {
  ENV,
  SERVER_TYPES,
  readyFileName,
  type GatewayConfig,
  type GatewayEvent,
  type GatewayRequest,
  type ReadyRecord,
  type ServerTypeName,
} from "./protocol.js";
import { PYTHON_SERVER, npxScript, uvScript } from "./scripts.js";

export { SERVER_TYPES, type ServerTypeName } from "./protocol.js";

export interface WorldOptions {
  /** Sessions the gateway starts at once when it starts. Default 3. */
  sessions?: number;
  /** Server types each session starts. Default all: ["yfinance", "fetch", "filesystem"]. */
  types?: ServerTypeName[];
  /** This type's server records SIGTERM but ignores it (and stays after stdin EOF). Default null. */
  ignoreTermType?: ServerTypeName | null;
  /** The gateway also starts one non-MCP child, `node .../worker.js`, that must never be touched. Default true. */
  decoy?: boolean;
  /** process.title of the gateway; /proc/PID/comm shows its first 15 bytes. Default "fake-gateway". */
  gatewayTitle?: string;
  /** Working dir for ready files, signal logs, pidfile and scripts. Default: a fresh mkdtemp dir, removed by stop(). */
  dir?: string;
  /** python3 that runs the yfinance server; null forces its node twin. Default: the fastest working python3 found. */
  python?: string | null;
  /** Bound on every readiness wait (start, startSession). Default 15000 ms. */
  readyTimeoutMs?: number;
  /** Bound on stop() waiting for every process to be gone. Default 5000 ms. */
  stopTimeoutMs?: number;
}

export interface ServerRecord extends ReadyRecord {
  /** The gateway's direct child for this server (uv, sh or npx): the root of its instance. */
  rootPid: number;
  /** Path of the ready file the server wrote. */
  readyFile: string;
}

export interface World {
  gatewayPid: number;
  /** The decoy worker's pid, or null with `decoy: false`. */
  decoyPid: number | null;
  dir: string;
  /** File holding the gateway pid. */
  pidfile: string;
  /** stderr of every process the gateway started (shells print "Killed" there when a server is killed). */
  stderrLog: string;
  /** Value of env MCP_REAPER_WORLD in every process of this world. */
  marker: string;
  /** python3 that runs the yfinance server, or null when it falls back to the node server. */
  python: string | null;
  /** Servers that have written their ready file, sorted by session then type ([] once stop() removed the dir). */
  servers(): ServerRecord[];
  /** Ask the gateway for one more session; resolves with its number once all its servers are ready. */
  startSession(): Promise<number>;
  /** Gateway writes a JSON-RPC ping to that server's stdin and waits for the reply. Default timeout 2000 ms. */
  ping(session: number, type: ServerTypeName, timeoutMs?: number): Promise<boolean>;
  /** pid -> signal names the fake servers recorded, appended before acting ({} once stop() removed the dir). */
  signalsSeen(): Record<number, string[]>;
  /** Every live process carrying this world's marker, including ones reparented away from the gateway. */
  livePids(): number[];
  /** SIGKILL everything this world started, wait until it is gone, remove the dir if we made it. Idempotent. */
  stop(): Promise<void>;
}

/** A request without its id, which request() assigns; and the events that answer a request. */
type RequestBody = GatewayRequest extends infer R ? (R extends GatewayRequest ? Omit<R, "id"> : never) : never;
type Reply = Extract<GatewayEvent, { id: number }>;

/** Entries of a world subdir; none once stop() has removed a dir it created. */
function entries(path: string): string[] {
  try {
    return readdirSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** Last lines of a log, or "" if there is none. */
function readTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const POLL_MS = 15; // readiness polling: a ready file usually appears within 20-150 ms of spawn

/** Fastest working python3: /usr/bin first (a pyenv shim costs ~100 ms more per start), then PATH. */
function findPython(): string | null {
  const onPath = (process.env.PATH ?? "").split(delimiter).filter(Boolean).map((d) => join(d, "python3"));
  for (const candidate of ["/usr/bin/python3", "/usr/local/bin/python3", ...onPath]) {
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    // A shim for an uninstalled version is executable but fails: run it once to be sure.
    if (spawnSync(candidate, ["-S", "-c", ""], { stdio: "ignore", timeout: 5000 }).status === 0) return candidate;
  }
  return null;
}

function writeExecutable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/** Poll `missing()` until it returns null; it names what is still missing, or throws to fail early. */
async function waitUntil(missing: () => string | null, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = missing();
    if (left === null) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms: ${left}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const types = [...(opts.types ?? SERVER_TYPES)];
  const sessions = opts.sessions ?? 3;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 5_000;
  if (!Number.isInteger(sessions) || sessions < 0) throw new RangeError(`sessions must be an integer >= 0, got ${sessions}`);

  // No "mcp" in the dir name: only the servers' own names may make something look like MCP.
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "reaper-world-"));
  const bin = join(dir, "bin");
  // Stale ready files from an earlier world in a reused dir would fake readiness.
  for (const sub of ["ready", "signals"]) rmSync(join(dir, sub), { recursive: true, force: true });
  for (const sub of ["bin", "ready", "signals"]) mkdirSync(join(dir, sub), { recursive: true });

  const node = process.execPath;
  const mcpServerJs = here("./mcp-server.js");
  const python = opts.python === undefined ? findPython() : opts.python;
  const yfinanceServer = join(bin, "mcp-yfinance-server");
  writeExecutable(yfinanceServer, `#!${python ?? "/usr/bin/env python3"}\n${PYTHON_SERVER}`);
  writeExecutable(join(bin, "uv"), uvScript(python ? [python, "-S", yfinanceServer] : [node, mcpServerJs]));
  writeExecutable(join(bin, "npx"), npxScript(node, here("./npx-shim.js")));

  const marker = `${process.pid}-${randomBytes(8).toString("hex")}`;
  const pidfile = join(dir, "gateway.pid");
  const stderrLog = join(dir, "stderr.log");
  const config: GatewayConfig = {
    marker,
    dir,
    sessions,
    types,
    ignoreTermType: opts.ignoreTermType ?? null,
    decoy: opts.decoy ?? true,
    title: opts.gatewayTitle ?? "fake-gateway",
    pidfile,
    ownsDir: ownDir,
    stderrLog,
    node,
    mcpServerJs,
    workerJs: here("./worker.js"),
  };
  const gateway: ChildProcess = fork(here("./gateway.js"), [], {
    execArgv: [], // not the test runner's flags
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    detached: false,
    env: {
      ...process.env,
      [ENV.marker]: marker,
      [ENV.dir]: dir,
      [ENV.gatewayConfig]: JSON.stringify(config),
      PATH: [bin, process.env.PATH ?? ""].join(delimiter),
    },
  });
  // The world must not keep its owner alive: if the owner exits without stop(), the gateway sees the
  // IPC channel close and kills its own tree (stop() does not rely on that).
  gateway.unref();
  gateway.channel?.unref();
  const gatewayPid = gateway.pid;
  if (gatewayPid === undefined) throw new Error("startWorld: could not fork the gateway");

  const roots = new Map<string, number>();
  const failures = new Map<string, string>(); // session-type -> why it will never be ready
  const replies = new Map<number, (event: Reply | null) => void>(); // null: the gateway is gone
  let started: { sessions: number[]; decoyPid: number | null } | null = null;
  let gatewayGone: string | null = null;
  let lastRequestId = 0;
  gateway.on("error", (error) => {
    gatewayGone ??= `gateway failed: ${error.message}`;
  });
  const gatewayExit = new Promise<void>((resolve) => {
    gateway.once("exit", (code, signal) => {
      gatewayGone = `gateway exited (code ${code}, signal ${signal})`;
      for (const reply of replies.values()) reply(null);
      resolve();
    });
  });
  gateway.on("message", (event: GatewayEvent) => {
    const where = "session" in event ? `${event.session}-${"type" in event ? event.type : ""}` : "";
    switch (event.kind) {
      case "started":
        started = { sessions: event.sessions, decoyPid: event.decoyPid };
        break;
      case "spawned":
        roots.set(where, event.rootPid);
        break;
      case "exited":
        failures.set(where, `exited (code ${event.code}, signal ${event.signal})`);
        break;
      case "spawnError":
        failures.set(where, `could not spawn: ${event.message}`);
        break;
      case "sessionStarted":
      case "pong":
        replies.get(event.id)?.(event);
        break;
    }
  });

  function request(body: RequestBody, timeoutMs: number): Promise<Reply> {
    const id = ++lastRequestId;
    return new Promise((resolve, reject) => {
      if (gatewayGone !== null || !gateway.connected) return reject(new Error(`${body.kind}: ${gatewayGone ?? "gateway disconnected"}`));
      const timer = setTimeout(() => {
        replies.delete(id);
        reject(new Error(`${body.kind}: no reply from the gateway within ${timeoutMs} ms`));
      }, timeoutMs);
      replies.set(id, (event) => {
        clearTimeout(timer);
        replies.delete(id);
        if (event === null) reject(new Error(`${body.kind}: ${gatewayGone}`));
        else resolve(event);
      });
      gateway.send({ ...body, id } as GatewayRequest);
    });
  }

  /** Null when every server of `sessions` has its ready file and known root; else what is missing. */
  function missingServers(sessionList: number[]): string | null {
    const ready = new Set(readdirSync(join(dir, "ready")));
    const missing: string[] = [];
    for (const session of sessionList) {
      for (const type of types) {
        const k = `${session}-${type}`;
        const failure = failures.get(k);
        if (failure && !ready.has(readyFileName(session, type))) throw new Error(`${type} of session ${session} ${failure} before it was ready`);
        if (!ready.has(readyFileName(session, type)) || !roots.has(k)) missing.push(`${type} of session ${session}`);
      }
    }
    if (gatewayGone !== null) throw new Error(`${gatewayGone} while waiting for ${missing.join(", ") || "its start"}`);
    return missing.length ? missing.join(", ") : null;
  }

  function servers(): ServerRecord[] {
    const records: ServerRecord[] = [];
    for (const name of entries(join(dir, "ready"))) {
      if (!/^\d+-[a-z]+\.json$/.test(name)) continue; // skips decoy.json and *.tmp
      const readyFile = join(dir, "ready", name);
      const record = JSON.parse(readFileSync(readyFile, "utf8")) as ReadyRecord;
      const rootPid = roots.get(`${record.session}-${record.type}`);
      if (rootPid !== undefined) records.push({ ...record, rootPid, readyFile });
    }
    return records.sort((a, b) => a.session - b.session || types.indexOf(a.type) - types.indexOf(b.type));
  }

  function signalsSeen(): Record<number, string[]> {
    const seen: Record<number, string[]> = {};
    for (const name of entries(join(dir, "signals"))) {
      const pid = Number(name.replace(/\.log$/, ""));
      seen[pid] = readFileSync(join(dir, "signals", name), "utf8").split("\n").filter(Boolean);
    }
    return seen;
  }

  const livePids = (): number[] => findByEnv(ENV.marker, marker).map((p) => p.pid);

  async function sweep(): Promise<void> {
    // Marker finds escaped and reparented processes; the ppid walk from the gateway catches anything
    // that dropped its env. The gateway is our unreaped child until its exit event, so its pid is safe.
    await killTree({
      env: [ENV.marker, marker],
      root: () => (gatewayGone === null ? gatewayPid! : null),
      exclude: [process.pid],
      timeoutMs: stopTimeoutMs,
      pollMs: POLL_MS,
    }).catch((error: Error) => {
      throw new Error(`stop: ${error.message}`);
    });
    // The child and its channel are unref'd so a world never keeps its owner alive; while stop() waits
    // for the exit it must, or Node could end the owner's run mid-wait. A ref'd, cleared timer holds it.
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([gatewayExit, new Promise((resolve) => (bound = setTimeout(resolve, stopTimeoutMs)))]);
    clearTimeout(bound);
    if (gateway.connected) gateway.disconnect();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  }
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= sweep());

  /** The failure, with the tail of the children's stderr (usually the real cause) when there is one. */
  function withStderr(error: unknown): unknown {
    const tail = readTail(stderrLog);
    return tail && error instanceof Error ? new Error(`${error.message}\nstderr of the world's processes:\n${tail}`) : error;
  }

  function missingAtStart(): string | null {
    if (started === null) return missingServers([]) ?? "the gateway's start message"; // throws if it died
    const servers = missingServers(started.sessions);
    if (servers !== null) return servers;
    return config.decoy && !readdirSync(join(dir, "ready")).includes("decoy.json") ? "decoy worker" : null;
  }
  try {
    await waitUntil(missingAtStart, readyTimeoutMs, "startWorld");
  } catch (error) {
    const failure = withStderr(error); // read before stop() removes the dir
    await stop().catch(() => undefined);
    throw failure;
  }

  return {
    gatewayPid,
    decoyPid: started!.decoyPid,
    dir,
    pidfile,
    stderrLog,
    marker,
    python,
    servers,
    async startSession() {
      const reply = await request({ kind: "startSession" }, readyTimeoutMs);
      if (reply.kind !== "sessionStarted") throw new Error(`startSession: unexpected reply ${reply.kind}`);
      await waitUntil(() => missingServers([reply.session]), readyTimeoutMs, `startSession ${reply.session}`).catch((error) => {
        throw withStderr(error);
      });
      return reply.session;
    },
    async ping(session, type, timeoutMs = 2000) {
      try {
        const reply = await request({ kind: "ping", session, type, timeoutMs }, timeoutMs + 1000);
        return reply.kind === "pong" && reply.ok;
      } catch {
        return false;
      }
    },
    signalsSeen,
    livePids,
    stop,
  };
}
