// CLI table for the supervisor, systemd and metrics options against the built bin: usage errors (exit 2),
// --gateway-unit through a fake systemctl, the lock (exit 5, stale takeover), journald prefixes, and
// systemd-analyze verify on the shipped units and on `systemd print` output.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ensureLockDir, lockDir, lockPathFor } from "../../src/supervise/lock.js";
import { renderUnits, SHIPPED } from "../../src/systemd/units.js";
import { copyForOtherUsers } from "../otheruser.js";
import { parsePrometheusText } from "../unit/prom.js";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));
const REPO = fileURLToPath(new URL("../../../", import.meta.url));

let dir: string;
let runtime: string;
let locks: string;
let sleeper: ChildProcess;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "reaper-cli-sup-"));
  runtime = join(dir, "run");
  mkdirSync(runtime);
  locks = join(dir, "locks");
  sleeper = spawn("sleep", ["300"], { stdio: "ignore" });
});
after(() => {
  sleeper.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    timeout: 20_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RUNTIME_DIRECTORY: runtime, MCP_REAPER_LOCK_DIR: locks, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLineError(r: ReturnType<typeof run>, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0] as string, /^mcp-reaper: /);
  assert.match(lines[0] as string, pattern);
}

describe("supervisor usage errors: exit 2, one line", () => {
  const table: [string[], RegExp][] = [
    [["--schedule", "* * *"], /--schedule "\* \* \*": need 5 fields .* got 3/],
    [["--schedule", "61 * * * *"], /Constraint error, got value 61 expected range 0-59/],
    [["--schedule", "* * * * *", "--tz", "Mars/Olympus"], /--tz: unknown time zone "Mars\/Olympus"/],
    [["--schedule", "* * * * *", "--check"], /--check is for one-shot runs/],
    [["--user"], /--user goes with --gateway-unit/],
    [["--gateway-unit", "-x"], /not a unit name/],
  ];
  for (const [args, pattern] of table) {
    it(JSON.stringify(args), () => assertOneLineError(run(["--gateway-pid", String(sleeper.pid), ...args]), 2, pattern));
  }
  it("a bad options file names the file, the line or the key", () => {
    const f = join(dir, "bad-options");
    writeFileSync(f, "MCP_REAPER_KEEP=0\n");
    assertOneLineError(run(["--gateway-pid", String(sleeper.pid), "--options-file", f]), 2, /bad-options: MCP_REAPER_KEEP: --keep must be a whole number >= 1/);
    writeFileSync(f, "MCP_REAPER_KEPP=2\n");
    assertOneLineError(run(["--gateway-pid", String(sleeper.pid), "--options-file", f]), 2, /unknown setting MCP_REAPER_KEPP/);
    writeFileSync(f, "just words\n");
    assertOneLineError(run(["--gateway-pid", String(sleeper.pid), "--options-file", f]), 2, /bad-options:1: expected KEY=VALUE/);
  });
  it("the options file names the gateway; the command line wins over it", () => {
    const f = join(dir, "options");
    writeFileSync(f, `MCP_REAPER_GATEWAY_PID=${sleeper.pid}\nMCP_REAPER_KEEP=3\n`);
    const r = run(["--options-file", f, "--dry-run", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).gateway.pid, sleeper.pid);
    // On the command line, a second gateway kind is a conflict: precedence is per option, not per group.
    assertOneLineError(run(["--options-file", f, "--gateway-name", "x"]), 2, /name the gateway once/);
  });
});

