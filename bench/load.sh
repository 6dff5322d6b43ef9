#!/usr/bin/env bash
# Load benchmark of the offline sync, on loopback: LOAD_DEVICES (default 1,500) simulated devices
# — a department the size of Miami's with margin — each signing in as its own officer, pulling,
# pushing 20 breadcrumb mutations in 4 pushes of 5 and pulling again, against the release server
# on SQLite and on PostgreSQL. The load tool is goose (bench/load/, its own crate and target
# directory); afterwards the Data Bodega is counted: every device must hold exactly seq 1..20
# and every GPS fix once (zero lost, zero doubled).
#
# Each engine runs in two modes, each on a fresh database with fresh accounts:
#   burst  every device signs in (hatch rate LOAD_HATCH_RATE/s), then at one start line all of
#          them push as fast as they can: the server's saturation throughput (mutations/s), with
#          every device's push queued at once (latency is the queue);
#   paced  the same devices, but the pushes start on an open-loop schedule of LOAD_RATE
#          (default 2,000) mutations/s across the fleet: the push latency at the goal's rate.
# Sign-ins (argon2id, deliberately slow) happen before the start line and are not in the push
# figures. Goals (issue): >= 2,000 mutations/s applied, p99 push latency <= 100 ms, zero lost and
# zero doubled.
#
# Usage: bench/load.sh [sqlite|postgres|both]   (default both; PostgreSQL through
#        scripts/with-postgres.sh: a throwaway cluster unless BEATBOOK_TEST_DATABASE_URL is set)
#        The throwaway cluster runs with fsync=off (set on its command line); for durable
#        commits point BEATBOOK_TEST_DATABASE_URL at a server of your own.
# Settings: LOAD_DEVICES, LOAD_HATCH_RATE (100), LOAD_MODES ("burst paced"), LOAD_RATE (2000),
#        LOAD_PORT (3130), LOAD_NO_BUILD=1 (use the binaries already built).
#        BEATBOOK_DB_CONNECTIONS etc. pass through to the server (defaults: the release server's).
# Output in bench/out/: load_<engine>_<mode>.html and .md (goose's report), _goose.txt (its
#        console), _summary.json (what the devices saw), _result.txt and .json (the count and
#        the figures), _server.log.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
case $which in
  sqlite | postgres | both) ;;
  *) echo "usage: bench/load.sh [sqlite|postgres|both]" >&2; exit 64 ;;
esac
mkdir -p bench/out
export BIN="${CARGO_TARGET_DIR:-target}/release/server"
export LOAD_TARGET="$PWD/bench/load/target"
if [ "${LOAD_NO_BUILD:-}" != 1 ]; then
  echo "==> cargo build --release -p server; the load tool (bench/load)" >&2
  cargo build -q --release -p server
  CARGO_TARGET_DIR="$LOAD_TARGET" cargo build -q --release --manifest-path bench/load/Cargo.toml
fi
export LOAD_BIN="$LOAD_TARGET/release/load" SEED_BIN="$LOAD_TARGET/release/seed"
export LOAD_DEVICES="${LOAD_DEVICES:-1500}" LOAD_HATCH_RATE="${LOAD_HATCH_RATE:-100}" LOAD_RATE="${LOAD_RATE:-2000}"
export LOAD_PORT="${LOAD_PORT:-3130}" LOAD_PASSWORD="${LOAD_PASSWORD:-load-test-password-1}"
LOAD_MODES="${LOAD_MODES:-burst paced}"
export LOAD_MODES LOAD_OUT="$PWD/bench/out"
# The commit the figures belong to ("+dirty" when the tree had changes).
LOAD_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo +dirty)"
export LOAD_COMMIT
# One socket per device on each side.
ulimit -n "$(ulimit -Hn)"
# The API only: no built site is needed for sync (an empty site root).
LOAD_SITE=$(mktemp -d)
export LOAD_SITE
trap 'rm -rf "$LOAD_SITE"' EXIT

