// Pure parsers for what ties a process to its parent beyond ppid: fd links, fd modes, unix socket
// peers (`ss -xa`), and cgroup paths. Used only by the opt-in search for escaped orphans.

export type FdKind = "pipe" | "socket" | "other";

/** `pipe:[123]` / `socket:[456]` (readlink of /proc/PID/fd/N) -> kind and inode; anything else is "other". */
export function parseFdTarget(target: string): { kind: FdKind; inode: number | null } {
  const m = /^(pipe|socket):\[(\d+)\]$/.exec(target);
  if (!m) return { kind: "other", inode: null };
  return { kind: m[1] as "pipe" | "socket", inode: Number(m[2]) };
}

export type FdMode = "r" | "w" | "rw";

/** The access mode from /proc/PID/fdinfo/N (`flags:` is octal; its low two bits are O_RDONLY/O_WRONLY/O_RDWR). */
export function parseFdinfoMode(text: string): FdMode | null {
  const m = /^flags:\s*([0-7]+)\s*$/m.exec(text);
  if (!m) return null;
  const acc = parseInt(m[1] as string, 8) & 3;
  return acc === 0 ? "r" : acc === 1 ? "w" : acc === 2 ? "rw" : null;
}

/**
 * Unix socket peers from `ss -xa` (sock_diag): local inode -> peer inode (0 when the peer is closed).
 * /proc/net/unix has no peer column, which is why ss is asked. Lines whose addresses hold spaces are
 * skipped rather than guessed at: a socket path is another user's text, and a wrong peer would attribute
 * a process to the wrong gateway.
 */
export function parseSsUnix(text: string): Map<number, number> {
  const peers = new Map<number, number>();
  for (const line of text.split("\n")) {
    const m = /^u_(?:str|dgr|seq)\s+\S+\s+\d+\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)\s*$/.exec(line);
    if (m) peers.set(Number(m[1]), Number(m[2]));
  }
  return peers;
}

/** The lines of /proc/PID/cgroup, `ID:CONTROLLERS:PATH` (the path may hold colons). */
export function cgroupEntries(text: string): { id: string; controllers: string; path: string }[] {
  const out: { id: string; controllers: string; path: string }[] = [];
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    out.push({ id: line.slice(0, first), controllers: line.slice(first + 1, second), path: line.slice(second + 1) });
  }
  return out;
}

/**
 * The cgroup a process lives in, from /proc/PID/cgroup: the unified (v2, `0::`) path, except on hybrid
 * hosts where systemd keeps its tree in the named v1 hierarchy (`name=systemd`) and `0::` reads `/`.
 */
export function parseCgroup(text: string): string | null {
  let unified: string | null = null;
  let systemd: string | null = null;
  for (const { id, controllers, path } of cgroupEntries(text)) {
    if (controllers === "" && id === "0") unified = path;
    else if (controllers === "name=systemd") systemd = path;
  }
  if (systemd !== null && (unified === null || unified === "/")) return systemd;
  return unified;
}
