// Fake `npx -y <package> [args...]`: stays the parent of `sh -c "<server>; :"`, as real `npm exec` does.
// Loaded by the generated <dir>/bin/npx, which runs as `node .../npx -y @scope/pkg ...` until it retitles.
import { spawn } from "node:child_process";
import { ENV } from "./protocol.js";

const args = process.argv.slice(2).filter((word) => word !== "-y" && word !== "--yes");
const pkg = args[0];
const rest = args.slice(1);
// "@modelcontextprotocol/server-filesystem" -> "filesystem": the fake server plays that package.
const type = pkg?.replace(/^.*\/server-/, "");
const node = process.env[ENV.node] ?? process.execPath;
const serverJs = process.env[ENV.serverJs];

if (!pkg || !type || !serverJs || !process.env[ENV.dir]) {
  process.stderr.write("npx (fake): usage npx -y @scope/server-<type> [args]; needs MCP_REAPER_SERVER_JS\n");
  process.exit(2);
}

// Real npm (7-10) retitles itself `npm exec <pkg> <args>`: /proc/PID/cmdline then holds that one
// string where argv was, NUL-padded. Do the same, so real-process runs meet the retitled shape.
process.title = ["npm exec", pkg, ...rest].join(" ");

const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;
// `; :` gives sh a command after the server, so it cannot exec the server in place and stays its parent
// (real npm exec runs `sh -c <bin> <args>` the same way; dash 0.5.12 here does not exec even without it).
const command = [node, serverJs, "--server", type, ...rest].map(quote).join(" ");
// stdio 'inherit': like npm exec, the server talks to the gateway's pipes directly.
const child = spawn("/bin/sh", ["-c", `${command}; :`], { stdio: "inherit" });

// npm's run-script forwards INT and TERM to its child and waits for it; so do we.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  process.exitCode = code ?? (signal === "SIGKILL" ? 137 : 143);
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
});
child.on("error", (error) => {
  process.stderr.write(`npx (fake): ${error.message}\n`);
  process.exitCode = 1;
});
