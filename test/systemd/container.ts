// A real systemd for tests: boots systemd 252 as pid 1 of a systemd-nspawn container over the cached root
// (test/systemd/root.sh), runs commands inside with nsenter, reads its journal, and always stops it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout (dist/test/systemd/container.js is three levels below it). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** Where the checkout is seen inside the container (read-only). */
export const INSIDE = "/opt/mcp-reaper";
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface JournalEntry {
  MESSAGE: string;
  PRIORITY: number;
  unit: string | null;
  SYSLOG_IDENTIFIER?: string;
  _PID?: string;
  raw: Record<string, unknown>;
}

/**
 * The cached root, built by root.sh on first use (minutes), or why no container can be booted here.
 * Everything that can stop a boot is named in one line: not root, no systemd-nspawn, no debootstrap mirror.
 */
export function prepareRoot(): { root: string } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: "needs root (systemd-nspawn)" };
  if (process.platform !== "linux") return { skip: "Linux only" };
  const r = spawnSync("bash", [join(REPO, "test/systemd/root.sh")], { encoding: "utf8", timeout: 30 * 60_000, stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) return { skip: `no container root: ${r.stderr.trim().split("\n").pop() ?? `root.sh exit ${r.status}`}` };
  if (spawnSync("systemd-nspawn", ["--version"]).status !== 0) return { skip: "systemd-nspawn is not installed (Debian package systemd-container)" };
  return { root: r.stdout.trim() };
}

function statusOf(pid: number): { ppid: number; nspid: string; comm: string } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return {
      ppid: Number(/^PPid:\s*(\d+)/m.exec(status)?.[1] ?? -1),
      nspid: /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim() ?? "",
      comm: readFileSync(`/proc/${pid}/comm`, "utf8").trim(),
    };
  } catch {
    return null;
  }
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && statusOf(pid) !== null;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface BootOptions {
  root: string;
  /** Machine name (also the hostname inside). */
  name: string;
  /** Extra read-only bind mounts: [host path, path inside]. */
  bindRo?: [string, string][];
  /** Pure cgroup2 inside (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1); default: whatever nspawn picks (hybrid here). */
  unified?: boolean;
}

export class Container {
  private constructor(
    private readonly nspawn: ChildProcess,
    /** The container's init (systemd) as the host sees it. */
    readonly init: number,
    private readonly scratch: string,
    readonly log: () => string,
  ) {}

  private forget: () => void = () => undefined;

