#!/usr/bin/env bash
# Data Bodega ingest benchmark: 1,000,000 canonical incident rows (the Vancouver file resampled)
# loaded by the release server binary into a fresh SQLite file and a fresh PostgreSQL database
# (a throwaway cluster unless BEATBOOK_TEST_DATABASE_URL is set), with wall time and peak memory
# from GNU time. Usage: bench/ingest.sh   (after `cargo build --release -p server`)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
bin="${CARGO_TARGET_DIR:-target}/release/server"
[ -x "$bin" ] || cargo build --release -p server
[ -f bench/out/ingest_1m.csv ] || python3 bench/make_ingest_file.py 1000000 > bench/out/ingest_1m.csv
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }

measure() {
  local label=$1 url=$2
  BEATBOOK_DATABASE_URL="$url" "$bin" migrate >/dev/null
  /usr/bin/time -f "$label: %e s wall, %M KB peak RSS" \
    env BEATBOOK_DATABASE_URL="$url" BEATBOOK_LOG=warn "$bin" ingest incidents bench/out/ingest_1m.csv --source bench \
    2>&1 >/dev/null | tail -n 1
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
measure sqlite "sqlite://$dir/bench.db"
# shellcheck disable=SC2016
scripts/with-postgres.sh bash -c '
  psql "$BEATBOOK_TEST_DATABASE_URL" -qc "CREATE DATABASE beatbook_bench" >/dev/null
  url="${BEATBOOK_TEST_DATABASE_URL%/*}/beatbook_bench"
  BEATBOOK_DATABASE_URL="$url" "$0" migrate >/dev/null
  /usr/bin/time -f "postgres: %e s wall, %M KB peak RSS" \
    env BEATBOOK_DATABASE_URL="$url" BEATBOOK_LOG=warn "$0" ingest incidents bench/out/ingest_1m.csv --source bench \
    2>&1 >/dev/null | tail -n 1
' "$bin"
