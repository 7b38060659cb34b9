// Shared vocabulary of the demo world: server type names, file layout, env names and gateway IPC messages.

/** The fake MCP server types, each launched through a different real wrapper chain. */
export const SERVER_TYPES = ["yfinance", "fetch", "filesystem"] as const;
export type ServerTypeName = (typeof SERVER_TYPES)[number];

export function isServerType(value: unknown): value is ServerTypeName {
  return typeof value === "string" && (SERVER_TYPES as readonly string[]).includes(value);
}

/** Env names every process of a world inherits. */
export const ENV = {
  /** Unique per world; `stop()` finds escaped processes by it in /proc/PID/environ. */
  marker: "MCP_REAPER_WORLD",
  /** World dir: ready files, signal logs, generated scripts. */
  dir: "MCP_REAPER_WORLD_DIR",
  /** Session number of the server (the ready file name needs it). */
  session: "MCP_REAPER_SESSION",
  /** node binary and compiled mcp-server.js, for the fake npx (it has no other way to find them). */
  node: "MCP_REAPER_NODE",
  serverJs: "MCP_REAPER_SERVER_JS",
  /** JSON `GatewayConfig` for gateway.js (env rather than argv: argv is visible to the reaper). */
  gatewayConfig: "MCP_REAPER_GATEWAY_CONFIG",
} as const;

/** What a fake server writes to <dir>/ready/<session>-<type>.json once it serves. */
export interface ReadyRecord {
  /** Gateway session that started the server (1, 2, ...). */
  session: number;
  type: ServerTypeName;
  /** The server process itself (python or node), the leaf of its instance. */
  pid: number;
  /** Its parent when it started: the wrapper (uv, or the sh under the gateway or under npx). */
  ppid: number;
}

/** Name of a server's ready file inside <dir>/ready. The decoy writes `decoy.json` there. */
export function readyFileName(session: number, type: ServerTypeName): string {
  return `${session}-${type}.json`;
}

export interface GatewayConfig {
  marker: string;
  dir: string;
  sessions: number;
  types: ServerTypeName[];
  ignoreTermType: ServerTypeName | null;
  decoy: boolean;
  title: string;
  pidfile: string;
  /** True when startWorld made `dir`: then an orphaned gateway removes it too. */
  ownsDir: boolean;
  /** Where the gateway sends its children's stderr. */
  stderrLog: string;
  /** Absolute paths of the compiled demo scripts and the node binary, resolved once by world.ts. */
  node: string;
  mcpServerJs: string;
  workerJs: string;
}

/** World -> gateway. `id` pairs a request with its reply. */
export type GatewayRequest =
  | { kind: "startSession"; id: number }
  | { kind: "ping"; id: number; session: number; type: ServerTypeName; timeoutMs: number };

/** Gateway -> world. */
export type GatewayEvent =
  | { kind: "started"; sessions: number[]; decoyPid: number | null }
  | { kind: "spawned"; session: number; type: ServerTypeName; rootPid: number }
  | { kind: "exited"; session: number; type: ServerTypeName; code: number | null; signal: string | null }
  | { kind: "spawnError"; session: number; type: ServerTypeName; message: string }
  | { kind: "sessionStarted"; id: number; session: number }
  | { kind: "pong"; id: number; ok: boolean; reply: unknown };
