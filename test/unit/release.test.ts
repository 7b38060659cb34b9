// Unit: --release-sessions (the pure release decision, the TTL and runtime-limit findings, the gateway's
// settings) and its faults against a fake gateway RPC server on 127.0.0.1 (ports 18850-18859).
import assert from "node:assert/strict";
import { classifyKey } from "../../src/hosts/openclaw/keys.js";
import { after, before, describe, it } from "node:test";
import { WebSocketServer, type WebSocket } from "ws";
import type { PlannedInstance } from "../../src/decide/planner.js";
import type { SessionAttribution } from "../../src/decide/sessions.js";
import type { GatewayView, HostSession, SessionStore } from "../../src/hosts/adapter.js";
import { DEFAULT_GATEWAY_PORT, gatewaySettings, packageDirOf, parseRuntimeLimit, type GatewayFacts } from "../../src/hosts/openclaw/gateway.js";
import { openclawAfterReap, type OpenclawPassInput } from "../../src/hosts/openclaw/host.js";
import { decideReleases, runtimeUse, ttlFinding } from "../../src/hosts/openclaw/release.js";
import { callGateway } from "../../src/hosts/openclaw/rpc.js";
import type { Snapshot } from "../../src/proc/snapshot.js";

const NOW = Date.parse("2026-12-03T22:00:00.000Z");
const CHAT = (n: number) => `agent:main:openai:0000000${n}-1111-2222-3333-444444444444`;
const HOOK = "agent:main:hook:9999aaaa-1111-2222-3333-444444444444";

function session(key: string, sessionId: string, over: Partial<HostSession> = {}): HostSession {
  return { key, sessionId, firstTurn: { startMs: NOW - 60_000, endMs: NOW - 57_000 }, current: true, turnFinished: true, endedAtMs: NOW - 57_000, lastActivityMs: NOW - 57_000, kind: classifyKey(key), ...over };
}

function store(sessions: HostSession[]): SessionStore {
  return { host: "openclaw", layout: "sqlite", sessions, sources: [], blind: [], transcriptsRead: 0 };
}

function inst(rootPid: number, a: Partial<SessionAttribution> | null, over: Partial<PlannedInstance> = {}): PlannedInstance {
  const attribution: SessionAttribution | null = a === null ? null : { state: "ended", key: null, sessionId: null, kind: "stateless-chat", offsetMs: 100, sinceMs: NOW - 57_000, evidence: "", ...a };
  return {
    rootPid,
    rootStartTicks: 1,
    newestStartTicks: 1,
    members: [],
    signature: { key: "memory", label: "memory", command: ["memory"], cwd: null },
    ageMs: 60_000,
    startedAtMs: NOW - 60_000,
    rssBytes: 0,
    idleMs: null,
    action: attribution?.state === "ended" ? "reap" : "keep",
    reasonCode: attribution?.state === "ended" ? "session-ended" : attribution?.state === "live" ? "live-session" : "newest",
    reason: "",
    session: attribution,
    ...over,
  } as PlannedInstance;
}

