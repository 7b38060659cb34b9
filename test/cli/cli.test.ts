// CLI table against the built bin: args -> exit code, stdout, stderr. Bad input is one line and exit 2.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { listPids, readCmdline, readStat } from "../../src/proc/read.js";
import { makeFakeProc, type FakeProc } from "../unit/fakeproc.js";

const BIN = fileURLToPath(new URL("../../../bin/mcp-reaper.js", import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    timeout: 20_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An error is exactly one line on stderr, prefixed, with no stack trace, and nothing on stdout. */
function assertOneLineError(r: ReturnType<typeof run>, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0] as string, /^mcp-reaper: /);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

// A real idle gateway with no children: valid input must get past validation and scan it.
let sleeper: ChildProcess;
before(() => {
  sleeper = spawn("sleep", ["300"], { stdio: "ignore" });
});
after(() => {
  sleeper.kill("SIGKILL");
});

describe("usage errors: exit 2, one line, nothing done", () => {
  const table: [string[], RegExp][] = [
    [[], /name the gateway with --gateway-pid, --gateway-name, --gateway-pidfile or --gateway-unit/],
    [["--gateway-pid", "abc"], /--gateway-pid must be a whole number >= 1, got "abc"/],
    [["--gateway-pid", "-5"], /-5/],
    [["--gateway-pid", "0"], /whole number >= 1/],
    [["--gateway-pid", "1.5"], /whole number >= 1/],
    [["--gateway-pid", "1"], /init/],
    [["--gateway-pid", "2", "--keep", "0"], /--keep must be a whole number >= 1, got "0"/],
    [["--gateway-pid", "2", "--grace", "-1"], /not a duration: "-1"/],
    [["--gateway-pid", "2", "--min-age", "5 parsecs"], /not a duration/],
    [["--gateway-pid", "2", "--match", "("], /--match is not a valid regular expression/],
    [["--gateway-pid", "2", "--ignore", "[z-a]"], /--ignore is not a valid regular expression/],
    [["--gateway-pid", "2", "--gateway-name", "x"], /name the gateway once/],
    [["--gateway-pid", "2", "--bogus"], /unknown option '--bogus'/],
    [["--gatway-pid", "2"], /unknown option '--gatway-pid' \(Did you mean --gateway-pid\?\)/],
    [["systemd"], /systemd needs a subcommand: print or install/],
    [["systemd", "bogus"], /unknown systemd subcommand "bogus": print or install/],
    [["systemd", "print", "--gateway-pid", "1234", "--options-file", "/tmp/reaper-options"], /PrivateTmp/],
    [["--gateway-pid", "2", "extra"], /too many arguments/],
    [["--gateway-name", ""], /must not be empty/],
    [["--gateway-pid", "2", "--idle", "0"], /--idle 0 would call every instance idle/],
    [["--gateway-pid", "2", "--idle", "soon"], /not a duration: "soon"/],
    [["--gateway-pid", "2", "--session-idle", "0"], /--session-idle 0 would call every session idle/],
    [["--gateway-pid", "2", "--session-idle", "2h", "--no-sessions"], /--session-idle needs the session store/],
    [["--gateway-pid", "2", "--session-idle", "later"], /not a duration: "later"/],
  ];
  for (const [args, pattern] of table) {
    it(JSON.stringify(args), () => assertOneLineError(run(args), 2, pattern));
  }
  it("reads options from the environment too, with the same validation", () => {
    assertOneLineError(run(["--gateway-pid", "2"], { MCP_REAPER_KEEP: "zero" }), 2, /--keep must be a whole number/);
    assertOneLineError(run(["--gateway-pid", "2", "--session-idle", "1h"], { MCP_REAPER_NO_SESSIONS: "1" }), 2, /--session-idle needs the session store/);
    assertOneLineError(run(["--gateway-pid", "2"], { MCP_REAPER_NO_SESSIONS: "maybe" }), 2, /MCP_REAPER_NO_SESSIONS: expected 1\/true/);
  });
});

describe("gateway not found: exit 3, one line", () => {
  const table: [string[], RegExp][] = [
    [["--gateway-pid", "4194304"], /no process with pid 4194304/],
    [["--gateway-name", "no-such-gateway-xyz"], /no process named "no-such-gateway-xyz"/],
    [["--gateway-pidfile", "/nonexistent/gw.pid"], /cannot read pidfile \/nonexistent\/gw.pid: ENOENT/],
  ];
  for (const [args, pattern] of table) {
    it(JSON.stringify(args), () => assertOneLineError(run(args), 3, pattern));
  }
  it("refuses to treat our own ancestor as the gateway", () => {
    assertOneLineError(run(["--gateway-pid", String(process.pid)]), 3, /mcp-reaper itself or one of its ancestors/);
  });
  it("refuses a kernel thread as the gateway", (t) => {
    const kthread = listPids("/proc").find((pid) => readStat("/proc", pid)?.state !== "Z" && readCmdline("/proc", pid)?.length === 0);
    if (kthread === undefined) return t.skip("no kernel thread visible here (a container without kthreadd)");
    assertOneLineError(run(["--gateway-pid", String(kthread)]), 3, new RegExp(`process ${kthread} is a kernel thread, not a gateway`));
  });
});

describe("files that are not small regular files never hang a run", () => {
  const dir = mkdtempSync(join(tmpdir(), "mcp-reaper-cli-files-"));
  const fifo = join(dir, "fifo");
  before(() => {
    execFileSync("mkfifo", [fifo]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const table: [() => string[], number, RegExp][] = [
    [() => ["--gateway-pidfile", fifo], 3, /cannot read pidfile .*fifo: not a regular file/],
    [() => ["--gateway-pidfile", "/dev/zero"], 3, /cannot read pidfile \/dev\/zero: not a regular file/],
    [() => ["--gateway-pid", String(sleeper.pid), "--mcp-config", "/dev/zero", "-n"], 2, /--mcp-config \/dev\/zero: cannot read: not a regular file/],
    [() => ["--gateway-pid", String(sleeper.pid), "--mcp-config", fifo, "-n"], 2, /not a regular file/],
    [() => ["--gateway-pid", String(sleeper.pid), "--options-file", "/dev/zero", "-n"], 2, /cannot read options file \/dev\/zero: not a regular file/],
    [() => ["systemd", "install", "--dir", "/proc/no-such-dir", "--gateway-name", "gw"], 2, /cannot write the units to \/proc\/no-such-dir: ENOENT/],
  ];
  for (const [args, code, pattern] of table) {
    it(pattern.source, () => assertOneLineError(run(args()), code, pattern));
  }
  it("a state file under /proc is a warning, not a hang", () => {
    const r = run(["--gateway-pid", String(sleeper.pid), "--idle", "10m", "--state-file", "/proc/no-such-dir/activity.json", "-n"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^mcp-reaper: warning: cannot write state file \/proc\/no-such-dir\/activity.json \(ENOENT\)/);
  });
});

describe("help and version", () => {
  it("--help teaches: gateway options, durations, examples and the exit-code table", () => {
    const r = run(["--help"]);
    assert.equal(r.code, 0);
    for (const text of ["--gateway-name <name>", "--min-age <duration>", "60s, env: MCP_REAPER_MIN_AGE", "Durations:", "Examples:", "mcp-reaper demo", "Exit codes:", "4  with --check", "Sessions:", "--no-sessions", "--session-idle <duration>", "MCP_REAPER_SESSION_IDLE", "MCP_REAPER_NO_SESSIONS"]) {
      assert.ok(r.stdout.includes(text), `help mentions ${text}`);
    }
  });
  it("--version prints the package version", () => {
    const r = run(["--version"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

describe("output: a reader that leaves, a full disk, a terminal", () => {
  const sh = (script: string, env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync("bash", ["--norc", "--noprofile", "-c", script], { encoding: "utf8", timeout: 20_000, env: { PATH: process.env.PATH, HOME: process.env.HOME, BIN, NODE: process.execPath, ...env } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("a reader that went away (| true) is no error: exit 0, nothing on stderr", () => {
    // `true` exits long before node has started, so the write meets a closed pipe (EPIPE).
    const r = sh('"$NODE" "$BIN" --help | true; echo "status ${PIPESTATUS[0]}"');
    assert.equal(r.stdout.trim(), "status 0");
    assert.equal(r.stderr, "");
  });

  it("stdout that cannot be written (/dev/full) is one line on stderr and exit 1", () => {
    const r = sh('"$NODE" "$BIN" --help > /dev/full');
    assertOneLineError(r, 1, /cannot write to stdout \(ENOSPC\); the output is incomplete/);
  });

  const hasPython = spawnSync("python3", ["--version"], { encoding: "utf8" }).status === 0;
  it("a non-blocking stdout pipe that fills up (EAGAIN) is waited on, and every byte arrives", { skip: hasPython ? false : "no python3 to make the pipe" }, (t) => {
    // python3 gives the child a one-page pipe with O_NONBLOCK set, waits until it is full while the
    // child still runs (its next write meets EAGAIN), then reads it all.
    const dir = mkdtempSync(join(tmpdir(), "mcp-reaper-eagain-"));
    try {
      writeFileSync(join(dir, "pipe.py"), PIPE_PY);
      const r = spawnSync("python3", [join(dir, "pipe.py"), process.execPath, BIN], { encoding: "utf8", timeout: 20_000 });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout) as { full: boolean; code: number; bytes: number; pipeSize: number };
      const helpBytes = Buffer.byteLength(run(["--help"]).stdout);
      if (got.pipeSize >= helpBytes) return t.skip(`the smallest pipe here (${got.pipeSize} bytes, one page) holds all of --help`);
      assert.equal(got.full, true, "the pipe never filled: EAGAIN was not exercised");
      assert.deepEqual({ code: got.code, bytes: got.bytes }, { code: 0, bytes: helpBytes });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;
  it("colours the report on a terminal, and not with NO_COLOR, --no-color or --json", { skip: hasScript ? false : "no script(1) to make a terminal" }, () => {
    const onTty = (args: string, env: NodeJS.ProcessEnv = {}): string =>
      sh(`script -qec '"$NODE" "$BIN" --gateway-pid ${sleeper.pid} --dry-run ${args}' /dev/null`, env).stdout;
    const ESC = "\x1b[";
    assert.ok(onTty("").includes(ESC), "colour on a terminal");
    assert.ok(onTty("").includes("no MCP server instances under this gateway"));
    assert.ok(!onTty("", { NO_COLOR: "1" }).includes(ESC), "NO_COLOR");
    assert.ok(!onTty("--no-color").includes(ESC), "--no-color");
    const json = onTty("--json");
    assert.ok(!json.includes(ESC), "--json");
    assert.equal((JSON.parse(json.trim()) as { gateway: { pid: number } }).gateway.pid, sleeper.pid);
    // Through a pipe, no colour either.
    assert.ok(!run(["--gateway-pid", String(sleeper.pid), "--dry-run"]).stdout.includes(ESC), "pipe");
  });
});

describe("a real gateway with nothing under it", () => {
  it("exits 0 and says so, plain text when not a terminal", () => {
    const r = run(["--gateway-pid", String(sleeper.pid), "--min-age", "0"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /no MCP server instances under this gateway/);
    assert.doesNotMatch(r.stdout, /\x1b\[/);
  });
  it("--json gives one parseable document", () => {
    const r = run(["--gateway-pid", String(sleeper.pid), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.gateway.pid, sleeper.pid);
    assert.deepEqual(doc.instances, []);
    assert.equal(doc.summary.reaped, 0);
  });
  it("finds it by pidfile", () => {
    const fake = makeFakeProc([]);
    try {
      const pidfile = join(fake.root, "gw.pid");
      writeFileSync(pidfile, `${sleeper.pid}\n`);
      const r = run(["--gateway-pidfile", pidfile, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).gateway.pid, sleeper.pid);
    } finally {
      fake.cleanup();
    }
  });
});

describe("--check and recorded trees", () => {
  const tree = (duplicates: boolean): FakeProc[] => [
    { pid: 1, ppid: 0, startTicks: 1, argv: ["/sbin/init"] },
    { pid: 100, ppid: 1, startTicks: 10, argv: ["openclaw-gateway"], comm: "openclaw-gatewa" },
    { pid: 200, ppid: 100, startTicks: 1000, argv: ["uvx", "mcp-server-fetch"] },
    ...(duplicates ? [{ pid: 300, ppid: 100, startTicks: 2000, argv: ["uvx", "mcp-server-fetch"] }] : []),
  ];
  for (const duplicates of [true, false]) {
    it(`exits ${duplicates ? 4 : 0} when duplicates ${duplicates ? "exist" : "do not"}`, () => {
      const fake = makeFakeProc(tree(duplicates), { uptimeSeconds: 100_000 });
      try {
        const r = run(["--proc-root", fake.root, "--gateway-name", "openclaw-gateway", "--check", "--json"]);
        assert.equal(r.code, duplicates ? 4 : 0, r.stderr);
        const doc = JSON.parse(r.stdout);
        assert.equal(doc.dryRun, true);
        assert.equal(doc.summary.reaped, duplicates ? 1 : 0);
      } finally {
        fake.cleanup();
      }
    });
  }
  it("a recorded tree is never acted on, even without --dry-run", () => {
    const fake = makeFakeProc(tree(true), { uptimeSeconds: 100_000 });
    try {
      const r = run(["--proc-root", fake.root, "--gateway-pid", "100", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.dryRun, true);
      assert.equal(doc.instances.find((i: { rootPid: number }) => i.rootPid === 200).action, "reap");
      assert.equal(doc.instances[0].outcome, undefined);
    } finally {
      fake.cleanup();
    }
  });
  it("escapes control characters from /proc in the human report, keeps them exact in JSON", () => {
    const evil = "mcp-\x1b[2J\x07evil\r";
    const fake = makeFakeProc(
      [
        { pid: 100, ppid: 1, startTicks: 10, argv: ["gw"] },
        { pid: 200, ppid: 100, startTicks: 1000, argv: ["uvx", evil] },
      ],
      { uptimeSeconds: 100_000 },
    );
    try {
      const human = run(["--proc-root", fake.root, "--gateway-pid", "100"]);
      assert.equal(human.code, 0, human.stderr);
      assert.doesNotMatch(human.stdout, /[\x00-\x08\x0b-\x1f\x7f]/);
      assert.ok(human.stdout.includes("mcp-\\x1b[2J\\x07evil\\r"), human.stdout);
      const json = run(["--proc-root", fake.root, "--gateway-pid", "100", "--json"]);
      assert.equal(JSON.parse(json.stdout).instances[0].processes[0].argv[1], evil);
    } finally {
      fake.cleanup();
    }
  });
});

/** Runs argv[1] argv[2] --help with stdout on a one-page, non-blocking pipe; prints what arrived. */
const PIPE_PY = `import array, fcntl, json, os, subprocess, sys, termios, time
node, script = sys.argv[1], sys.argv[2]
r, w = os.pipe()
size = fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: one page (the kernel rounds up to its page size)
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen([node, script, "--help"], stdout=w, stdin=subprocess.DEVNULL)
os.close(w)
avail = array.array("i", [0])
deadline = time.monotonic() + 10
while time.monotonic() < deadline and p.poll() is None:
    fcntl.ioctl(r, termios.FIONREAD, avail, True)
    if avail[0] >= size:
        break
    time.sleep(0.002)
full = avail[0] >= size and p.poll() is None
out = b""
while True:
    chunk = os.read(r, 65536)
    if not chunk:
        break
    out += chunk
print(json.dumps({"full": full, "code": p.wait(), "bytes": len(out), "pipeSize": size}))
`;
