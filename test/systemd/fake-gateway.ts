// A leaky AI gateway for the real-systemd tests, run as a service: every session spawns its MCP stdio
// servers (socketpair stdio, as Node's spawn makes it) and never reaps the old ones. With --escape it also
// starts two servers through a shell that exits at once, so they land on pid 1 (escaped orphans): one it
// keeps talking to, one whose stdio it closes (unreachable). Writes the pids to $RUNTIME_DIRECTORY/pids.json.
import { spawn, type ChildProcess } from "node:child_process";
import { renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const sessions = Number(args[args.indexOf("--sessions") + 1] ?? 3);
const server = join(dirname(fileURLToPath(import.meta.url)), "mcp-fake-server.js");
const pids: Record<string, number> = {};
const children: ChildProcess[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function keep(child: ChildProcess): ChildProcess {
  child.stdin?.on("error", () => undefined);
  child.stdout?.on("data", () => undefined); // reads what a chatty server says
  children.push(child);
  return child;
}

function save(): void {
  const dir = process.env.RUNTIME_DIRECTORY ?? "/tmp";
  writeFileSync(join(dir, "pids.json.tmp"), JSON.stringify(pids));
  renameSync(join(dir, "pids.json.tmp"), join(dir, "pids.json"));
}

process.title = "fake-gateway";
for (let s = 1; s <= sessions; s++) {
  // A wrapper chain (sh stays the parent: `; :` leaves it a command to run after the server) and a bare node.
  // Session 1's fetch server keeps talking: the activity guard must keep it however old it is.
  // (Told through the environment: an argument would make it a server type of its own.)
  const env = { ...process.env, ...(args.includes("--ignore-term") ? { FAKE_MCP_IGNORE_TERM: "1" } : {}) };
  const fetchEnv = { ...env, ...(s === 1 && args.includes("--chatty") ? { FAKE_MCP_CHATTY: "1" } : {}) };
  pids[`fetch-${s}`] = keep(spawn("/bin/sh", ["-c", `node ${server} fetch; :`], { stdio: ["pipe", "pipe", "inherit"], env: fetchEnv })).pid as number;
  pids[`files-${s}`] = keep(spawn(process.execPath, [server, "files"], { stdio: ["pipe", "pipe", "inherit"], env })).pid as number;
  // Start times are compared in clock ticks (10 ms): sessions apart by more, so "newest" is never a tie.
  await sleep(150);
}
if (args.includes("--escape")) {
  for (const name of ["escaped-kept", "escaped-gone"]) {
    // sh starts the server in the background (stdin kept: `<&0`, else sh gives it /dev/null) and exits:
    // the server is reparented to pid 1, holding the socketpair ends it inherited.
    const sh = spawn("/bin/sh", ["-c", `node ${server} ${name} <&0 & echo $!`], { stdio: ["pipe", "pipe", "inherit"] });
    sh.stdin?.on("error", () => undefined);
    const pid = await new Promise<number>((done) => {
      let text = "";
      sh.stdout?.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes("\n")) done(Number(text.trim()));
      });
    });
    pids[name] = pid;
    if (name === "escaped-gone") {
      sh.stdin?.destroy();
      sh.stdout?.destroy();
    } else children.push(sh);
    await sleep(150);
  }
}
save();
process.stdout.write(`fake-gateway ${process.pid}: ${JSON.stringify(pids)}\n`);
process.on("SIGTERM", () => process.exit(0));
setInterval(() => undefined, 1 << 30);