describe("decideReleases (pure)", () => {
  it("releases each ended one-shot session whose reaped servers it owned, once per key", () => {
    const s = store([session(CHAT(1), "s1"), session(CHAT(2), "s2"), session(HOOK, "h1")]);
    const d = decideReleases(
      [inst(10, { key: CHAT(1), sessionId: "s1" }), inst(11, { key: CHAT(1), sessionId: "s1" }), inst(12, { key: CHAT(2), sessionId: "s2" }), inst(13, { key: HOOK, sessionId: "h1", kind: "hook" })],
      s,
    );
    assert.deepEqual(
      d.release.map((t) => [t.key, t.sessionId, t.rootPids, t.params]),
      [
        [CHAT(1), "s1", [10, 11], { key: CHAT(1), clearQueued: true }],
        [CHAT(2), "s2", [12], { key: CHAT(2), clearQueued: true }],
        [HOOK, "h1", [13], { key: HOOK, clearQueued: true }],
      ],
    );
    assert.deepEqual(d.skipped, []);
  });
  it("never a live session, an unattributed instance, a kept one, or anything without a store (the adapter's verdict)", () => {
    const s = store([session(CHAT(1), "s1"), session("agent:main:main", "m1")]);
    const live = inst(20, { state: "live", key: "agent:main:main", sessionId: "m1", kind: "main" });
    const unattributed = inst(21, { state: "unattributed" });
    const young = inst(22, { key: CHAT(1), sessionId: "s1" }, { action: "keep", reasonCode: "too-young" });
    const noSession = inst(23, null, { action: "reap", reasonCode: "duplicate" });
    assert.deepEqual(decideReleases([live, unattributed, young, noSession], s), { release: [], skipped: [] });
    assert.deepEqual(decideReleases([inst(24, { key: CHAT(1), sessionId: "s1" })], null), { release: [], skipped: [] }, "no store: nothing");
  });
  it("a reaped instance the adapter could not attribute (overlapping chat calls): the ended one-shot sessions whose first turn holds its start", () => {
    const overlap = { firstTurn: { startMs: NOW - 60_000, endMs: NOW - 50_000 } };
    const s = store([
      session(CHAT(1), "s1", overlap),
      session(CHAT(2), "s2", overlap),
      session(CHAT(3), "s3", { ...overlap, turnFinished: false }), // still running: live
      session("agent:main:main", "m1", overlap), // live
      session(CHAT(4), "s4", { firstTurn: { startMs: NOW - 20_000, endMs: NOW - 19_000 } }), // elsewhere
    ]);
    const reaped = inst(40, { state: "unattributed" }, { action: "reap", reasonCode: "duplicate", startedAtMs: NOW - 55_000 });
    const d = decideReleases([reaped], s, NOW);
    assert.deepEqual(
      d.release.map((t) => [t.key, t.rootPids]),
      [
        [CHAT(1), [40]],
        [CHAT(2), [40]],
      ],
    );
    const kept = inst(41, { state: "unattributed" }, { action: "keep", reasonCode: "newest", startedAtMs: NOW - 55_000 });
    assert.deepEqual(decideReleases([kept], s, NOW).release, [], "negative control: a kept instance releases nothing");
    // Reaped as session-ended with no one key (every window holding it has ended): the same holders.
    const either = inst(42, { state: "ended", key: null, sessionId: null }, { action: "reap", reasonCode: "session-ended", startedAtMs: NOW - 55_000 });
    assert.deepEqual(
      decideReleases([either], s, NOW).release.map((t) => [t.key, t.rootPids]),
      [
        [CHAT(1), [42]],
        [CHAT(2), [42]],
      ],
    );
  });
  it("never through a key that holds a newer session, or one that can run again, or a turn not known finished", () => {
    const s = store([
      session("agent:main:main", "old", { current: false }),
      session(CHAT(3), "s3", { current: false }),
      session("agent:main:cron:job1", "c1"),
      session(CHAT(4), "s4", { turnFinished: null }),
    ]);
    const d = decideReleases(
      [
        inst(30, { key: "agent:main:main", sessionId: "old", kind: "main" }),
        inst(31, { key: CHAT(3), sessionId: "s3" }),
        inst(32, { key: "agent:main:cron:job1", sessionId: "c1", kind: "cron" }),
        inst(33, { key: CHAT(4), sessionId: "s4" }),
        inst(34, { key: CHAT(5), sessionId: "s5" }),
        inst(35, { key: null, sessionId: "s6" }),
      ],
      s,
    );
    assert.deepEqual(d.release, []);
    assert.deepEqual(
      d.skipped.map((x) => [x.sessionId, x.why.split(" ").slice(0, 3).join(" ")]),
      [
        ["old", "its key can"],
        ["s3", "no longer the"],
        ["c1", "its key can"],
        ["s4", "its turn is"],
        ["s5", "not in the"],
        ["s6", "its key or"],
      ],
    );
  });
});

