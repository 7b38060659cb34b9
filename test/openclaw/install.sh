#!/usr/bin/env bash
# Installs the real OpenClaw gateways (and the Node each needs, and stdio MCP servers) from the npm registry
# into a cache outside the checkout, so repeated runs on one machine reuse them.
#
# Usage: test/openclaw/install.sh            install what is missing, then print the paths (KEY=VALUE lines)
#        test/openclaw/install.sh --print    print the paths only if everything is installed (else exit 3)
# Exit codes: 0 installed (or already cached); 3 not installed and the registry cannot be reached (the
# one-line reason is on stderr, prefixed "skip:"); 1 any other failure.
#
# Environment: MCP_REAPER_CACHE (default /var/cache/mcp-reaper) is the cache root; everything lands in
# $MCP_REAPER_CACHE/openclaw. OPENCLAW_OLD / OPENCLAW_NEW override the two gateway versions.
set -euo pipefail

# The versions the fixtures in test/fixtures/openclaw/ were recorded from. 2026.4.x needs Node >= 22.14;
# 2026.9.x declares `>=24.16.0 <25 || >=26.1.0`.
OPENCLAW_OLD=${OPENCLAW_OLD:-2026.4.9}
OPENCLAW_NEW=${OPENCLAW_NEW:-2026.9.6}
NODE_OLD=${NODE_OLD:-22.23.3}
NODE_NEW=${NODE_NEW:-24.21.0}
SERVERS_VERSION=${SERVERS_VERSION:-2026.8.31}

root="${MCP_REAPER_CACHE:-/var/cache/mcp-reaper}/openclaw"
print_only=false
[ "${1:-}" = "--print" ] && print_only=true

node_dir() { echo "$root/node-$1"; }
node_bin() {
  # `npm install node@V` runs a preinstall that pulls node-linux-<arch>@V under node/node_modules; without
  # it (scripts off) the platform package sits at the top level.
  local d; d=$(node_dir "$1")
  for b in "$d/node_modules/node/node_modules/node-linux-$arch/bin/node" "$d/node_modules/node-linux-$arch/bin/node"; do
    [ -x "$b" ] && { echo "$b"; return 0; }
  done
  return 1
}
oc_dir() { echo "$root/openclaw-$1"; }
servers_dir() { echo "$root/servers-$SERVERS_VERSION"; }
# A component is complete when its marker exists: it is written last, after a successful install.
done_marker() { [ -f "$1/.installed" ]; }

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "skip: no Node binary package on the npm registry for $(uname -m)" >&2; exit 3 ;;
esac

complete() {
  done_marker "$(node_dir "$NODE_OLD")" && node_bin "$NODE_OLD" >/dev/null &&
    done_marker "$(node_dir "$NODE_NEW")" && node_bin "$NODE_NEW" >/dev/null &&
    done_marker "$(oc_dir "$OPENCLAW_OLD")" && done_marker "$(oc_dir "$OPENCLAW_NEW")" &&
    done_marker "$(servers_dir)"
}

print_paths() {
  cat <<EOF
OPENCLAW_CACHE=$root
OPENCLAW_OLD_VERSION=$OPENCLAW_OLD
OPENCLAW_OLD_NODE=$(node_bin "$NODE_OLD")
OPENCLAW_OLD_PKG=$(oc_dir "$OPENCLAW_OLD")/node_modules/openclaw
OPENCLAW_NEW_VERSION=$OPENCLAW_NEW
OPENCLAW_NEW_NODE=$(node_bin "$NODE_NEW")
OPENCLAW_NEW_PKG=$(oc_dir "$OPENCLAW_NEW")/node_modules/openclaw
MCP_SERVER_MEMORY=$(servers_dir)/node_modules/@modelcontextprotocol/server-memory/dist/index.js
MCP_SERVER_FILESYSTEM=$(servers_dir)/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js
EOF
}

if complete; then print_paths; exit 0; fi
if $print_only; then echo "skip: OpenClaw test installs are not in $root (run test/openclaw/install.sh)" >&2; exit 3; fi

# Reachability first, so an offline machine says why in one line instead of a page of npm retries.
if ! out=$(timeout 30 npm ping --fetch-retries=0 --fetch-timeout=15000 2>&1); then
  reason=$(printf '%s\n' "$out" | grep -m1 -iE 'err|fail|timed out' || true)
  echo "skip: the npm registry cannot be reached (npm ping: ${reason:-no answer in 30 s}); OpenClaw not installed in $root" >&2
  exit 3
fi

mkdir -p "$root"
npm_install() { # dir, node-bin-or-empty, packages...
  local dir=$1 nb=$2; shift 2
  rm -rf "$dir"; mkdir -p "$dir"
  echo '{"name":"mcp-reaper-openclaw-cache","private":true}' >"$dir/package.json"
  echo "installing $* into $dir" >&2
  local path=$PATH
  [ -n "$nb" ] && path="$(dirname "$nb"):$PATH"
  (cd "$dir" && PATH=$path npm install --no-audit --no-fund --loglevel=error "$@" >"$dir/install.log" 2>&1) || {
    echo "npm install $* failed; last lines of $dir/install.log:" >&2; tail -20 "$dir/install.log" >&2; return 1; }
}

for v in "$NODE_OLD" "$NODE_NEW"; do
  d=$(node_dir "$v")
  if ! { done_marker "$d" && node_bin "$v" >/dev/null; }; then
    npm_install "$d" "" "node@$v"
    node_bin "$v" >/dev/null || npm_install "$d" "" "node-linux-$arch@$v"
    "$(node_bin "$v")" --version >/dev/null
    touch "$d/.installed"
  fi
done
for pair in "$OPENCLAW_OLD:$NODE_OLD" "$OPENCLAW_NEW:$NODE_NEW"; do
  d=$(oc_dir "${pair%%:*}")
  if ! done_marker "$d"; then
    npm_install "$d" "$(node_bin "${pair#*:}")" "openclaw@${pair%%:*}"
    touch "$d/.installed"
  fi
done
d=$(servers_dir)
if ! done_marker "$d"; then
  npm_install "$d" "" "@modelcontextprotocol/server-memory@$SERVERS_VERSION" \
    "@modelcontextprotocol/server-filesystem@$SERVERS_VERSION"
  touch "$d/.installed"
fi
complete || { echo "install finished but the cache in $root is incomplete" >&2; exit 1; }
print_paths
