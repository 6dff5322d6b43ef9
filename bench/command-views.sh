#!/usr/bin/env bash
# The command views' speed on this machine, with the release binary:
#  1. the Chief's Daily Snapshot for a city-year: `server snapshot` end to end (process start,
#     queries, scoring, PDF) on the demo city (Vancouver 2020, 37,512 incidents) and on a
#     250,000-incident year (the demo plus the Vancouver file resampled), by hyperfine;
#  2. the crime view's first map paint with at least 50,000 incidents on the map, tablet-sized,
#     4× CPU throttling, in headless Chromium (end2end/bench/crime-paint.spec.ts).
# Usage: bench/command-views.sh   (after `cargo leptos build --release`; installs hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
BIN="${CARGO_TARGET_DIR:-target}/release/server"
[ -x "$BIN" ] && [ -d target/site/pkg ] || { echo "run 'cargo leptos build --release' first" >&2; exit 1; }
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
[ -f bench/out/ingest_212k.csv ] || python3 bench/make_ingest_file.py 212488 canonical > bench/out/ingest_212k.csv
dir=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT
export BEATBOOK_LOG=warn BEATBOOK_DEMO_PASSWORD=bench-password-1

echo "== snapshot, demo city-year (37,512 incidents)"
export BEATBOOK_DATABASE_URL="sqlite://$dir/demo.db"
"$BIN" seed-demo >/dev/null
for ext in pdf csv html; do
  hyperfine -N --warmup 1 --runs 10 --export-json "bench/out/snapshot_demo_$ext.json" \
    "$BIN snapshot --date 2020-11-30 --out $dir/s.$ext" | grep -E "Time|Range"
done

echo "== snapshot, a 250,000-incident city-year"
export BEATBOOK_DATABASE_URL="sqlite://$dir/big.db"
"$BIN" seed-demo >/dev/null
"$BIN" ingest incidents bench/out/ingest_212k.csv --source bench >/dev/null
hyperfine -N --warmup 1 --runs 10 --export-json bench/out/snapshot_250k_pdf.json \
  "$BIN snapshot --date 2020-11-30 --out $dir/big.pdf" | grep -E "Time|Range"

echo "== crime view first map paint (the 250,000-incident year: 91 days ≈ 56,000 incidents on the map; the whole year ≈ 225,000)"
BEATBOOK_ADDR=127.0.0.1:3120 BEATBOOK_SITE_ROOT=target/site BEATBOOK_COOKIE_SECURE=false "$BIN" serve &
pid=$!
for _ in $(seq 60); do curl -fs http://127.0.0.1:3120/readyz >/dev/null && break; sleep 1; done
cd end2end
for window in "days=91&end=2020-12-31" "days=366&end=2020-12-31"; do
  PAINT_URL="/crime?$window" BEATBOOK_DEMO_PASSWORD=bench-password-1 BENCH_URL=http://127.0.0.1:3120 \
    npx playwright test --config bench.config.ts 2>&1 | grep -E "^(run [0-9]+|median)"
done
