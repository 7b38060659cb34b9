// Test helper: a fake /proc tree in a temp dir (stat, cmdline, status, cwd, io, environ, task children),
// so the sensing code can be tested on shapes and races a real host will not produce on demand.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pageSize } from "../../src/proc/read.js";

export interface FakeProc {
  pid: number;
  ppid: number;
  comm?: string;
  state?: string;
  startTicks: number;
  argv?: string[];
  cwd?: string;
  uid?: number;
  /** Resident KiB, written to stat's rss field in pages (null: 0 pages, a zombie's). Default 1000. */
  rssKb?: number | null;
  utime?: number;
  stime?: number;
  io?: { rchar: number; wchar: number; syscr: number; syscw: number };
  environ?: Record<string, string>;
  /** Write this as the stat file instead of a generated one (malformed-input tests). */
  rawStat?: string;
  /** Leave out these files, as if the process exited while being read. */
  missing?: ("stat" | "cmdline" | "status")[];
  /** Threads besides the main one; children files are split across them. */
  threads?: number[];
  /** Open fds: fd -> link target (`pipe:[N]`, `socket:[N]`, `/dev/null`); fdinfo `flags:` from fdFlags (octal, default 02 = O_RDWR). */
  fds?: Record<number, string> | null;
  fdFlags?: Record<number, string>;
  /** /proc/PID/cgroup text; default a single `0::/` line. */
  cgroup?: string;
}

export function statLine(p: FakeProc): string {
  const fields = [
    p.state ?? "S", p.ppid, p.pid, p.pid, 0, -1, 4194304, 0, 0, 0, 0, p.utime ?? 0, p.stime ?? 0, 0, 0, 20, 0, 1 + (p.threads?.length ?? 0), 0,
    p.startTicks, 1000000, p.rssKb === null ? 0 : Math.round(((p.rssKb ?? 1000) * 1024) / pageSize()),
  ];
  while (fields.length < 50) fields.push(0);
  return `${p.pid} (${p.comm ?? "proc"}) ${fields.join(" ")}\n`;
}

export interface FakeProcRoot {
  root: string;
  cleanup: () => void;
}

/** Builds the tree. With childrenFiles, /proc/PID/task/TID/children is written as a kernel with CONFIG_PROC_CHILDREN would. */
export function makeFakeProc(procs: FakeProc[], options: { uptimeSeconds?: number; childrenFiles?: boolean } = {}): FakeProcRoot {
  const root = mkdtempSync(join(tmpdir(), "mcp-reaper-fakeproc-"));
  writeFileSync(join(root, "uptime"), `${(options.uptimeSeconds ?? 10_000).toFixed(2)} 1234.00\n`);
  for (const p of procs) {
    const dir = join(root, String(p.pid));
    mkdirSync(join(dir, "task"), { recursive: true });
    const missing = new Set(p.missing ?? []);
    if (!missing.has("stat")) writeFileSync(join(dir, "stat"), p.rawStat ?? statLine(p));
    if (!missing.has("cmdline")) writeFileSync(join(dir, "cmdline"), (p.argv ?? []).map((a) => `${a}\0`).join(""));
    if (!missing.has("status")) {
      writeFileSync(join(dir, "status"), `Name:\t${p.comm ?? "proc"}\nUid:\t${p.uid ?? 1000}\t${p.uid ?? 1000}\t${p.uid ?? 1000}\t${p.uid ?? 1000}\n`);
    }
    if (p.cwd) symlinkSync(p.cwd, join(dir, "cwd"));
    // The root a process sees (/proc/PID/root): the host's own, so paths from its environment read as they are.
    symlinkSync("/", join(dir, "root"));
    if (p.io) writeFileSync(join(dir, "io"), Object.entries(p.io).map(([k, v]) => `${k}: ${v}`).join("\n") + "\n");
    if (p.environ) writeFileSync(join(dir, "environ"), Object.entries(p.environ).map(([k, v]) => `${k}=${v}\0`).join(""));
    writeFileSync(join(dir, "cgroup"), p.cgroup ?? "0::/\n");
    if (p.fds !== null) {
      // An fd directory is always there unless fds is null (a process whose fds we may not read).
      mkdirSync(join(dir, "fd"));
      mkdirSync(join(dir, "fdinfo"));
      for (const [fd, target] of Object.entries(p.fds ?? {})) {
        symlinkSync(target, join(dir, "fd", fd));
        writeFileSync(join(dir, "fdinfo", fd), `pos:\t0\nflags:\t${p.fdFlags?.[Number(fd)] ?? "02"}\nmnt_id:\t15\n`);
      }
    }
    const tids = [p.pid, ...(p.threads ?? [])];
    for (const tid of tids) mkdirSync(join(dir, "task", String(tid)), { recursive: true });
    if (options.childrenFiles) {
      const kids = procs.filter((c) => c.ppid === p.pid && c.pid !== p.pid).map((c) => c.pid);
      // Spread children over the threads, as a multi-threaded parent's forks are.
      tids.forEach((tid, i) => {
        const mine = kids.filter((_, k) => k % tids.length === i);
        writeFileSync(join(dir, "task", String(tid), "children"), mine.map((k) => `${k} `).join(""));
      });
    }
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