describe("gateway settings and findings (pure)", () => {
  const env = (o: Record<string, string>) => new Map(Object.entries(o));
  it("port and token from the config, ${VAR} from the gateway's environment, OPENCLAW_GATEWAY_TOKEN as fallback", () => {
    assert.deepEqual(gatewaySettings({ gateway: { port: 18810, auth: { mode: "token", token: "t1" } }, mcp: { sessionIdleTtlMs: 60000.7 } }, null), { port: 18810, token: { value: "t1" }, idleTtlMs: 60000 });
    assert.deepEqual(gatewaySettings({ gateway: { auth: { token: "${GW_TOKEN}" } } }, env({ GW_TOKEN: "t2" })).token, { value: "t2" });
    assert.match(JSON.stringify(gatewaySettings({ gateway: { auth: { token: "${GW_TOKEN}" } } }, env({})).token), /names an environment variable/);
    assert.deepEqual(gatewaySettings({}, env({ OPENCLAW_GATEWAY_TOKEN: "t3", OPENCLAW_GATEWAY_PORT: "19000" })), { port: 19000, token: { value: "t3" }, idleTtlMs: 0 });
    assert.equal(gatewaySettings({}, null).port, DEFAULT_GATEWAY_PORT);
    assert.match(JSON.stringify(gatewaySettings({ gateway: { auth: { mode: "password", password: "x" } } }, null).token), /not \\"token\\"/);
    assert.match(JSON.stringify(gatewaySettings({ gateway: { auth: { token: { source: "file", id: "x" } } } }, null).token), /secret reference/);
    for (const ttl of [-1, "600000", null, Infinity]) assert.equal(gatewaySettings({ mcp: { sessionIdleTtlMs: ttl } }, null).idleTtlMs, 0, String(ttl));
  });
  it("the TTL finding names the setting when it is off", () => {
    const off = ttlFinding(0, "/home/pi/.openclaw/openclaw.json");
    assert.equal(off.off, true);
    assert.match(off.text, /mcp\.sessionIdleTtlMs is off.*"sessionIdleTtlMs": 600000.*\/home\/pi\/\.openclaw\/openclaw\.json/);
    assert.equal(ttlFinding(60_000, null).off, false);
  });
  it("the runtime limit from the package's text, and the package from a relay's or the broker's argv", () => {
    assert.equal(parseRuntimeLimit("if (store.liveRuntimeSlots.size >= 256) {\n const message = `bundle-mcp: live runtime limit (256) reached; stop`"), 256);
    assert.equal(parseRuntimeLimit("no such text"), null);
    const snap = (argv: string[]) => ({ procs: new Map([[5, { argv }]]) }) as unknown as Snapshot;
    assert.equal(packageDirOf(snap(["node", "/opt/x/node_modules/openclaw/dist/process/supervisor/service-child-relay.js"])), "/opt/x/node_modules/openclaw");
    assert.equal(packageDirOf(snap(["/usr/bin/node", "/o/dist/process/spawn-broker/worker.js"])), "/o");
    assert.equal(packageDirOf(snap(["node", "/o/dist/infra/sqlite-readonly-location.worker.js"])), null);
  });
  it("counts slots the store says are held, less released and TTL-expired ones, and warns at 80% of the limit", () => {
    const sessions = [
      session("agent:main:main", "m1", { turnFinished: true }),
      session(HOOK, "h1"), // run-owned: disposed by the host when its turn ended
      session("agent:main:main", "old", { current: false }),
      ...Array.from({ length: 8 }, (_, n) => session(CHAT(n), `c${n}`)),
    ];
    const none = { releasing: false, failed: new Set<string>(), idleTtlMs: 0 };
    const use = runtimeUse(store(sessions), 10, none, NOW);
    assert.deepEqual([use.held, use.near], [9, true], "reaped stateless chats still hold their slots");
    assert.match(use.text, /nears its live MCP runtime limit: 9 of 10/);
    const releasing = runtimeUse(store(sessions), 10, { ...none, releasing: true, failed: new Set(["c0", "c1"]) }, NOW);
    assert.deepEqual([releasing.held, releasing.near], [3, false], "main + the two whose release failed");
    const ttl = runtimeUse(store(sessions), 10, { ...none, idleTtlMs: 30_000 }, NOW);
    assert.equal(ttl.held, 9, "57 s idle is not past a 30 s TTL plus the 60 s sweep");
    assert.equal(runtimeUse(store(sessions), 10, { ...none, idleTtlMs: 30_000 }, NOW + 60_000).held, 0, "all idle past TTL + sweep");
  });
});

