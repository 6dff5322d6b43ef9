#!/usr/bin/env bash
# Starts the freshly built server for the Playwright suite on a throwaway SQLite Data Bodega
# (seeded with the demo city on start; with E2E_EMPTY=1, empty, as a department's own first
# start) and removes it when the server stops.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
export BEATBOOK_DATABASE_URL="sqlite://$data/beatbook.db"
export BEATBOOK_ADDR="127.0.0.1:${E2E_PORT:-3107}"
export BEATBOOK_SITE_ROOT="target/site"
# The demo accounts (synthetic) get this password; the specs sign in with it.
export BEATBOOK_DEMO_PASSWORD="${BEATBOOK_DEMO_PASSWORD:-beatbook-e2e-password}"
bin="${BEATBOOK_SERVER_BIN:-target/debug/server}"
# A basemap the suite generates (no city basemap can be downloaded here): a schematic raster
# PMTiles over Vancouver, served with Range requests like a department's real file.
"$bin" basemap schematic --out "$data/basemap.pmtiles" --bbox=-123.23,49.19,-123.02,49.32 --min-zoom 11 --max-zoom 16 >/dev/null
export BEATBOOK_BASEMAP="$data/basemap.pmtiles"
export BEATBOOK_BASEMAP_ATTRIBUTION="Beatbook test grid"
if [ "${E2E_EMPTY:-}" != 1 ]; then
    # The demo city also has an online tile service: the loopback one playwright.config.ts starts.
    export BEATBOOK_TILE_URL="http://127.0.0.1:$(( ${E2E_PORT:-3107} + 3 ))/tiles/{z}/{x}/{y}.png"
    export BEATBOOK_TILE_ATTRIBUTION="Beatbook test tiles"
fi
if [ "${E2E_EMPTY:-}" = 1 ]; then
    # A department's first start with the demo off: an empty Data Bodega and one administrator,
    # made the way the README says (`server user add`).
    export BEATBOOK_SEED_DEMO=false
    BEATBOOK_NEW_PASSWORD="$BEATBOOK_DEMO_PASSWORD" "$bin" user add founder --name "First Administrator" --role admin >/dev/null
fi
"$bin" serve &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; rm -rf "$data"' EXIT INT TERM
wait $pid