describe("--gateway-unit through systemctl show (a fake systemctl first on PATH)", () => {
  let bin: string;
  before(() => {
    bin = join(dir, "fakebin");
    mkdirSync(bin);
    // Prints what the test put in mainpid, fails when asked to, and records its arguments.
    writeFileSync(
      join(bin, "systemctl"),
      `#!/bin/sh\necho "$@" >> "${join(dir, "systemctl.calls")}"\nif [ -f "${join(dir, "systemctl.fail")}" ]; then echo "Failed to connect to bus: Host is down" >&2; exit 1; fi\ncat "${join(dir, "mainpid")}"\n`,
    );
    chmodSync(join(bin, "systemctl"), 0o755);
  });
  const withFake = (args: string[]): ReturnType<typeof run> => run(args, { PATH: `${bin}:${process.env.PATH}` });

  it("the gateway is the unit's MainPID", () => {
    writeFileSync(join(dir, "mainpid"), `${sleeper.pid}\n`);
    const r = withFake(["--gateway-unit", "gw.service", "--user", "--dry-run", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).gateway.pid, sleeper.pid);
    assert.match(readFileSync(join(dir, "systemctl.calls"), "utf8"), /^--user show -p MainPID --value -- gw\.service$/m);
  });
  it("MainPID 0 is a gateway not found: exit 3", () => {
    writeFileSync(join(dir, "mainpid"), "0\n");
    assertOneLineError(withFake(["--gateway-unit", "gw.service", "-n"]), 3, /unit gw\.service has no main process \(MainPID 0\)/);
  });
  it("systemctl failing is exit 3 with its reason", () => {
    writeFileSync(join(dir, "systemctl.fail"), "");
    try {
      assertOneLineError(withFake(["--gateway-unit", "gw.service", "-n"]), 3, /systemctl show -p MainPID --value -- gw\.service failed: Failed to connect to bus/);
    } finally {
      rmSync(join(dir, "systemctl.fail"));
    }
  });
});

describe("one reaper per gateway", () => {
  const startTicks = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, "utf8").replace(/.*\) /s, "").split(" ")[19]);
  const uid = process.getuid?.() ?? 0;
  // The runs get RUNTIME_DIRECTORY and MCP_REAPER_LOCK_DIR: the lock goes where the override says.
  const lockOf = (): string => {
    ensureLockDir(lockDir({ MCP_REAPER_LOCK_DIR: locks }, uid), uid);
    return lockPathFor({ pid: sleeper.pid as number, startTicks: startTicks(sleeper.pid as number) }, { MCP_REAPER_LOCK_DIR: locks }, uid);
  };

  it("a real run while a live reaper holds the lock: exit 5, nothing done", () => {
    writeFileSync(lockOf(), `${process.pid} ${startTicks(process.pid)}\n`);
    try {
      assertOneLineError(run(["--gateway-pid", String(sleeper.pid)]), 5, new RegExp(`another mcp-reaper \\(pid ${process.pid}\\) already watches this gateway`));
      // A dry run takes no lock: it signals nobody.
      assert.equal(run(["--gateway-pid", String(sleeper.pid), "--dry-run"]).code, 0);
    } finally {
      rmSync(lockOf());
    }
  });
  it("a lock left by a dead reaper is taken over, and released after the run", () => {
    const dead = spawnSync("true").pid as number;
    writeFileSync(lockOf(), `${dead} 12345\n`);
    let r;
    try {
      r = run(["--gateway-pid", String(sleeper.pid)]);
    } finally {
      if (r?.code !== 0) rmSync(lockOf(), { force: true });
    }
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`mcp-reaper: warning: took over a stale lock of pid ${dead}`));
    assert.ok(!existsSync(lockOf()));
    const name = basename(lockOf());
    assert.deepEqual(readdirSync(dirname(lockOf())).filter((f) => f.startsWith(name)), [], "no temp files left behind");
    assert.deepEqual(readdirSync(runtime), [], "RUNTIME_DIRECTORY is not where the lock goes");
  });
  it("a relative MCP_REAPER_LOCK_DIR is refused: exit 2, one line, nothing created", () => {
    const r = spawnSync(process.execPath, [BIN, "--gateway-pid", String(sleeper.pid)], { encoding: "utf8", timeout: 20_000, cwd: dir, env: { PATH: process.env.PATH, MCP_REAPER_LOCK_DIR: "rel-locks" } });
    assertOneLineError({ code: r.status, stdout: r.stdout, stderr: r.stderr }, 2, /MCP_REAPER_LOCK_DIR must be an absolute path, got "rel-locks"/);
    assert.ok(!existsSync(join(dir, "rel-locks")));
  });
});

