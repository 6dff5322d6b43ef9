#!/usr/bin/env bash
# The field app's figures on this machine, from the release build:
#  1. the bundle an officer's device downloads: gzip size of every release pkg/*.wasm and
#     pkg/*.js (bench/bundle-size.sh; goal ≤ 300 KB);
#  2. a cold offline start to an interactive "My missions" in headless Chromium with 4× CPU
#     throttling (end2end/bench/cold-start.spec.ts; goal ≤ 1 s);
#  3. "hot spots near you" ranked on the device from the 12-hour forecast, 4× CPU throttling
#     (end2end/bench/nearby-forecast.spec.ts; goal ≤ 50 ms).
# Usage: bench/field.sh   (after `make build-release`)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${CARGO_TARGET_DIR:-target}/release/server"
[ -x "$BIN" ] && [ -d target/site/pkg ] || { echo "run 'make build-release' first" >&2; exit 1; }
echo "== bundle"
bash bench/bundle-size.sh
dir=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT
export BEATBOOK_LOG=warn BEATBOOK_DEMO_PASSWORD=beatbook-e2e-password
export BEATBOOK_DATABASE_URL="sqlite://$dir/demo.db"
"$BIN" seed-demo >/dev/null
echo "== cold offline start"
BEATBOOK_ADDR=127.0.0.1:3121 BEATBOOK_SITE_ROOT=target/site BEATBOOK_COOKIE_SECURE=false "$BIN" serve &
pid=$!
for _ in $(seq 60); do curl -fs http://127.0.0.1:3121/readyz >/dev/null && break; sleep 1; done
cd end2end
BENCH_URL=http://127.0.0.1:3121 PATH="$PWD/node_modules/.bin:$PATH" npx playwright test -c bench.config.ts bench/cold-start.spec.ts bench/nearby-forecast.spec.ts 2>&1 | grep -E "run [0-9]+:|median|passed|failed|Error"
