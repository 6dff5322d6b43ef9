#!/usr/bin/env bash
# Runs a command with BEATBOOK_TEST_DATABASE_URL set to a PostgreSQL server.
# Uses the URL already set, if any; otherwise starts a throwaway PostgreSQL cluster in a temporary
# directory on a free loopback port (installing the `postgresql` package when the server binaries
# are missing) and removes it afterwards. With CI=true, no PostgreSQL is a failure, not a skip.
set -euo pipefail

export BEATBOOK_TEST_BACKEND=postgres
if [ -n "${BEATBOOK_TEST_DATABASE_URL:-}" ]; then
  exec "$@"
fi

fail_or_skip() {
  if [ "${CI:-}" = true ]; then
    echo "error: PostgreSQL is required for the tests in CI: $*" >&2
    exit 1
  fi
  echo "warning: skipping the PostgreSQL run: $* (CI=true makes this an error)" >&2
  exit 0
}

find_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
pgbin=$(find_pg_bin)
if [ -z "$pgbin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "==> apt-get install postgresql" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2 || true
  pgbin=$(find_pg_bin)
fi
[ -n "$pgbin" ] || fail_or_skip "no PostgreSQL server binaries under /usr/lib/postgresql"

OLDPWD_CALLER=$PWD
dir=$(mktemp -d)
as_pg=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root.
  id postgres >/dev/null 2>&1 || fail_or_skip "running as root and there is no 'postgres' user"
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
  (cd "$dir" && "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1) || true
  rm -rf "$dir"
}
trap stop EXIT
# The server runs from its own directory: the postgres user may not enter the caller's.
cd "$dir"

"${as_pg[@]}" "$pgbin/initdb" -D "$dir/pg" -A trust -U postgres -E UTF8 >/dev/null \
  || fail_or_skip "initdb failed"
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$dir/log" >&2; fail_or_skip "the PostgreSQL server did not start"; }
echo "==> throwaway PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

export BEATBOOK_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
cd "$OLDPWD_CALLER"
"$@"