describe("the lock directory", () => {
  it("one others may write to is refused: exit 2, one line; the same directory at 0700 is used", { skip: process.getuid?.() !== 0 && "needs root to run as another user" }, (t) => {
    // As "nobody" with MCP_REAPER_LOCK_DIR naming a directory of our own making, running a copy of the
    // CLI that user can reach.
    const copy = copyForOtherUsers();
    if ("skip" in copy) return t.skip(copy.skip);
    const parent = mkdtempSync(join(tmpdir(), "reaper-nobody-"));
    try {
      chmodSync(parent, 0o755);
      const theirs = join(parent, "mcp-reaper");
      mkdirSync(theirs, { mode: 0o777 });
      chmodSync(theirs, 0o777);
      chownSync(theirs, 65534, 65534);
      const asNobody = (): ReturnType<typeof run> => {
        const r = spawnSync(process.execPath, [copy.bin, "--gateway-pid", String(sleeper.pid)], { encoding: "utf8", timeout: 20_000, cwd: copy.root, uid: 65534, gid: 65534, env: { PATH: process.env.PATH, MCP_REAPER_LOCK_DIR: theirs } });
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
      };
      assertOneLineError(asNobody(), 2, new RegExp(`lock directory ${theirs} is group- or world-writable \\(mode 0777\\); refusing it`));
      assert.deepEqual(readdirSync(theirs), [], "no lock written there");
      chmodSync(theirs, 0o700);
      const ok = asNobody();
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      rmSync(parent, { recursive: true, force: true });
      copy.remove();
    }
  });
});

describe("metrics from one-shot runs", () => {
  it("counters carry over from run to run; a missing gateway counts as an error", () => {
    const m = join(dir, "reaper.prom");
    assert.equal(run(["--gateway-pid", String(sleeper.pid), "--metrics-file", m]).code, 0);
    const gone = spawnSync("true").pid as number;
    assert.equal(run(["--gateway-pid", String(gone), "--metrics-file", m]).code, 3);
    const f = parsePrometheusText(readFileSync(m, "utf8"));
    assert.equal(f.get("mcp_reaper_passes_total")?.samples[0]?.value, 2);
    assert.deepEqual(f.get("mcp_reaper_errors_total")?.samples, [{ labels: { kind: "gateway_not_found" }, value: 1 }]);
    assert.equal(f.get("mcp_reaper_gateway_up")?.samples[0]?.value, 0);
    assert.ok((f.get("mcp_reaper_last_success_timestamp_seconds")?.samples[0]?.value ?? 0) > 1e9);
  });
});

