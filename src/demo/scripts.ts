// Text of the executables the world writes into <dir>/bin: fake `uv`, fake `npx`, and the python MCP server.

/** Shell single-quoting, safe for any path. */
export function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Fake `uv run <name> [args]`: like real uv it stays the parent (no exec), forwards TERM/INT to its
 * child and waits for it. `server` is the command that plays mcp-yfinance-server (python3 or the node twin).
 */
export function uvScript(server: string[]): string {
  return `#!/bin/bash
# Fake uv for the mcp-reaper demo world: 'uv run <name> [args]' runs <name> as a child and waits.
if [ "$1" != run ] || [ -z "$2" ]; then echo "uv (fake): only 'uv run <name> [args]' is supported" >&2; exit 2; fi
shift
name=$1
shift
case "$name" in
  mcp-yfinance-server) ;;
  *) echo "uv (fake): unknown tool $name" >&2; exit 2 ;;
esac
child=
# Real uv forwards these to the child and keeps waiting; bash runs a trap only between commands,
# so 'wait' below is interrupted and re-entered until the child is really gone.
trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi' TERM
trap 'if [ -n "$child" ]; then kill -INT "$child" 2>/dev/null; fi' INT
# '<&0': without it bash gives a background job /dev/null as stdin, and the server would see EOF at once.
${server.map(shQuote).join(" ")} "$@" <&0 &
child=$!
while :; do
  wait "$child"
  status=$?
  kill -0 "$child" 2>/dev/null || exit "$status"
done
`;
}

/** Generated <dir>/bin/npx: a node script named npx, so the root's argv reads `node <dir>/bin/npx -y ...`. */
export function npxScript(node: string, shimJs: string): string {
  return `#!${node}
// Fake npx for the mcp-reaper demo world; the logic lives in the compiled npx-shim.js.
import(${JSON.stringify(new URL(`file://${shimJs}`).href)});
`;
}

/**
 * The python twin of mcp-server.ts (same args, files and replies), run by the fake uv as
 * `python3 -S <dir>/bin/mcp-yfinance-server --server yfinance`. Stdlib only; -S skips site for a fast start.
 */
export const PYTHON_SERVER = `import json, os, signal, sys

args = sys.argv[1:]
name = args[args.index("--server") + 1] if "--server" in args else None
ignore_term = "--ignore-term" in args
world_dir = os.environ.get("MCP_REAPER_WORLD_DIR")
session = os.environ.get("MCP_REAPER_SESSION")
if not name or not world_dir or not session:
    sys.stderr.write("mcp-yfinance-server: need --server, MCP_REAPER_WORLD_DIR, MCP_REAPER_SESSION\\n")
    sys.exit(2)


def on_signal(signum, frame):
    sig = signal.Signals(signum).name
    # Record before acting, so a test can tell "got TERM and ignored it" from "never got TERM".
    with open(os.path.join(world_dir, "signals", "%d.log" % os.getpid()), "a") as log:
        log.write(sig + "\\n")
    if signum == signal.SIGTERM and ignore_term:
        return
    os._exit(128 + signum)


for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, on_signal)

# Handlers first, ready file second; rename makes it appear whole.
ready = os.path.join(world_dir, "ready", "%s-%s.json" % (session, name))
with open(ready + ".tmp", "w") as f:
    json.dump({"session": int(session), "type": name, "pid": os.getpid(), "ppid": os.getppid()}, f)
os.rename(ready + ".tmp", ready)

stdin = sys.stdin.buffer
while True:
    line = stdin.readline()
    if not line:
        break
    try:
        msg_id = json.loads(line).get("id")
    except ValueError:
        continue
    reply = {"jsonrpc": "2.0", "id": msg_id, "result": {"server": name, "pid": os.getpid()}}
    try:
        sys.stdout.write(json.dumps(reply) + "\\n")
        sys.stdout.flush()
    except BrokenPipeError:
        os._exit(0)

# stdin EOF: a real stdio server exits; a TERM-ignoring one plays a stuck server and stays.
while ignore_term:
    signal.pause()
`;
