#!/usr/bin/env bash
# Refreshes the map libraries vendored under public/vendor/ from the npm registry, at the pinned
# versions below. The files are committed so that `make run` needs no network; run this only to
# upgrade them (then check the bundle and the Playwright map tests).
#   leaflet       — the map (BSD-2-Clause)
#   pmtiles       — reads the department's one-file basemap with HTTP Range requests (BSD-3-Clause)
#   supercluster  — clusters dense incident points on the crime view (ISC)
set -euo pipefail
cd "$(dirname "$0")/.."
LEAFLET=1.9.4
PMTILES=4.5.0
SUPERCLUSTER=8.0.1
out=public/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "leaflet@$LEAFLET" "pmtiles@$PMTILES" "supercluster@$SUPERCLUSTER" >/dev/null)
for pkg in leaflet-$LEAFLET pmtiles-$PMTILES supercluster-$SUPERCLUSTER; do
  mkdir -p "$work/$pkg" && tar xzf "$work/$pkg.tgz" -C "$work/$pkg"
done
mkdir -p "$out"
cp "$work/leaflet-$LEAFLET/package/dist/leaflet.js" "$out/leaflet.js"
cp "$work/leaflet-$LEAFLET/package/dist/leaflet.css" "$out/leaflet.css"
cp "$work/pmtiles-$PMTILES/package/dist/pmtiles.js" "$out/pmtiles.js"
cp "$work/supercluster-$SUPERCLUSTER/package/dist/supercluster.min.js" "$out/supercluster.js"
{
  echo "Third-party files in this folder, copied from the npm registry by scripts/vendor-map.sh (unmodified, except that leaflet.css has its image url()s removed)."
  echo
  for pkg in leaflet-$LEAFLET pmtiles-$PMTILES supercluster-$SUPERCLUSTER; do
    echo "== ${pkg} =="
    cat "$work/$pkg/package/LICENSE"* 2>/dev/null || grep '"license"' "$work/$pkg/package/package.json"
    echo
  done
} > "$out/LICENSES.txt"
# Leaflet's stylesheet points at marker and layer-control images Beatbook does not use (it draws
# circle markers); strip the dangling url()s so the browser does not ask for missing files.
sed -i -E 's#background-image: url\(images/[^)]*\);##g; s#url\(images/[^)]*\)#none#g' "$out/leaflet.css"
echo "vendored: leaflet $LEAFLET, pmtiles $PMTILES, supercluster $SUPERCLUSTER -> $out"