describe("journald priority prefixes when stderr is the journal (JOURNAL_STREAM)", () => {
  it("prefixes error lines only when JOURNAL_STREAM names our stderr", () => {
    const errFile = join(dir, "journal-stderr");
    const fd = openSync(errFile, "w");
    const st = statSync(errFile);
    const gone = spawnSync("true").pid as number;
    const r = spawnSync(process.execPath, [BIN, "--gateway-pid", String(gone)], {
      stdio: ["ignore", "pipe", fd],
      env: { PATH: process.env.PATH, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
    });
    closeSync(fd);
    assert.equal(r.status, 3);
    assert.match(readFileSync(errFile, "utf8"), /^<3>mcp-reaper: no process with pid \d+\n$/);
    // Another inode: not the journal, no prefix.
    const plain = run(["--gateway-pid", String(gone)], { JOURNAL_STREAM: `${st.dev}:${st.ino + 1}` });
    assert.match(plain.stderr, /^mcp-reaper: no process/);
  });
});

describe("the loop's log under the journal, and SIGHUP", () => {
  it("re-reads the options file on SIGHUP, logs what changed, keeps the old options on a bad file; <N> prefixes", async () => {
    const options = join(dir, "hup-options");
    writeFileSync(options, "MCP_REAPER_KEEP=1\n");
    const errFile = join(dir, "hup-stderr");
    const fd = openSync(errFile, "w");
    const st = statSync(errFile);
    const child = spawn(process.execPath, [BIN, "--gateway-pid", String(sleeper.pid), "--dry-run", "--schedule", "* * * * * *", "--options-file", options], {
      stdio: ["ignore", "ignore", fd],
      env: { PATH: process.env.PATH, JOURNAL_STREAM: `${st.dev}:${st.ino}`, RUNTIME_DIRECTORY: runtime },
    });
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const log = (): string => readFileSync(errFile, "utf8");
    const waitLog = async (re: RegExp): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!re.test(log())) {
        if (Date.now() > deadline) throw new Error(`no ${re} in:\n${log()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await waitLog(/^<6>info: started: schedule "\* \* \* \* \* \*" \(\S+\), gateway pid \d+, dry run$/m);
      await waitLog(/^<6>info: gateway found: pid \d+ \(sleep\)$/m);
      writeFileSync(options, "MCP_REAPER_KEEP=2\nMCP_REAPER_GRACE=1s\n");
      child.kill("SIGHUP");
      await waitLog(/^<6>info: reloaded options: keep 1 -> 2, grace 5000ms -> 1000ms$/m);
      writeFileSync(options, "MCP_REAPER_KEEP=zero\n");
      child.kill("SIGHUP");
      await waitLog(/^<3>error: reload failed: .*MCP_REAPER_KEEP: --keep must be a whole number >= 1, got "zero"; keeping the old options$/m);
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.match(log(), /^<6>info: stopping \(SIGTERM\)$/m);
      for (const line of log().trimEnd().split("\n")) assert.match(line, /^<[346]>/, "every line carries a priority");
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("--reload PID (the supervisor unit's ExecReload=)", () => {
  // A stand-in for the running loop that records SIGHUPs: the check must signal it only for good options.
  const hupCounter = (): { child: ChildProcess; hups: () => number; ready: Promise<void> } => {
    const child = spawn(process.execPath, ["-e", 'let n = 0; process.on("SIGHUP", () => console.log(++n)); console.log("ready"); setInterval(() => {}, 1e6)'], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    const ready = new Promise<void>((done) => child.stdout?.on("data", (c: Buffer) => ((out += c.toString()), out.includes("ready") && done())));
    return { child, ready, hups: () => out.split("\n").filter((l) => /^\d+$/.test(l)).length };
  };
  it("bad options: exit 2, one line saying why, and no SIGHUP; good options: SIGHUP, exit 0", async () => {
    const loop = hupCounter();
    try {
      await loop.ready;
      const file = join(dir, "reload-options");
      const args = ["--gateway-pid", "1234", "--schedule", "* * * * *", "--options-file", file, "--reload", String(loop.child.pid)];
      writeFileSync(file, "MCP_REAPER_KEEP=zero\n");
      assertOneLineError(run(args), 2, /^mcp-reaper: reload refused: .*MCP_REAPER_KEEP: --keep must be a whole number >= 1, got "zero"; pid \d+ keeps its options$/);
      writeFileSync(file, "MCP_REAPER_KEEP=2\n");
      const good = run(args);
      assert.equal(good.code, 0, good.stderr);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(loop.hups(), 1, "exactly the good reload signalled it");
    } finally {
      loop.child.kill("SIGKILL");
    }
  });
});

describe("systemd units", () => {
  const hasAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
  const why = hasAnalyze ? false : "systemd-analyze is not installed (Debian package systemd); .ci/run installs it";
  const verify = (files: string[]): void => {
    const r = spawnSync("systemd-analyze", ["verify", "--man=no", ...files], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, `systemd-analyze verify: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim(), "", r.stderr);
  };

  it("the shipped files are what the renderer makes (edit src/systemd/units.ts, then: mcp-reaper systemd install --shipped --dir systemd)", () => {
    for (const u of renderUnits(SHIPPED)) assert.equal(readFileSync(join(REPO, "systemd", u.name), "utf8"), u.text, u.name);
  });
  it("systemd-analyze verify passes for every shipped unit", { skip: why }, () => {
    verify(renderUnits(SHIPPED).map((u) => join(REPO, "systemd", u.name)));
  });
  for (const user of [false, true]) {
    it(`systemd print${user ? " --user" : ""}: verify passes; real node and bin paths; options quoted for systemd`, { skip: why }, () => {
      const r = run(["systemd", "print", ...(user ? ["--user", "--gateway-unit", "gw.service"] : ["--gateway-name", "open claw"]), "--grace", "3s", "--match", "a$b%c", "--metrics-file", join(dir, "m.prom")]);
      assert.equal(r.code, 0, r.stderr);
      const out = join(dir, `print-${user}`);
      mkdirSync(out);
      const parts = r.stdout.split(/^# FILE (\S+)\n/m).slice(1);
      assert.deepEqual(parts.filter((_, i) => i % 2 === 0), ["mcp-reaper.service", "mcp-reaper.timer", "mcp-reaper-supervisor.service"]);
      for (let i = 0; i < parts.length; i += 2) writeFileSync(join(out, parts[i] as string), parts[i + 1] as string);
      const service = readFileSync(join(out, "mcp-reaper.service"), "utf8");
      assert.ok(service.includes(`ExecStart=${process.execPath} ${join(REPO, "bin", "mcp-reaper.js")} ${user ? "--gateway-unit gw.service" : '--gateway-name "open claw"'} --grace 3s --match "a$$b%%c"`), service);
      if (user) assert.match(service, /^ExecStart=.* --user$/m, "the gateway unit is the user manager's too");
      assert.match(readFileSync(join(out, "mcp-reaper-supervisor.service"), "utf8"), /--schedule "\* \* \* \* \*" --options-file %E\/mcp-reaper\/options/);
      if (user) {
        // A user manager sets up no mount namespace and grants no capabilities: the units do not pretend to.
        assert.doesNotMatch(service, /^(ReadWritePaths|CapabilityBoundingSet|ProtectSystem|PrivateTmp)=/m);
        assert.match(service, /^SystemCallFilter=@system-service$/m);
        assert.doesNotMatch(r.stderr, /warning/);
      } else {
        assert.ok(service.includes(`ReadWritePaths=-${dir}`), "with -: a missing directory does not fail the unit");
        assert.match(service, /^CapabilityBoundingSet=CAP_KILL CAP_SYS_PTRACE CAP_DAC_READ_SEARCH$/m);
        // The metrics file's directory is a temp dir: under /tmp the unit would write into its private /tmp.
        if (/^\/(tmp|var\/tmp)\//.test(dir)) assert.match(r.stderr, /^mcp-reaper: warning: .*the units get private \/tmp/m);
      }
      verify(readdirSync(out).map((f) => join(out, f)));
    });
  }
  it("systemd print --options-file: both services read that file instead (once each); a relative path is exit 2", () => {
    const r = run(["systemd", "print", "--gateway-pid", "1234", "--options-file", "/srv/reaper/options"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^EnvironmentFile=-\/srv\/reaper\/options$/m);
    const supervisor = r.stdout.split("# FILE mcp-reaper-supervisor.service\n")[1] ?? "";
    const execStart = /^ExecStart=.*$/m.exec(supervisor)?.[0] ?? "";
    assert.equal(execStart.split("--options-file").length - 1, 1, execStart);
    assert.match(execStart, /--options-file \/srv\/reaper\/options /);
    assert.doesNotMatch(r.stdout, /%E\/mcp-reaper\/options/);
    const bad = run(["systemd", "print", "--gateway-pid", "1234", "--options-file", "reaper.env"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^mcp-reaper: --options-file for the units must be an absolute path/);
  });
  it("systemd install --dir writes the units and prints the commands; --enable runs them", () => {
    const out = join(dir, "units");
    const metrics = join(dir, "not-yet", "node-exporter", "m.prom");
    const r = run(["systemd", "install", "--dir", out, "--gateway-pid", "1234", "--metrics-file", metrics]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ["mcp-reaper-supervisor.service", "mcp-reaper.service", "mcp-reaper.timer"]);
    assert.ok(statSync(dirname(metrics)).isDirectory(), "install creates the metrics file's directory");
    assert.match(r.stdout, new RegExp(`^created ${dirname(metrics)}$`, "m"));
    assert.match(r.stdout, /systemctl daemon-reload\n\s+systemctl enable --now mcp-reaper-supervisor\.service/);
    const fake = join(dir, "fakectl");
    mkdirSync(fake);
    writeFileSync(join(fake, "systemctl"), `#!/bin/sh\necho "$@" >> "${join(dir, "enable.calls")}"\n`);
    chmodSync(join(fake, "systemctl"), 0o755);
    const e = run(["systemd", "install", "--user", "--dir", out, "--gateway-pid", "1234", "--enable", "timer"], { PATH: `${fake}:${process.env.PATH}` });
    assert.equal(e.code, 0, e.stderr);
    assert.equal(readFileSync(join(dir, "enable.calls"), "utf8"), "--user daemon-reload\n--user enable --now mcp-reaper.timer\n");
  });
});
