// A mock OpenAI-compatible model on 127.0.0.1 for the real OpenClaw gateway: a prompt carrying a directive
// `MCPCALL:<nonce>:<server>:<tool>` gets a call to that MCP tool, the tool's result gets a final text, and
// the result is kept per nonce, so a test can prove the server behind the tool really answered.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** What one directive's turn saw. */
export interface ToolOutcome {
  nonce: string;
  /** The tool name the model offered and the mock called (e.g. `memory__create_entities`), or null if none matched. */
  called: string | null;
  /** Every tool name offered in the request that carried the directive. */
  offered: string[];
  /** The tool result as text (null until the gateway sent it back). */
  result: string | null;
  /** Wall clock (ms) when the directive's request arrived and when the tool result arrived. */
  askedAt: number;
  resultAt: number | null;
}

type Msg = { role?: string; content?: unknown; tool_call_id?: string; tool_calls?: unknown };

/** Text of a message's content: a string, or an array of parts with `text`. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === "object" && "text" in p ? String(p.text) : "")).join("");
  return "";
}

/** Arguments for the memory / filesystem tools the tests call. */
function argsFor(tool: string, nonce: string, filesRoot: string): Record<string, unknown> {
  if (tool === "create_entities") return { entities: [{ name: `entity-${nonce}`, entityType: "test", observations: [`made by ${nonce}`] }] };
  if (tool === "list_directory" || tool === "list_allowed_directories") return tool === "list_directory" ? { path: filesRoot } : {};
  return {}; // read_graph and other argument-less tools
}

export class MockModel {
  readonly outcomes = new Map<string, ToolOutcome>();
  requests = 0;
  private server: Server | null = null;

  constructor(
    readonly port: number,
    /** Directory the filesystem server is allowed to list (argument of list_directory). */
    readonly filesRoot = "/",
    /** If set, every request body is written there as req-N.json (to learn what the gateway sends). */
    readonly dumpDir: string | null = null,
  ) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method === "GET" && req.url?.endsWith("/models")) {
      return json(res, { object: "list", data: [{ id: "mock-model", object: "model", created: 0, owned_by: "mock" }] });
    }
    if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
      res.writeHead(404).end();
      return;
    }
    this.requests++;
    let body: { messages?: Msg[]; tools?: { function?: { name?: string } }[]; stream?: boolean };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (this.dumpDir) writeFileSync(join(this.dumpDir, `req-${this.requests}.json`), Buffer.concat(chunks));
    const reply = this.answer(body.messages ?? [], (body.tools ?? []).map((t) => t.function?.name ?? "").filter(Boolean));
    if (body.stream) stream(res, reply);
    else json(res, completion(reply));
  }

  /** Decides the reply: a tool result ends the turn; a directive in this turn's user messages calls the tool. */
  private answer(messages: Msg[], offered: string[]): Reply {
    // This step's messages: everything after the last assistant message. OpenClaw 2026.9 appends an
    // internal-context user message after the prompt and after tool results, and wraps hook prompts, so
    // neither the tool result nor the directive is always the last message.
    let from = 0;
    messages.forEach((m, i) => {
      if (m.role === "assistant") from = i + 1;
    });
    const tool = messages.slice(from).find((m) => m.role === "tool");
    if (tool) {
      // OpenClaw 2026.4.9 and 2026.9.6 rewrite the id `call_X` as `callX`.
      const nonce = (tool.tool_call_id ?? "").replace(/^call_?/, "");
      const outcome = this.outcomes.get(nonce);
      const text = textOf(tool.content);
      if (outcome && outcome.result === null) {
        outcome.result = text;
        outcome.resultAt = Date.now();
      }
      return { text: `done ${nonce}: ${text.slice(0, 200)}` };
    }
    const turn = messages.slice(from).filter((m) => m.role === "user").map((m) => textOf(m.content)).join("\n");
    const directive = /MCPCALL:([A-Za-z0-9-]+):([A-Za-z0-9_-]+):([A-Za-z0-9_]+)/.exec(turn);
    if (!directive) return { text: "ok" };
    const [, nonce, server, toolName] = directive as unknown as [string, string, string, string];
    if (this.outcomes.has(nonce)) return { text: `already asked ${nonce}` };
    const called = offered.find((n) => n.endsWith(toolName) && n.includes(server)) ?? null;
    this.outcomes.set(nonce, { nonce, called, offered, result: null, askedAt: Date.now(), resultAt: null });
    if (!called) return { text: `no tool ${server}/${toolName} offered` };
    return { call: { id: `call_${nonce}`, name: called, args: JSON.stringify(argsFor(toolName, nonce, this.filesRoot)) } };
  }
}

type Reply = { text: string } | { call: { id: string; name: string; args: string } };

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
}

const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };

function completion(reply: Reply): unknown {
  const message =
    "text" in reply
      ? { role: "assistant", content: reply.text }
      : { role: "assistant", content: null, tool_calls: [{ id: reply.call.id, type: "function", function: { name: reply.call.name, arguments: reply.call.args } }] };
  return {
    id: `chatcmpl-${Date.now()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: "mock-model",
    choices: [{ index: 0, message, finish_reason: "text" in reply ? "stop" : "tool_calls" }],
    usage,
  };
}

function stream(res: ServerResponse, reply: Reply): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const base = { id: `chatcmpl-${Date.now()}`, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: "mock-model" };
  const send = (v: unknown) => res.write(`data: ${JSON.stringify(v)}\n\n`);
  const delta =
    "text" in reply
      ? { role: "assistant", content: reply.text }
      : { role: "assistant", tool_calls: [{ index: 0, id: reply.call.id, type: "function", function: { name: reply.call.name, arguments: reply.call.args } }] };
  send({ ...base, choices: [{ index: 0, delta, finish_reason: null }] });
  send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "text" in reply ? "stop" : "tool_calls" }] });
  send({ ...base, choices: [], usage });
  res.end("data: [DONE]\n\n");
}