// A fake gateway: the challenge, then `connect`, then per method what `answers` says.
type Answer = { ok: true; payload: unknown } | { ok: false; code: string } | "hang";
const PORT = 18851;
let server: WebSocketServer;
const seen: { method: string; params: unknown }[] = [];
let answers: Answer[] = [];
let acceptToken = "good-token";

before(async () => {
  server = new WebSocketServer({ host: "127.0.0.1", port: PORT });
  await new Promise((r) => server.once("listening", r));
  server.on("connection", (ws: WebSocket) => {
    ws.send(JSON.stringify({ type: "event", event: "connect.challenge", payload: { nonce: "n1", ts: Date.now() } }));
    let n = 0;
    ws.on("message", (data) => {
      const f = JSON.parse(String(data)) as { id: string; method: string; params: { auth?: { token?: string }; minProtocol?: number } };
      seen.push({ method: f.method, params: f.params });
      if (f.method === "connect") {
        const ok = f.params.auth?.token === acceptToken && f.params.minProtocol === 4;
        ws.send(JSON.stringify(ok ? { type: "res", id: f.id, ok: true, payload: { type: "hello-ok", protocol: 4 } } : { type: "res", id: f.id, ok: false, error: { code: "UNAUTHORIZED", message: "bad token" } }));
        return;
      }
      const a = answers[n++] ?? "hang";
      if (a === "hang") return;
      ws.send(JSON.stringify(a.ok ? { type: "res", id: f.id, ok: true, payload: a.payload } : { type: "res", id: f.id, ok: false, error: { code: a.code, message: "no" } }));
    });
  });
});
after(async () => {
  for (const c of server.clients) c.terminate();
  await new Promise((r) => server.close(r));
});

describe("the gateway RPC client against a fake gateway", () => {
  it("connects with protocol 4 and the token, then answers each call on its own: ok, error, timeout", async () => {
    seen.length = 0;
    answers = [{ ok: true, payload: { ok: true, status: "no-active-run" } }, { ok: false, code: "INVALID_REQUEST" }, "hang"];
    const t0 = Date.now();
    const out = await callGateway({ url: `ws://127.0.0.1:${PORT}`, token: "good-token", timeoutMs: 500, clientVersion: "t" }, [
      { method: "sessions.abort", params: { key: "a", clearQueued: true } },
      { method: "sessions.abort", params: { key: "b", clearQueued: true } },
      { method: "sessions.abort", params: { key: "c", clearQueued: true } },
    ]);
    assert.deepEqual(
      out.map((o) => [o.ok, o.error?.code]),
      [
        [true, undefined],
        [false, "INVALID_REQUEST"],
        [false, "TIMEOUT"],
      ],
    );
    assert.ok(Date.now() - t0 < 3000, "bounded by the per-call timeout");
    assert.deepEqual(
      seen.map((s) => s.method),
      ["connect", "sessions.abort", "sessions.abort", "sessions.abort"],
    );
    assert.deepEqual((seen[0]?.params as { client: { id: string; mode: string } }).client.id, "cli");
  });
  it("a refused token or an unreachable gateway fails every call with the reason", async () => {
    const refused = await callGateway({ url: `ws://127.0.0.1:${PORT}`, token: "wrong", timeoutMs: 1000, clientVersion: "t" }, [{ method: "sessions.abort", params: {} }]);
    assert.equal(refused[0]?.ok, false);
    assert.match(refused[0]?.error?.message ?? "", /connect refused: bad token/);
    const closed = await callGateway({ url: "ws://127.0.0.1:18859", token: "x", timeoutMs: 1000, clientVersion: "t" }, [{ method: "a", params: {} }, { method: "b", params: {} }]);
    assert.deepEqual(
      closed.map((o) => [o.ok, o.error?.code]),
      [
        [false, "TRANSPORT"],
        [false, "TRANSPORT"],
      ],
    );
  });
});

