#!/usr/bin/env bash
# Beatbook's scoring benchmark, three ways on the same 1,000,000 points (the Chicago aggravated
# assaults resampled with ±75 m jitter), scored into 150 m cells with harm, Gi* and a Gaussian
# KDE (h = 200 m): native Rust (criterion, one core), WebAssembly in headless Chromium (release),
# and the Python peer done the fast way (pyproj, esda G_Local, separable numpy KDE; one thread).
# Usage: bench/run.sh   (needs ../shared/data beside the repository; installs the Python peer's
# packages with pip if missing). Writes bench/out/*.json and prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
data=../shared/data/chicago_aggravated_assaults_2010_2019.csv
[ -f "$data" ] || { echo "missing $data" >&2; exit 1; }

echo "== workload points"
cargo run -q --release -p hotspot --example workload_points -- "$data" bench/out/chicago_1m.f64

echo "== native (criterion)"
cargo bench -q -p hotspot --bench score -- --noplot 2>&1 | tee bench/out/native.txt | grep -E "^score|time:"

echo "== WebAssembly in headless Chromium (release)"
CHROMEDRIVER=/usr/bin/chromedriver cargo test --release -p frontend --features bench \
  --target wasm32-unknown-unknown --test bench -- --nocapture 2>&1 | tee bench/out/wasm.txt | grep -E "wasm score_1m_chicago" || true

echo "== Python peer (one thread)"
python3 -c 'import esda, libpysal, pyproj, numpy' 2>/dev/null || pip install --quiet esda libpysal pyproj numpy
# Benchmark numpy with its own best kernel: the machine-wide OpenBLAS overrides slow it down.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
  python3 bench/python_peer.py bench/out/chicago_1m.f64 | tee bench/out/python.json
