// Fake leaky AI gateway: each session spawns the fake MCP servers through real wrapper chains, and
// old sessions are never reaped (the openclaw bug mcp-reaper exists for). Forked by world.ts with IPC.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, rmSync, writeFileSync } from "node:fs";
import { shQuote } from "./scripts.js";
import { killTree } from "./procfs.js";
import { ENV, type GatewayConfig, type GatewayEvent, type GatewayRequest, type ServerTypeName } from "./protocol.js";

const configText = process.env[ENV.gatewayConfig];
if (!configText || !process.send) {
  process.stderr.write("gateway: start me with startWorld() (needs an IPC channel and config env)\n");
  process.exit(2);
}
const config = JSON.parse(configText) as GatewayConfig;
// Servers must not inherit the config, nor the test runner's marker that makes node:test act as a child.
delete process.env[ENV.gatewayConfig];
delete process.env.NODE_TEST_CONTEXT;

// Changes /proc/PID/cmdline (one word, NUL-padded) and /proc/PID/comm (cut to 15 bytes), like a real gateway.
process.title = config.title;
writeFileSync(config.pidfile, `${process.pid}\n`);
// Children's stderr goes to a log, not the owner's terminal: shells print "Killed" for every server the
// reaper kills, which would drown the demo's report. world.ts quotes its tail when something fails.
const stderrLog = openSync(config.stderrLog, "a");

interface Server {
  child: ChildProcess;
  exited: boolean;
  /** JSON-RPC id -> resolver of the ping waiting for it. */
  waiting: Map<number, (reply: unknown) => void>;
}
const servers = new Map<string, Server>();
const key = (session: number, type: ServerTypeName): string => `${session}-${type}`;
let lastSession = 0;
let lastRpcId = 0;

function send(event: GatewayEvent): void {
  if (process.connected) process.send!(event);
}

/** Argv per type: [file, args], mirroring how the real servers are launched (see the seed's pstree). */
function command(type: ServerTypeName): [string, string[]] {
  const ignore = config.ignoreTermType === type ? ["--ignore-term"] : [];
  switch (type) {
    case "yfinance":
      // Found on PATH (<dir>/bin first), as a gateway's spawn("uv", ...) finds the real one.
      return ["uv", ["run", "mcp-yfinance-server", "--server", "yfinance", ...ignore]];
    case "fetch": {
      // `; :` leaves sh a command to run after the server, so it cannot exec the server in place and
      // stays the parent, like a real `sh -c` wrapper. dash 0.5.12 here keeps it even without, but bash
      // as /bin/sh execs a lone simple command (measured: `sh -c "exec sleep"` leaves no sh).
      const line = [config.node, config.mcpServerJs, "--server", "fetch", ...ignore].map(shQuote).join(" ");
      return ["/bin/sh", ["-c", `${line}; :`]];
    }
    case "filesystem":
      return ["npx", ["-y", "@modelcontextprotocol/server-filesystem", "/tmp", ...ignore]];
  }
}

function startServer(session: number, type: ServerTypeName): void {
  const [file, args] = command(type);
  const child = spawn(file, args, {
    stdio: ["pipe", "pipe", stderrLog],
    env: { ...process.env, [ENV.session]: String(session), [ENV.node]: config.node, [ENV.serverJs]: config.mcpServerJs },
  });
  const server: Server = { child, exited: false, waiting: new Map() };
  servers.set(key(session, type), server);
  if (child.pid !== undefined) send({ kind: "spawned", session, type, rootPid: child.pid });

  // A dead server must never take the gateway down: EPIPE on its stdin is expected, not fatal.
  child.stdin?.on("error", () => undefined);
  child.stdout?.on("error", () => undefined);
  let pending = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    pending += chunk;
    for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try {
        const reply = JSON.parse(line) as { id?: unknown };
        if (typeof reply.id === "number") server.waiting.get(reply.id)?.(reply);
      } catch {
        // not JSON: a real client would log it; nothing waits for it here
      }
    }
  });
  child.on("error", (error) => {
    server.exited = true;
    send({ kind: "spawnError", session, type, message: `${file}: ${error.message}` });
  });
  child.on("exit", (code, signal) => {
    server.exited = true;
    for (const resolve of server.waiting.values()) resolve(null);
    send({ kind: "exited", session, type, code, signal });
  });
}

function startSession(): number {
  const session = ++lastSession;
  for (const type of config.types) startServer(session, type);
  return session;
}

/** Write one JSON-RPC ping to the server's stdin; resolve with its reply line, or null. */
function ping(session: number, type: ServerTypeName, timeoutMs: number): Promise<unknown> {
  const server = servers.get(key(session, type));
  const stdin = server?.child.stdin;
  if (!server || server.exited || !stdin || !stdin.writable) return Promise.resolve(null);
  const id = ++lastRpcId;
  return new Promise((resolve) => {
    const done = (reply: unknown): void => {
      clearTimeout(timer);
      server.waiting.delete(id);
      resolve(reply);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    server.waiting.set(id, done);
    stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method: "ping" })}\n`);
  });
}

process.on("message", (request: GatewayRequest) => {
  switch (request.kind) {
    case "startSession":
      send({ kind: "sessionStarted", id: request.id, session: startSession() });
      break;
    case "ping":
      void ping(request.session, request.type, request.timeoutMs).then((reply) =>
        send({ kind: "pong", id: request.id, ok: reply !== null, reply }),
      );
      break;
  }
});

// Our owner is gone (test runner crashed or exited without stop()): take the whole world down with us.
process.on("disconnect", () => {
  void killTree({ env: [ENV.marker, config.marker], root: () => process.pid, exclude: [process.pid], timeoutMs: 2000, pollMs: 15 })
    .then(() => {
      if (config.ownsDir) rmSync(config.dir, { recursive: true, force: true });
    })
    .catch((error: Error) => process.stderr.write(`gateway: ${error.message}\n`))
    .finally(() => process.exit(0));
});

let decoyPid: number | null = null;
if (config.decoy) {
  // stdin ignored: the decoy is a plain worker, not a stdio server.
  const decoy = spawn(config.node, [config.workerJs], { stdio: ["ignore", "ignore", stderrLog] });
  decoyPid = decoy.pid ?? null;
  decoy.on("error", (error) => process.stderr.write(`gateway: decoy: ${error.message}\n`));
}
// Sessions start one clock tick (10 ms) or more apart, as heartbeats do: each session's processes then
// start strictly later than the one before, so "the newest session" is the newest by start ticks too,
// not a tie that the reaper breaks by pid or by a child's start time.
const TICK_GAP_MS = 25;
const sessions: number[] = [];
for (let i = 0; i < config.sessions; i++) {
  if (i > 0) await new Promise((resolve) => setTimeout(resolve, TICK_GAP_MS));
  sessions.push(startSession());
}
send({ kind: "started", sessions, decoyPid });
