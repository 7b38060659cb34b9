// The units under a real systemd 252 (pid 1 of a systemd-nspawn container): `npm run test:systemd`, opt-in.
// Each scenario boots a fresh container, installs the units with `mcp-reaper systemd install` against a
// fake leaky gateway service running as another user (pi), and reads the journal.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Container, INSIDE, prepareRoot, REPO, sleep, type JournalEntry } from "./container.js";

const prep = prepareRoot();
const skip = "skip" in prep ? prep.skip : false;
if (skip) process.stdout.write(`# real systemd: skipped: ${skip}\n`);

const PI = { name: "pi", uid: 1000, gid: 1000 };
const NODE = "/usr/bin/node";
const BIN = `${INSIDE}/bin/mcp-reaper.js`;
const GATEWAY_JS = `${INSIDE}/dist/test/systemd/fake-gateway.js`;
const reaper = (...args: string[]): string[] => [NODE, BIN, ...args];

async function waitFor<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function boot(name: string): Promise<Container> {
  const c = await Container.boot({ root: (prep as { root: string }).root, name, bindRo: [[REPO, "/tmp/mcp-reaper"]] });
  c.sh(`useradd --create-home --uid ${PI.uid} --shell /bin/sh ${PI.name}`);
  return c;
}

/** The fake gateway as a system service running as pi (or as pi's user service), and its servers' pids. */
async function startGateway(c: Container, args: string, user = false): Promise<Record<string, number>> {
  const unit = [
    "[Unit]",
    "Description=Fake leaky AI gateway",
    "[Service]",
    ...(user ? [] : [`User=${PI.name}`]),
    `ExecStart=${NODE} ${GATEWAY_JS} ${args}`,
    "RuntimeDirectory=fake-gateway",
    "",
  ].join("\n");
  if (user) {
    c.write(`/home/pi/.config/systemd/user/fake-gateway.service`, unit);
    c.sh("chown -R pi:pi /home/pi/.config");
    c.sh("systemctl --user daemon-reload && systemctl --user restart fake-gateway.service", { user: PI });
  } else {
    c.write("/etc/systemd/system/fake-gateway.service", unit);
    c.sh("systemctl daemon-reload && systemctl restart fake-gateway.service");
  }
  const file = user ? `/run/user/${PI.uid}/fake-gateway/pids.json` : "/run/fake-gateway/pids.json";
  const text = await waitFor(`the gateway's ${file}`, () => {
    const r = c.run(["cat", file]);
    return r.status === 0 && r.stdout.trim() ? r.stdout : null;
  });
  return JSON.parse(text) as Record<string, number>;
}

const alive = (c: Container, pid: number): boolean => c.run(["test", "-d", `/proc/${pid}`]).status === 0;
const mine = (e: JournalEntry): boolean => e.SYSLOG_IDENTIFIER === "mcp-reaper";
const passes = (entries: JournalEntry[]): JournalEntry[] => entries.filter((e) => mine(e) && /^pass: /.test(e.MESSAGE));
/** The pids a pass line says it reaped. */
const reapedIn = (line: string): number[] => [...(/reaped: (.*?); \d+ms$/.exec(line)?.[1] ?? "").matchAll(/\[([\d ]+)\]/g)].flatMap((m) => (m[1] as string).split(" ").map(Number));

/** Writes an options file; `owner`: chown its directory and the file (a user's ~/.config/mcp-reaper is theirs). */
function options(c: Container, path: string, lines: string[], owner?: string): void {
  c.write(path, `${lines.join("\n")}\n`);
  if (owner) c.sh(`chown -R ${owner} "$(dirname ${path})"`);
}

/**
 * The journal entries of `match` once `enough` says they are all there: a service's last lines reach
 * journald through its stream socket, and may be read a moment after `systemctl start` returns.
 */
async function journalUntil(c: Container, match: string[], what: string, enough: (entries: JournalEntry[]) => boolean): Promise<JournalEntry[]> {
  return waitFor(what, () => {
    const entries = c.journal(match);
    return enough(entries) ? entries : null;
  }, 15_000);
}

/** The timer every 4 s instead of every 5 minutes: what is tested is that the timer's runs do the job. */
function fastTimer(c: Container): void {
  c.write("/etc/systemd/system/mcp-reaper.timer.d/fast.conf", "[Timer]\nOnCalendar=\nOnCalendar=*:*:0/4\nAccuracySec=100ms\n");
}

