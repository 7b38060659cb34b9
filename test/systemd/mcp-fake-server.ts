// A stand-in MCP stdio server for the real-systemd tests: stays up (even after its stdin closes, as a
// server with a live timer does), answers nothing; --chatty writes a line every 300 ms (activity that
// /proc/PID/io shows), --ignore-term survives SIGTERM (only SIGKILL ends it). Both also as FAKE_MCP_CHATTY=1
// and FAKE_MCP_IGNORE_TERM=1, which leave the command line, and so the server type, as it is.
import { writeFileSync } from "node:fs";

const args = process.argv.slice(2);
// A TERM it ignores is written down ($RUNTIME_DIRECTORY/term-PID): the test then knows a grace wait is on.
if (args.includes("--ignore-term") || process.env.FAKE_MCP_IGNORE_TERM === "1") process.on("SIGTERM", () => writeFileSync(`${process.env.RUNTIME_DIRECTORY ?? "/tmp"}/term-${process.pid}`, ""));
if (args.includes("--chatty") || process.env.FAKE_MCP_CHATTY === "1") setInterval(() => process.stdout.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/progress" })}\n`), 300);
// Reads and drops what the gateway sends; stdin's end is not the end of this server.
process.stdin.on("data", () => undefined);
process.stdin.on("error", () => undefined);
process.stdout.on("error", () => undefined);
setInterval(() => undefined, 1 << 30);
