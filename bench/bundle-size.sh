#!/usr/bin/env bash
# Reports the gzip -9 size of the release bundle Beatbook ships to devices: every pkg/*.wasm and
# pkg/*.js. Goal: at most 300 KB together. Usage: bench/bundle-size.sh [target/site/pkg]
set -euo pipefail
pkg="${1:-target/site/pkg}"
total_raw=0
total_gz=0
shopt -s nullglob
files=("$pkg"/*.wasm "$pkg"/*.js)
[ ${#files[@]} -gt 0 ] || { echo "no bundle in $pkg: run 'cargo leptos build --release' first" >&2; exit 1; }
printf '%-48s %12s %12s\n' file raw_bytes gzip9_bytes
for f in "${files[@]}"; do
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  total_raw=$((total_raw + raw))
  total_gz=$((total_gz + gz))
  printf '%-48s %12d %12d\n' "$(basename "$f")" "$raw" "$gz"
done
printf '%-48s %12d %12d\n' TOTAL "$total_raw" "$total_gz"
limit=$((300 * 1000))
if [ "$total_gz" -le "$limit" ]; then verdict=within; else verdict=OVER; fi
echo "gzip total ${total_gz} B: ${verdict} the 300 KB goal"