function exposure(text: string, unit: string): number {
  const m = new RegExp(`Overall exposure level for ${unit.replace(/\./g, "\\.")}: (\\d+\\.\\d)`).exec(text);
  assert.ok(m, text);
  return Number(m[1]);
}

describe("real systemd: root units, gateway of another user", { skip }, () => {
  let c: Container;
  let pids: Record<string, number>;
  before(async () => {
    c = await boot("mcp-reaper-root");
    pids = await startGateway(c, "--sessions 3");
  });
  after(async () => c?.stop());

  it("systemd install writes the units; the timer fires and its second pass reaps the idle duplicates (journal, priority 6)", async () => {
    options(c, "/etc/mcp-reaper/options", ["MCP_REAPER_MIN_AGE=0", "MCP_REAPER_IDLE=2s", "MCP_REAPER_GRACE=2s"]);
    const r = c.run(reaper("systemd", "install", "--gateway-unit", "fake-gateway.service"));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    fastTimer(c);
    c.sh("systemctl daemon-reload && systemctl enable --now mcp-reaper.timer");
    const line = await waitFor("a timer pass that reaps", () => passes(c.journal(["-u", "mcp-reaper.service"])).find((e) => / reaped \(/.test(e.MESSAGE)), 45_000);
    // Sessions 1 and 2 are the older duplicates of both types; session 3 is the newest of each.
    const reaped = new Set(reapedIn(line.MESSAGE));
    assert.deepEqual([...reaped].sort(), [pids["fetch-1"], pids["fetch-2"], pids["files-1"], pids["files-2"]].sort(), line.MESSAGE);
    assert.match(line.MESSAGE, /^pass: gateway \d+ fake-gateway: 6 instances of 2 types: 2 kept, 4 reaped \(4 terminated\)/);
    assert.equal(line.PRIORITY, 6);
    for (const p of reaped) assert.equal(alive(c, p), false, `pid ${p} was reaped`);
    assert.ok(alive(c, pids["fetch-3"] as number) && alive(c, pids["files-3"] as number), "the newest instances live");
    // Before that pass, the first look at each process was "activity unknown" (kept).
    const first = passes(c.journal(["-u", "mcp-reaper.service"]))[0] as JournalEntry;
    assert.match(first.MESSAGE, /6 instances of 2 types: 6 kept, 0 reaped/);
    assert.notEqual(c.sh("systemctl show -p LastTriggerUSec --value mcp-reaper.timer").trim(), "n/a");
    c.sh("systemctl disable --now mcp-reaper.timer");
  });

  it("systemd-analyze security (online) scores both services", () => {
    const text = c.sh("systemd-analyze security --no-pager mcp-reaper.service mcp-reaper-supervisor.service 2>&1 || true");
    for (const unit of ["mcp-reaper.service", "mcp-reaper-supervisor.service"]) {
      const score = exposure(text, unit);
      process.stdout.write(`# systemd-analyze security ${unit}: ${score}\n`);
      assert.ok(score < 3, `${unit}: exposure ${score}`);
    }
  });

  it("--metrics-file and --state-file in directories that do not exist: install creates them; the unit writes both", async () => {
    c.sh("rm -rf /var/lib/prometheus /var/lib/mcp-reaper-history");
    const r = c.run(
      reaper("systemd", "install", "--gateway-unit", "fake-gateway.service", "--metrics-file", "/var/lib/prometheus/node-exporter/mcp-reaper.prom", "--state-file", "/var/lib/mcp-reaper-history/activity.json"),
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    c.sh("systemctl daemon-reload");
    const s = c.run(["systemctl", "start", "mcp-reaper.service"]);
    assert.equal(s.status, 0, `${s.stderr}\n${c.journal(["-u", "mcp-reaper.service", "-n", "5"]).map((e) => e.MESSAGE).join("\n")}`);
    const prom = c.sh("cat /var/lib/prometheus/node-exporter/mcp-reaper.prom");
    assert.match(prom, /^mcp_reaper_passes_total 1$/m);
    assert.match(prom, /^mcp_reaper_gateway_up 1$/m);
    assert.match(c.sh("cat /var/lib/mcp-reaper-history/activity.json"), /"records"/);
  });

  it("the oneshot while the gateway is down: exit 3 is no failure of mcp-reaper.service", async () => {
    c.sh("systemctl stop fake-gateway.service && systemctl reset-failed mcp-reaper.service || true");
    const s = c.run(["systemctl", "start", "mcp-reaper.service"]);
    assert.equal(s.status, 0, s.stderr);
    assert.notEqual(c.run(["systemctl", "is-failed", "mcp-reaper.service"]).stdout.trim(), "failed");
    assert.equal(c.sh("systemctl show -p Result --value mcp-reaper.service").trim(), "success");
    const entries = await journalUntil(c, ["-u", "mcp-reaper.service"], "the oneshot's line", (es) => es.some((e) => mine(e) && /no main process/.test(e.MESSAGE)));
    const line = entries.filter(mine).pop() as JournalEntry;
    assert.match(line.MESSAGE, /unit fake-gateway\.service has no main process \(MainPID 0\): it is not running/);
  });

  it("an installation under /tmp: print and install warn and explain (PrivateTmp hides it, as systemd-run shows), install --enable refuses", () => {
    const tmpBin = ["/usr/bin/node", "/tmp/mcp-reaper/bin/mcp-reaper.js"];
    const r = c.run([...tmpBin, "systemd", "print", "--gateway-unit", "fake-gateway.service"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^mcp-reaper: warning: this mcp-reaper is \/tmp\/mcp-reaper\/bin\/mcp-reaper\.js, but the units get private \/tmp.*PrivateTmp=yes/m);
    const e = c.run([...tmpBin, "systemd", "install", "--dir", "/root/units", "--gateway-unit", "fake-gateway.service", "--enable"]);
    assert.equal(e.status, 2, e.stdout);
    assert.match(e.stderr, /^mcp-reaper: not enabling units that cannot work: this mcp-reaper is \/tmp\//);
    assert.equal(c.run(["test", "-e", "/root/units"]).status, 1, "nothing written");
    // The reason, under this systemd: a unit with PrivateTmp=yes cannot see the program.
    const hidden = c.run(["systemd-run", "--wait", "--pipe", "--quiet", "-p", "PrivateTmp=yes", ...tmpBin, "--version"]);
    assert.notEqual(hidden.status, 0);
    assert.match(hidden.stdout + hidden.stderr, /Cannot find module '\/tmp\/mcp-reaper\/bin\/mcp-reaper\.js'/);
  });
});

describe("real systemd: the supervisor", { skip }, () => {
  let c: Container;
  let pids: Record<string, number>;
  const unit = "mcp-reaper-supervisor.service";
  const log = (): JournalEntry[] => c.journal(["-u", unit]).filter(mine);
  before(async () => {
    c = await boot("mcp-reaper-loop");
    pids = await startGateway(c, "--sessions 3 --chatty");
    options(c, "/etc/mcp-reaper/options", ["MCP_REAPER_MIN_AGE=0", "MCP_REAPER_IDLE=3s", "MCP_REAPER_GRACE=2s"]);
    const r = c.run(reaper("systemd", "install", "--gateway-unit", "fake-gateway.service", "--schedule", "*/2 * * * * *", "--enable"));
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
  after(async () => c?.stop());

  it("its pass reaps the idle duplicates and its activity guard keeps the old one that talks", async () => {
    // Each instance is reaped by the first pass that has seen it idle for 3 s: some go a pass later than others.
    const expected = [pids["fetch-2"], pids["files-1"], pids["files-2"]].sort();
    const reaped = await waitFor("supervisor passes that reap the idle duplicates", () => {
      const all = passes(log()).flatMap((e) => reapedIn(e.MESSAGE)).sort();
      return all.length >= expected.length ? all : null;
    }, 45_000);
    assert.deepEqual(reaped, expected);
    for (const e of passes(log())) assert.equal(e.PRIORITY, 6, e.MESSAGE);
    await sleep(4000); // two more passes: the chatty one stays active
    assert.deepEqual(passes(log()).flatMap((e) => reapedIn(e.MESSAGE)).sort(), expected);
    assert.ok(alive(c, pids["fetch-1"] as number), "the chatty oldest fetch server is kept: it is active");
    assert.match((passes(log()).pop() as JournalEntry).MESSAGE, /: 3 instances of 2 types: 3 kept, 0 reaped;/);
  });

  it("systemctl reload re-reads the options file and says what changed", async () => {
    options(c, "/etc/mcp-reaper/options", ["MCP_REAPER_MIN_AGE=0", "MCP_REAPER_IDLE=3s", "MCP_REAPER_GRACE=2s", "MCP_REAPER_KEEP=2"]);
    const r = c.run(["systemctl", "reload", unit]);
    assert.equal(r.status, 0, r.stderr);
    await waitFor("the reload line", () => log().find((e) => /reloaded options: keep 1 -> 2/.test(e.MESSAGE)));
  });

  it("a rejected reload fails systemctl reload, says why, and keeps the old options", async () => {
    options(c, "/etc/mcp-reaper/options", ["MCP_REAPER_KEEP=zero"]);
    const r = c.run(["systemctl", "reload", unit]);
    assert.notEqual(r.status, 0, "systemctl reload must not report success for options it rejected");
    const why = await waitFor("the rejection in the journal", () => log().find((e) => /MCP_REAPER_KEEP/.test(e.MESSAGE) && e.PRIORITY <= 3));
    assert.match(why.MESSAGE, /must be a whole number/);
    assert.equal(c.sh(`systemctl is-active ${unit} || true`).trim(), "active");
  });

  it("the options file's warning reads the same at start-up and on reload", async () => {
    c.sh("rm /etc/mcp-reaper/options");
    c.sh(`systemctl restart ${unit}`);
    const atStart = await waitFor("the start-up warning", () => log().filter((e) => /does not exist/.test(e.MESSAGE)).pop());
    const n = log().filter((e) => /does not exist/.test(e.MESSAGE)).length;
    c.sh(`systemctl reload ${unit}`);
    const onReload = await waitFor("the reload warning", () => log().filter((e) => /does not exist/.test(e.MESSAGE))[n]);
    assert.equal(onReload.MESSAGE, atStart.MESSAGE);
    assert.equal(onReload.PRIORITY, 4);
    assert.equal(atStart.PRIORITY, 4);
  });

  it("the activity guard can be turned off from the options file (MCP_REAPER_IDLE=0, or empty)", async () => {
    const changes = (re: RegExp): number => log().filter((e) => re.test(e.MESSAGE)).length;
    const guard = (value: string): void => {
      options(c, "/etc/mcp-reaper/options", ["MCP_REAPER_MIN_AGE=0", `MCP_REAPER_IDLE=${value}`]);
      const r = c.run(["systemctl", "reload", unit]);
      assert.equal(r.status, 0, r.stderr);
    };
    guard("0");
    await waitFor("idle off after MCP_REAPER_IDLE=0", () => changes(/reloaded options: .*idle \S+ -> \(off\)/) === 1);
    // Off: the chatty old one is an older duplicate like any other now.
    await waitFor("the chatty one reaped", () => passes(log()).some((e) => reapedIn(e.MESSAGE).includes(pids["fetch-1"] as number)));
    guard("3s");
    await waitFor("idle back on", () => changes(/reloaded options: .*idle \(off\) -> 3000ms/) === 1);
    guard("");
    await waitFor("idle off after MCP_REAPER_IDLE= (empty)", () => changes(/reloaded options: .*idle \S+ -> \(off\)/) === 2);
    // The oneshot reads the same file through EnvironmentFile=, over the unit's Environment=MCP_REAPER_IDLE=10m:
    // off there too, so its very first pass reaps (the guard would first need a second look).
    c.sh(`systemctl stop ${unit}`);
    const fresh = await startGateway(c, "--sessions 3 --chatty");
    options(c, "/etc/mcp-reaper/options", ["MCP_REAPER_MIN_AGE=0", "MCP_REAPER_IDLE=0"]);
    const s = c.run(["systemctl", "start", "mcp-reaper.service"]);
    assert.equal(s.status, 0, s.stderr);
    const entries = await journalUntil(c, ["-u", "mcp-reaper.service"], "the oneshot's pass", (es) => passes(es).length > 0);
    const line = passes(entries).pop() as JournalEntry;
    assert.deepEqual(reapedIn(line.MESSAGE).sort(), [fresh["fetch-1"], fresh["fetch-2"], fresh["files-1"], fresh["files-2"]].sort(), line.MESSAGE);
  });

  it("systemctl stop in the middle of a grace wait ends it well within TimeoutStopSec", async () => {
    c.sh("systemctl stop fake-gateway.service");
    const stubborn = await startGateway(c, "--sessions 2 --ignore-term");
    options(c, "/etc/mcp-reaper/options", ["MCP_REAPER_MIN_AGE=0", "MCP_REAPER_IDLE=1s", "MCP_REAPER_GRACE=60s"]);
    c.sh(`systemctl start ${unit}`);
    // A server that ignores TERM writes term-PID when it gets one: the pass is then in its grace wait.
    await waitFor("a SIGTERM to a server that ignores it", () => c.run(["sh", "-c", "ls /run/fake-gateway/term-* 2>/dev/null"]).stdout.trim() !== "", 30_000, 100);
    const t0 = Date.now();
    const r = c.run(["systemctl", "stop", unit], { timeoutMs: 60_000 });
    const tookMs = Date.now() - t0;
    assert.equal(r.status, 0, r.stderr);
    process.stdout.write(`# systemctl stop during a 60 s grace wait took ${tookMs} ms\n`);
    assert.ok(tookMs < 15_000, `stop took ${tookMs} ms`);
    assert.equal(c.sh(`systemctl show -p Result --value ${unit}`).trim(), "success");
    assert.equal(alive(c, stubborn["fetch-1"] as number), false, "the survivor got SIGKILL at once");
  });
});

describe("real systemd: --orphans inside the unit", { skip }, () => {
  let c: Container;
  let pids: Record<string, number>;
  before(async () => {
    c = await boot("mcp-reaper-orphans");
    pids = await startGateway(c, "--sessions 1 --escape");
  });
  after(async () => c?.stop());

  it("attributes the escaped servers by socket peer and reaps the one nobody can reach", async () => {
    assert.equal(c.sh(`ps -o ppid= -p ${pids["escaped-kept"]}`).trim(), "1", "escaped: reparented to pid 1");
    options(c, "/etc/mcp-reaper/options", ["MCP_REAPER_MIN_AGE=0", "MCP_REAPER_IDLE=1s"]);
    const r = c.run(reaper("systemd", "install", "--gateway-unit", "fake-gateway.service", "--orphans", "--json"));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    c.sh("systemctl daemon-reload && systemctl start mcp-reaper.service");
    await sleep(1500);
    c.sh("systemctl start mcp-reaper.service");
    await journalUntil(c, ["-u", "mcp-reaper.service"], "two JSON passes", (es) => es.filter((e) => mine(e) && e.MESSAGE.startsWith("{")).length === 2);
    type Inst = { rootPid: number; action: string; reasonCode: string; outcome?: string; orphan?: { evidence: string[]; reach: string } };
    const docs = c
      .journal(["-u", "mcp-reaper.service"])
      .filter((e) => mine(e) && e.MESSAGE.startsWith("{"))
      .map((e) => JSON.parse(e.MESSAGE) as { instances: Inst[]; orphanScan: { socketPeers: boolean } });
    assert.equal(docs.length, 2, "a JSON pass per run in the journal");
    for (const doc of docs) assert.equal(doc.orphanScan.socketPeers, true, "ss saw the gateway's sockets, with peers");
    const find = (pid: number): Inst | undefined => docs.flatMap((d) => d.instances).filter((i) => i.rootPid === pid).pop();
    const kept = find(pids["escaped-kept"] as number);
    const gone = find(pids["escaped-gone"] as number);
    assert.ok(kept?.orphan && gone?.orphan, JSON.stringify(docs.map((d) => d.instances.map((i) => [i.rootPid, i.orphan]))));
    assert.deepEqual(kept.orphan.evidence.sort(), ["cgroup", "stdio-peer"]);
    assert.equal(kept.orphan.reach, "gateway");
    assert.equal(kept.action, "keep");
    assert.equal(gone.orphan.reach, "nobody");
    assert.equal(gone.action, "reap");
    assert.equal(gone.reasonCode, "unreachable");
    assert.equal(gone.outcome, "terminated");
    assert.equal(alive(c, pids["escaped-gone"] as number), false);
    assert.equal(alive(c, pids["escaped-kept"] as number), true);
  });
});

describe("real systemd: user units and --run-as", { skip }, () => {
  let c: Container;
  before(async () => {
    c = await boot("mcp-reaper-user");
    c.sh(`loginctl enable-linger ${PI.name}`);
    await waitFor("pi's user manager", () => c.run(["systemctl", "--user", "is-system-running"], { user: PI }).stdout.trim().match(/^(running|degraded)$/));
  });
  after(async () => c?.stop());

  it("systemd install --user --enable: the supervisor starts under pi's manager, every setting applied (none skipped), and reaps", async () => {
    const pids = await startGateway(c, "--sessions 2", true);
    options(c, "/home/pi/.config/mcp-reaper/options", ["MCP_REAPER_MIN_AGE=0", "MCP_REAPER_IDLE=2s"], "pi:pi");
    const r = c.run(reaper("systemd", "install", "--user", "--gateway-unit", "fake-gateway.service", "--schedule", "*/2 * * * * *", "--enable"), { user: PI });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const log = (): JournalEntry[] => c.journal(["_SYSTEMD_USER_UNIT=mcp-reaper-supervisor.service", "+", "USER_UNIT=mcp-reaper-supervisor.service"]);
    // The activity guard needs /proc/PID/io of pi's servers: it reaps only if the unit can read them.
    const line = await waitFor("a user supervisor pass that reaps", () => passes(log()).find((e) => / reaped \(/.test(e.MESSAGE)), 45_000);
    assert.deepEqual(reapedIn(line.MESSAGE).sort(), [pids["fetch-1"], pids["files-1"]].sort());
    const skipped = log().filter((e) => /ignoring|Failed to/.test(e.MESSAGE));
    assert.deepEqual(skipped.map((e) => e.MESSAGE), [], "no sandbox setting was skipped");
    const main = Number(c.sh("systemctl --user show -p MainPID --value mcp-reaper-supervisor.service", { user: PI }).trim());
    assert.match(c.sh(`grep -E '^(NoNewPrivs|Seccomp):' /proc/${main}/status`), /NoNewPrivs:\s+1\nSeccomp:\s+2/, "the syscall filter is on");
    const text = c.sh("systemd-analyze security --user --no-pager mcp-reaper-supervisor.service mcp-reaper.service 2>&1 || true", { user: PI });
    for (const u of ["mcp-reaper.service", "mcp-reaper-supervisor.service"]) process.stdout.write(`# systemd-analyze security --user ${u}: ${exposure(text, u)}\n`);
    c.sh("systemctl --user disable --now mcp-reaper-supervisor.service", { user: PI });
  });

  it("a user unit that cannot set up its sandbox (status 218) fails once instead of restarting for ever", async () => {
    // The capability drop a user manager cannot do: the same failure the units had before PrivateUsers=yes.
    c.write("/home/pi/.config/systemd/user/mcp-reaper-supervisor.service.d/fail.conf", "[Service]\nPrivateUsers=no\nCapabilityBoundingSet=\nPrivateDevices=yes\n");
    c.sh("chown -R pi:pi /home/pi/.config");
    c.run(["sh", "-c", "systemctl --user daemon-reload; systemctl --user restart mcp-reaper-supervisor.service"], { user: PI });
    const show = (): string => c.sh("systemctl --user show -p ActiveState,SubState,ExecMainStatus,NRestarts mcp-reaper-supervisor.service", { user: PI });
    const state = await waitFor("the failed start", () => (/ExecMainStatus=218/.test(show()) ? show() : null));
    const restarts = /NRestarts=(\d+)/.exec(state)?.[1];
    await sleep(11_000); // RestartSec=10s: a restart would have happened by now
    const later = show();
    assert.match(later, /ActiveState=failed/, `${state}\n${later}`);
    assert.match(later, /SubState=failed/);
    assert.equal(/NRestarts=(\d+)/.exec(later)?.[1], restarts, "no restart since");
    c.sh("rm -r /home/pi/.config/systemd/user/mcp-reaper-supervisor.service.d && systemctl --user daemon-reload && systemctl --user reset-failed", { user: PI });
  });

  it("system units with --run-as pi reap pi's gateway with no capabilities", async () => {
    const pids = await startGateway(c, "--sessions 2");
    options(c, "/etc/mcp-reaper/options", ["MCP_REAPER_MIN_AGE=0", "MCP_REAPER_IDLE=1s"]);
    const r = c.run(reaper("systemd", "install", "--run-as", "pi", "--gateway-unit", "fake-gateway.service"));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    c.sh("systemctl daemon-reload && systemctl start mcp-reaper.service");
    await sleep(1500);
    c.sh("systemctl start mcp-reaper.service");
    const line = passes(await journalUntil(c, ["-u", "mcp-reaper.service"], "two passes", (es) => passes(es).length === 2)).pop() as JournalEntry;
    assert.deepEqual(reapedIn(line.MESSAGE).sort(), [pids["fetch-1"], pids["files-1"]].sort(), line.MESSAGE);
    assert.match(c.sh("systemctl show -p User --value mcp-reaper.service"), /^pi$/m);
  });
});
