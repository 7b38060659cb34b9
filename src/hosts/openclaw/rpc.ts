// Act (thin): one call to an OpenClaw gateway over its own WebSocket RPC, as `openclaw gateway call` does.
// Protocol read from openclaw 2026.9.6 (dist/client-*.mjs, dist/call-*.mjs) and measured against it: the
// server opens with an event `connect.challenge`; the client sends `connect` (protocol 4, client id `cli`,
// role operator, the gateway's shared token; no device identity needed with token auth), then the method.

/** A request the gateway answered with ok:false (its error code and message), or a transport failure. */
export class GatewayCallError extends Error {
  override readonly name = "GatewayCallError";
  constructor(
    message: string,
    /** The gateway's error code (`INVALID_REQUEST`, `UNAVAILABLE`, ...), "TIMEOUT", or "TRANSPORT". */
    readonly code: string,
  ) {
    super(message);
  }
}

export interface GatewayCallOptions {
  /** ws://127.0.0.1:PORT (the gateway's HTTP port serves the WebSocket too). */
  url: string;
  /** gateway.auth.token (or OPENCLAW_GATEWAY_TOKEN). */
  token: string;
  /** Bound on the connect and on each call: a call not answered by then fails alone, the next one is sent. */
  timeoutMs: number;
  /** Version string the client reports. */
  clientVersion: string;
}

/** One request and its answer (payload on ok, or the error). */
export interface CallOutcome {
  ok: boolean;
  payload?: unknown;
  error?: GatewayCallError;
  durationMs: number;
}

/** protocol 4: openclaw 2026.9.x (dist/version-*.mjs PROTOCOL_VERSION = 4). */
const PROTOCOL = 4;

interface Frame {
  type?: string;
  event?: string;
  id?: string;
  ok?: boolean;
  payload?: unknown;
  error?: { code?: string; message?: string };
}

/**
 * Connects once and runs the calls one after another, each answered (or failed, or timed out) on its own:
 * a failing call does not stop the next. A failed connect or a lost connection fails every call not yet
 * answered, with that reason.
 */
export async function callGateway(o: GatewayCallOptions, calls: readonly { method: string; params: unknown }[]): Promise<CallOutcome[]> {
  const { WebSocket } = await import("ws");
  const outcomes: CallOutcome[] = [];
  return await new Promise<CallOutcome[]>((resolve) => {
    let started = Date.now();
    let nextId = 0;
    let waiting: { id: string; resolve: (f: Frame) => void } | null = null;
    let finished = false;
    const ws = new WebSocket(o.url, { handshakeTimeout: o.timeoutMs, maxPayload: 16 << 20 });
    let timer: NodeJS.Timeout | undefined;
    const finish = (reason: GatewayCallError | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (let i = outcomes.length; i < calls.length; i++) outcomes.push({ ok: false, error: reason ?? new GatewayCallError("not sent", "TRANSPORT"), durationMs: 0 });
      ws.removeAllListeners();
      ws.on("error", () => {});
      ws.terminate();
      resolve(outcomes);
    };
    // Until the challenge comes, the connect's own bound applies.
    timer = setTimeout(() => finish(new GatewayCallError(`no connect challenge within ${o.timeoutMs} ms`, "TIMEOUT")), o.timeoutMs);
    const request = (method: string, params: unknown): Promise<Frame> =>
      new Promise((res) => {
        const id = String(++nextId);
        clearTimeout(timer);
        timer = setTimeout(() => {
          // A late answer carries this id and is dropped: only the waiting id is matched.
          waiting = null;
          res({ type: "res", id, ok: false, error: { code: "TIMEOUT", message: `no answer within ${o.timeoutMs} ms` } });
        }, o.timeoutMs);
        waiting = { id, resolve: res };
        ws.send(JSON.stringify({ type: "req", id, method, params }));
      });
    const run = async (): Promise<void> => {
      const hello = await request("connect", {
        minProtocol: PROTOCOL,
        maxProtocol: PROTOCOL,
        client: { id: "cli", displayName: "mcp-reaper", version: o.clientVersion, platform: "linux", mode: "cli" },
        role: "operator",
        scopes: ["operator.admin"],
        auth: { token: o.token },
      });
      if (!hello.ok) return finish(new GatewayCallError(`connect ${hello.error?.code === "TIMEOUT" ? "timed out" : "refused"}: ${hello.error?.message ?? "no reason given"}`, hello.error?.code ?? "UNAUTHORIZED"));
      for (const c of calls) {
        started = Date.now();
        const f = await request(c.method, c.params);
        const durationMs = Date.now() - started;
        outcomes.push(f.ok ? { ok: true, payload: f.payload, durationMs } : { ok: false, error: new GatewayCallError(f.error?.message ?? "failed", f.error?.code ?? "ERROR"), durationMs });
      }
      finish(null);
    };
    ws.on("message", (data) => {
      let f: Frame;
      try {
        f = JSON.parse(String(data)) as Frame;
      } catch {
        return;
      }
      if (f.type === "event" && f.event === "connect.challenge" && nextId === 0) {
        run().catch((err: unknown) => finish(new GatewayCallError(err instanceof Error ? err.message : String(err), "TRANSPORT")));
        return;
      }
      const w = waiting as { id: string; resolve: (f: Frame) => void } | null;
      if (f.type === "res" && w && f.id === w.id) {
        waiting = null;
        clearTimeout(timer);
        w.resolve(f);
      }
    });
    ws.on("error", (err) => finish(new GatewayCallError(err.message, "TRANSPORT")));
    ws.on("close", (code) => finish(new GatewayCallError(`connection closed (${code})`, "TRANSPORT")));
  });
}
