#!/usr/bin/env bash
# Builds (once) the Debian bookworm root that the real-systemd tests boot with systemd-nspawn.
# Usage: test/systemd/root.sh            prints the root's path on stdout when it is ready
# The root is cached in ${MCP_REAPER_CACHE:-/var/cache/mcp-reaper}/systemd-root and reused when present
# (a complete root has the marker file .mcp-reaper-root-ok). Exit 0 with the path, or non-zero with one
# line on stderr saying why it cannot be built (not root, no mirror, apt-get or debootstrap failing).
set -euo pipefail

cache="${MCP_REAPER_CACHE:-/var/cache/mcp-reaper}"
root="$cache/systemd-root"
marker="$root/.mcp-reaper-root-ok"
# systemd 252 as pid 1 plus what a user manager (libpam-systemd) and --orphans (ss from iproute2) need.
include="systemd,systemd-sysv,dbus,libpam-systemd,procps,iproute2,less"

say() { echo "root.sh: $*" >&2; }

if [[ -f "$marker" ]]; then echo "$root"; exit 0; fi
if [[ "$(id -u)" != 0 ]]; then say "needs root (debootstrap and systemd-nspawn do)"; exit 1; fi

# The machine's own Debian mirror: deb822 "URIs:" lines or one-line "deb URL SUITE" entries; the first
# one that is not a security archive.
mirror_from_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" ]] || continue
    case "$f" in
      *.sources) awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" ;;
      *) awk '$1=="deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f" ;;
    esac
  done | grep -v -- '-security' | grep -m1 -i 'debian' || true
}
mirror="${MCP_REAPER_DEBIAN_MIRROR:-$(mirror_from_sources)}"
if [[ -z "$mirror" ]]; then say "no Debian mirror in /etc/apt/sources.list* (set MCP_REAPER_DEBIAN_MIRROR)"; exit 1; fi

missing=()
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || { say "no apt-get to install ${missing[*]}"; exit 1; }
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || { say "apt-get update failed"; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 || { say "apt-get install ${missing[*]} failed"; exit 1; }
fi

mkdir -p "$cache"
# One builder at a time; a half-built root from a killed run is thrown away and built again.
exec 9>"$cache/systemd-root.lock"
flock 9
if [[ -f "$marker" ]]; then echo "$root"; exit 0; fi
rm -rf "$root"
say "debootstrap bookworm from $mirror into $root (about 330 MB, a few minutes)"
if ! debootstrap --variant=minbase --include="$include" bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1; then
  say "debootstrap failed (log: $cache/debootstrap.log)"; exit 1
fi
echo mcp-reaper-test >"$root/etc/hostname"
touch "$marker"
echo "$root"