describe("--release-sessions in a pass: faults are warnings or per-session results, never a stop", () => {
  const view: GatewayView = { pid: 1, uid: 0, comm: "openclaw-gatewa", argv: ["openclaw-gateway"], environ: new Map([["OPENCLAW_STATE_DIR", "/s"]]), home: "/root", cwd: "/", root: "/nonexistent" };
  const facts = (token: GatewayFacts["token"]): GatewayFacts => ({ configPath: "/s/openclaw.json", configError: null, port: PORT, token, idleTtlMs: 0, runtimes: { limit: 256, source: "test", packageDir: "/o", version: "2026.9.6" } });
  const s = store([session(CHAT(1), "s1"), session(CHAT(2), "s2"), session(CHAT(3), "s3"), session("agent:main:main", "m1")]);
  const instances = [inst(10, { key: CHAT(1), sessionId: "s1" }), inst(11, { key: CHAT(2), sessionId: "s2" }), inst(12, { key: CHAT(3), sessionId: "s3" }), inst(13, { state: "live", key: "agent:main:main", sessionId: "m1", kind: "main" })];
  const input = (over: Partial<OpenclawPassInput>): OpenclawPassInput => ({
    view,
    snapshot: { takenAtMs: NOW } as Snapshot,
    plan: {} as never,
    instances,
    store: s,
    releaseSessions: true,
    dryRun: false,
    timeoutMs: 500,
    clientVersion: "t",
    facts: facts({ value: "good-token" }),
    ...over,
  });

  it("without an adapter's store: one warning, nothing released; the TTL is still reported", async () => {
    const warnings: string[] = [];
    const r = await openclawAfterReap(input({ store: null }), warnings);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /^--release-sessions: no session store .*nothing released$/);
    assert.equal(r?.releases, null);
    assert.equal(r?.ttl?.off, true);
  });
  it("with a token that cannot be read: one warning, nothing released, no call", async () => {
    seen.length = 0;
    const warnings: string[] = [];
    const r = await openclawAfterReap(input({ facts: facts({ why: "gateway.auth.token is a secret reference, not a plain token" }) }), warnings);
    assert.deepEqual(warnings, ["--release-sessions: cannot authenticate to the gateway (gateway.auth.token is a secret reference, not a plain token); nothing released"]);
    assert.equal(r?.releases, null);
    assert.equal(seen.length, 0);
  });
  it("a failing and a hanging call are reported per session; the others are released; the live session is never asked", async () => {
    seen.length = 0;
    answers = [{ ok: true, payload: { ok: true, status: "no-active-run" } }, { ok: false, code: "UNAVAILABLE" }, "hang"];
    const warnings: string[] = [];
    const r = await openclawAfterReap(input({}), warnings);
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      r?.releases?.map((x) => [x.key, x.outcome, x.error?.split(":")[0]]),
      [
        [CHAT(1), "released", undefined],
        [CHAT(2), "failed", "UNAVAILABLE"],
        [CHAT(3), "failed", "TIMEOUT"],
      ],
    );
    assert.ok(!seen.some((x) => JSON.stringify(x.params).includes("agent:main:main")), "the live main session is never named in a call");
    assert.equal(r?.runtimes?.held, 3, "main + the two whose release failed");
  });
  it("a dry run calls nothing and says what it would release", async () => {
    seen.length = 0;
    const r = await openclawAfterReap(input({ dryRun: true }), []);
    assert.deepEqual(
      r?.releases?.map((x) => x.outcome),
      ["would-release", "would-release", "would-release"],
    );
    assert.equal(seen.length, 0);
  });
  it("negative control: without --release-sessions nothing is called", async () => {
    seen.length = 0;
    const r = await openclawAfterReap(input({ releaseSessions: false }), []);
    assert.equal(r?.releases, null);
    assert.equal(seen.length, 0);
  });
});
