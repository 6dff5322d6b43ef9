#!/usr/bin/env bash
# Data Bodega benchmarks on this machine: ingest of 1,000,000 incident rows by the release
# server binary into a fresh SQLite file and a fresh PostgreSQL database (a throwaway cluster
# unless BEATBOOK_TEST_DATABASE_URL is set), wall time and peak memory from GNU time; then the
# per-cell per-day aggregate for one district-year on each (criterion, bodega/benches/query.rs).
# Two inputs, both the real Vancouver 2020 file resampled: the canonical shape, and the VPD
# original shape through `--mapping bench/vpd-neighbourhoods-as-districts.toml` (the vancouver
# preset's columns, its neighbourhoods standing in for districts).
# Usage: bench/ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
export BIN="${CARGO_TARGET_DIR:-target}/release/server"
cargo build -q --release -p server
[ -f bench/out/ingest_1m.csv ] || python3 bench/make_ingest_file.py 1000000 canonical > bench/out/ingest_1m.csv
[ -f bench/out/ingest_1m_vpd.csv ] || python3 bench/make_ingest_file.py 1000000 vancouver > bench/out/ingest_1m_vpd.csv
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null

# run_all LABEL URL_CANONICAL URL_VPD
run_all() {
  local label=$1 canonical=$2 vpd=$3
  for url in "$canonical" "$vpd"; do BEATBOOK_DATABASE_URL="$url" "$BIN" migrate >/dev/null; done
  /usr/bin/time -f "$label canonical 1M: %e s wall, %M KB peak RSS" env BEATBOOK_DATABASE_URL="$canonical" \
    BEATBOOK_LOG=warn "$BIN" ingest incidents bench/out/ingest_1m.csv --source bench 2>&1 >/dev/null | tail -n 1
  /usr/bin/time -f "$label vpd-preset 1M: %e s wall, %M KB peak RSS" env BEATBOOK_DATABASE_URL="$vpd" \
    BEATBOOK_LOG=warn "$BIN" ingest incidents bench/out/ingest_1m_vpd.csv --source bench --mapping bench/vpd-neighbourhoods-as-districts.toml 2>&1 >/dev/null | tail -n 1
  BEATBOOK_BENCH_DATABASE_URL="$vpd" cargo bench -q -p bodega --bench query -- --noplot 2>&1 | grep -E "incidents|time:"
}
export -f run_all

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run_all sqlite "sqlite://$dir/canonical.db" "sqlite://$dir/vpd.db"
# shellcheck disable=SC2016
scripts/with-postgres.sh bash -c '
  base="${BEATBOOK_TEST_DATABASE_URL%/*}"
  psql "$BEATBOOK_TEST_DATABASE_URL" -qc "CREATE DATABASE bench_canonical" -c "CREATE DATABASE bench_vpd" >/dev/null
  run_all postgres "$base/bench_canonical" "$base/bench_vpd"
'