# run_one ENGINE MODE DATABASE_URL: a fresh database, accounts, the server, goose, the count.
run_one() {
  local engine=$1 mode=$2 tag="load_$1_$2" status=0 server_pid
  # The server logs JSON lines with its own timing of each push's write (bodega::sync=debug,
  # one line a push), summarised by `seed count`.
  export BEATBOOK_DATABASE_URL=$3 BEATBOOK_LOG="${BEATBOOK_LOG:-warn,bodega::sync=debug}" BEATBOOK_LOG_FORMAT=json
  # (Called left of `||`, where `set -e` does not act: every step checks its own status.)
  "$BIN" migrate >/dev/null || return 1
  BEATBOOK_NEW_PASSWORD="$LOAD_PASSWORD" "$BIN" user add load.template --name "Load template" --role officer \
    >/dev/null || return 1
  "$SEED_BIN" users --count "$LOAD_DEVICES" || return 1
  BEATBOOK_ADDR="127.0.0.1:$LOAD_PORT" BEATBOOK_SITE_ROOT="$LOAD_SITE" BEATBOOK_COOKIE_SECURE=false \
    BEATBOOK_SEED_DEMO=false "$BIN" serve 2>"$LOAD_OUT/${tag}_server.log" &
  server_pid=$!
  for _ in $(seq 60); do curl -fs "http://127.0.0.1:$LOAD_PORT/readyz" >/dev/null && break; sleep 0.5; done
  curl -fs "http://127.0.0.1:$LOAD_PORT/readyz" >/dev/null || { kill "$server_pid"; echo "the server did not start" >&2; return 1; }
  echo "==> $engine, $mode: goose, $LOAD_DEVICES devices, hatch rate $LOAD_HATCH_RATE/s" >&2
  LOAD_MODE=$mode LOAD_SUMMARY="$LOAD_OUT/${tag}_summary.json" "$LOAD_BIN" \
    --host "http://127.0.0.1:$LOAD_PORT" --users "$LOAD_DEVICES" --hatch-rate "$LOAD_HATCH_RATE" --iterations 1 \
    --no-telnet --no-websocket --report-file "$LOAD_OUT/$tag.html" --report-file "$LOAD_OUT/$tag.md" \
    >"$LOAD_OUT/${tag}_goose.txt" 2>&1 || status=$?
  kill "$server_pid" && wait "$server_pid" || true
  [ "$status" = 0 ] || { tail -n 20 "$LOAD_OUT/${tag}_goose.txt" >&2; return "$status"; }
  "$SEED_BIN" count --devices "$LOAD_DEVICES" --summary "$LOAD_OUT/${tag}_summary.json" --label "$engine" \
    --out "$LOAD_OUT/$tag.json" --server-log "$LOAD_OUT/${tag}_server.log" --commit "$LOAD_COMMIT" | tee "$LOAD_OUT/${tag}_result.txt"
}
export -f run_one

failed=0
if [ "$which" != postgres ]; then
  dir=$(mktemp -d)
  for mode in $LOAD_MODES; do
    run_one sqlite "$mode" "sqlite://$dir/$mode.db" || failed=1
  done
  rm -rf "$dir"
fi
if [ "$which" != sqlite ]; then
  # shellcheck disable=SC2016
  scripts/with-postgres.sh bash -c '
    set -euo pipefail
    echo "==> PostgreSQL fsync = $(psql "$BEATBOOK_TEST_DATABASE_URL" -Atc "SHOW fsync"), synchronous_commit = $(psql "$BEATBOOK_TEST_DATABASE_URL" -Atc "SHOW synchronous_commit")" >&2
    export PGOPTIONS="-c client_min_messages=warning"
    base="${BEATBOOK_TEST_DATABASE_URL%/*}"
    for mode in $LOAD_MODES; do
      psql "$BEATBOOK_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS beatbook_load_$mode" -c "CREATE DATABASE beatbook_load_$mode" >/dev/null
      run_one postgres "$mode" "$base/beatbook_load_$mode"
    done
  ' || failed=1
fi
exit "$failed"