  /**
   * Boots the container as real-systemd.md describes: a private mount namespace with a tmpfs on
   * /run/systemd (nspawn refuses a disk /run/systemd/nspawn/propagate), --register=no --keep-unit (no
   * system bus here), --private-network, --volatile=overlay (every change is thrown away at stop), node
   * and the checkout bind-mounted read-only. Resolves once `systemctl is-system-running --wait` is done.
   */
  static async boot(o: BootOptions): Promise<Container> {
    const scratch = mkdtempSync(join(tmpdir(), "mcp-reaper-nspawn-"));
    // journald drops lines past its default rate (10000 per 30 s per service): fast tests must not lose any.
    const journald = join(scratch, "journald.conf.d");
    mkdirSync(journald);
    writeFileSync(join(journald, "50-tests.conf"), "[Journal]\nRateLimitBurst=0\nRateLimitIntervalSec=0\n");
    const logPath = join(scratch, "console.log");
    const binds = [["/usr/bin/node", "/usr/bin/node"], ["/usr/lib/node_modules", "/usr/lib/node_modules"], [REPO, INSIDE], [journald, "/etc/systemd/journald.conf.d"], ...(o.bindRo ?? [])];
    const args = [
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount -t tmpfs -o mode=0755 tmpfs /run/systemd && exec systemd-nspawn "$@"',
      "nspawn",
      "-D",
      o.root,
      `--machine=${o.name}`,
      "--boot",
      "--register=no",
      "--keep-unit",
      "--private-network",
      "--volatile=overlay",
      "--console=read-only",
      ...binds.map(([from, to]) => `--bind-ro=${from}:${to}`),
    ];
    const out = openSync(logPath, "a");
    // detached: setsid, so nspawn gets no terminal signal of ours; unshare and sh exec nspawn in place.
    const nspawn = spawn("unshare", args, {
      detached: true,
      stdio: ["ignore", out, out],
      env: { PATH, ...(o.unified ? { SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: "1" } : {}) },
    });
    const log = (): string => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
    const pid = nspawn.pid as number;
    // Init: nspawn's child whose NSpid ends in 1 and whose comm is already systemd (entering the half-built
    // child before its exec races with nspawn's setup), once systemd's private socket exists.
    let init = 0;
    const deadline = Date.now() + 60_000;
    while (init === 0) {
      if (Date.now() > deadline || nspawn.exitCode !== null) {
        await stopNspawnAsync(nspawn, 0, 10_000);
        rmSync(scratch, { recursive: true, force: true });
        throw new Error(`the container did not boot: ${log().slice(-2000)}`);
      }
      for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        const s = statusOf(Number(entry));
        if (s && s.ppid === pid && s.comm === "systemd" && /\s1$/.test(s.nspid) && existsSync(`/proc/${entry}/root/run/systemd/private`)) init = Number(entry);
      }
      if (init === 0) await sleep(50);
    }
    const c = new Container(nspawn, init, scratch, log);
    // Should the test process die without stopping it, the container must not outlive it.
    const last = (): void => {
      if (alive(init)) process.kill(init, "SIGKILL");
    };
    process.once("exit", last);
    c.forget = () => process.off("exit", last);
    const boot = c.run(["systemctl", "is-system-running", "--wait"], { timeoutMs: 120_000 });
    if (!/^(running|degraded)/.test(boot.stdout)) {
      await c.stop();
      throw new Error(`systemd in the container is ${boot.stdout.trim() || boot.stderr.trim()}`);
    }
    return c;
  }

  /**
   * Runs a command inside (all namespaces of the container's init) with a clean environment, as root or
   * as `user` (setpriv; with that user's XDG_RUNTIME_DIR, so systemctl --user finds its manager).
   */
  run(argv: string[], opts: { user?: { name: string; uid: number; gid: number }; input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Ran {
    const u = opts.user;
    const env = u
      ? [`PATH=${PATH}`, `HOME=/home/${u.name}`, `USER=${u.name}`, `LOGNAME=${u.name}`, `XDG_RUNTIME_DIR=/run/user/${u.uid}`, `DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/${u.uid}/bus`]
      : [`PATH=${PATH}`, "HOME=/root"];
    for (const [k, v] of Object.entries(opts.env ?? {})) env.push(`${k}=${v}`);
    const who = u ? ["setpriv", `--reuid=${u.uid}`, `--regid=${u.gid}`, "--init-groups", "--"] : [];
    const r = spawnSync("nsenter", ["-t", String(this.init), "-a", "--", "env", "-i", ...env, ...who, ...argv], {
      encoding: "utf8",
      input: opts.input ?? "",
      timeout: opts.timeoutMs ?? 60_000,
      cwd: "/",
      env: { PATH },
    });
    return { status: r.status, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? `\n${r.error.message}` : "") };
  }

  /** `sh -c script` inside; throws with its output when it fails. */
  sh(script: string, opts: Parameters<Container["run"]>[1] = {}): string {
    const r = this.run(["sh", "-c", script], opts);
    if (r.status !== 0) throw new Error(`inside: sh -c ${JSON.stringify(script)}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** Writes a file inside (through the container's own root, so it lands on the volatile overlay). */
  write(path: string, text: string, mode = "0644"): void {
    const r = this.run(["sh", "-c", `mkdir -p "$(dirname "$1")" && cat > "$1" && chmod ${mode} "$1"`, "sh", path], { input: text });
    if (r.status !== 0) throw new Error(`cannot write ${path} inside: ${r.stderr}`);
  }

  /** The journal, as journalctl -o json gives it; `match` are journalctl arguments (-u UNIT, --user-unit, _PID=...). */
  journal(match: string[] = []): JournalEntry[] {
    // --all: without it journalctl gives fields over 4096 bytes (a JSON pass) as null.
    const r = this.run(["journalctl", "--no-pager", "--all", "-o", "json", ...match], { timeoutMs: 60_000 });
    const out: JournalEntry[] = [];
    for (const line of r.stdout.split("\n")) {
      if (!line.trim()) continue;
      const raw = JSON.parse(line) as Record<string, unknown>;
      const m = raw.MESSAGE;
      // journald gives a byte array for a message that is not valid UTF-8.
      const message = Array.isArray(m) ? Buffer.from(m as number[]).toString("utf8") : typeof m === "string" ? m : "";
      const unit = (raw._SYSTEMD_USER_UNIT ?? raw._SYSTEMD_UNIT ?? raw.USER_UNIT ?? raw.UNIT ?? null) as string | null;
      out.push({ MESSAGE: message, PRIORITY: Number(raw.PRIORITY ?? 6), unit, SYSLOG_IDENTIFIER: raw.SYSLOG_IDENTIFIER as string | undefined, _PID: raw._PID as string | undefined, raw });
    }
    return out;
  }

  /**
   * Stops the container: SIGTERM to nspawn is an orderly poweroff; if the container is still there after
   * `graceMs`, its init gets SIGKILL, which ends its whole pid namespace. nspawn itself never gets SIGKILL
   * (the container would live on without it).
   */
  async stop(graceMs = 30_000): Promise<void> {
    await stopNspawnAsync(this.nspawn, this.init, graceMs);
    this.forget();
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

async function stopNspawnAsync(nspawn: ChildProcess, init: number, graceMs: number): Promise<void> {
  const gone = (): boolean => nspawn.exitCode !== null || nspawn.signalCode !== null;
  if (!gone()) nspawn.kill("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (!gone() && Date.now() < deadline) await sleep(100);
  if (!gone() && alive(init)) {
    try {
      process.kill(init, "SIGKILL");
    } catch {
      // gone meanwhile
    }
    const late = Date.now() + 10_000;
    while (!gone() && Date.now() < late) await sleep(100);
  }
}

/** Seconds since `since`, to one decimal: for the timings the tests report. */
export function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}

export { sleep };
