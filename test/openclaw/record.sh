#!/usr/bin/env bash
# Re-records test/fixtures/openclaw/<version>/ from the real gateways (both versions, one after the other).
# Runs dist/test/openclaw/record.js on the cached Node 24 (it reads SQLite with node:sqlite).
set -euo pipefail
cd "$(dirname "$0")/../.."
paths=$(bash test/openclaw/install.sh)
node24=$(printf '%s\n' "$paths" | sed -n 's/^OPENCLAW_NEW_NODE=//p')
npm run build >/dev/null
for which in old new; do
  OPENCLAW_RECORD_OUT=test/fixtures/openclaw OPENCLAW_RECORD_WHICH=$which "$node24" dist/test/openclaw/record.js
done
