#!/usr/bin/env python3
"""Independent reference numbers for Beatbook's scoring core, computed with PySAL and numpy.

For each real incident file it writes a gzipped CSV fixture that hotspot/tests/reference.rs
matches: per cell of the analysis grid, the training-window count, the Getis-Ord Gi* z-score
(esda.G_Local, star=True, binary queen weights from libpysal lat2W) and the Gaussian kernel
density at the cell centre (events per km², not divided by N); and in a JSON sidecar the grid, the
windows and PAI of the count ranking at 1/2/5/10 % of the grid.

Conventions shared with the Rust side (hotspot::Grid): pyproj EPSG:4326 -> the UTM zone given;
x0 = floor(min_x / size) * size over every located row of the file (the window never moves the
grid); cell_id = row * ncols + col, row 0 southernmost; windows are half-open [from, to) on the
local time as written; k = max(1, floor(p/100 * cells + 0.5)).

Usage (from the repository root, needs: pip install esda libpysal pyproj numpy):
  python3 hotspot/tests/reference/pysal_reference.py
"""
import csv
import gzip
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
from esda.getisord import G_Local
from libpysal.weights import lat2W
from pyproj import Transformer

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[3] / "shared" / "data"
CASES = [
    # name, file, epsg, cell size m, bandwidth m, train window, test window
    ("vancouver", "vancouver_crime_2020.csv", 32610, 150.0, 200.0,
     ("2020-01-01T00:00", "2020-07-01T00:00"), ("2020-07-01T00:00", "2021-01-01T00:00")),
    ("chicago", "chicago_aggravated_assaults_2010_2019.csv", 32616, 150.0, 200.0,
     ("2018-01-01T00:00", "2019-01-01T00:00"), ("2019-01-01T00:00", "2020-01-01T00:00")),
]
PERCENTS = [1.0, 2.0, 5.0, 10.0]


def gz_text(path):
    """A gzip text writer with a fixed timestamp, so re-running the script changes no byte."""
    return io.TextIOWrapper(gzip.GzipFile(path, "wb", mtime=0), newline="")


def normalise(t):
    t = t.strip().replace(" ", "T")
    return t[:16]


def load(path, epsg):
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    lon, lat, when = [], [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if not row["lat"] or not row["lon"]:
                continue
            lon.append(float(row["lon"]))
            lat.append(float(row["lat"]))
            when.append(normalise(row["occurred_at"]))
    x, y = to_utm.transform(np.array(lon), np.array(lat))
    return np.asarray(x), np.asarray(y), np.array(when)


def gaussian_kde(xc, yc, px, py, h):
    """Exact separable Gaussian KDE at the centres, in events per km² (no truncation)."""
    dens = np.zeros((len(yc), len(xc)))
    for start in range(0, len(px), 4096):
        gx = np.exp(-((xc[None, :] - px[start:start + 4096, None]) ** 2) / (2 * h * h))
        gy = np.exp(-((yc[None, :] - py[start:start + 4096, None]) ** 2) / (2 * h * h))
        dens += gy.T @ gx
    return dens.ravel() / (2 * math.pi * h * h) * 1e6


def main():
    for name, file, epsg, size, h, train, test in CASES:
        x, y, when = load(DATA / file, epsg)
        x0 = math.floor(x.min() / size) * size
        y0 = math.floor(y.min() / size) * size
        ncols = int(math.floor((x.max() - x0) / size)) + 1
        nrows = int(math.floor((y.max() - y0) / size)) + 1
        cell = np.floor((y - y0) / size).astype(np.int64) * ncols + np.floor((x - x0) / size).astype(np.int64)
        n = ncols * nrows
        in_train = (when >= train[0]) & (when < train[1])
        in_test = (when >= test[0]) & (when < test[1])
        c_train = np.bincount(cell[in_train], minlength=n).astype(float)
        c_test = np.bincount(cell[in_test], minlength=n).astype(float)

        w = lat2W(nrows, ncols, rook=False)
        gi = G_Local(c_train, w, transform="B", star=True, permutations=0)
        xc = x0 + (np.arange(ncols) + 0.5) * size
        yc = y0 + (np.arange(nrows) + 0.5) * size
        kde = gaussian_kde(xc, yc, x[in_train], y[in_train], h)

        # PAI of the count ranking: highest training count first, ties by lower cell id.
        order = np.lexsort((np.arange(n), -c_train))
        total = c_test.sum()
        pai = []
        for p in PERCENTS:
            k = max(1, int(math.floor(p / 100.0 * n + 0.5)))
            hit = c_test[order[:k]].sum()
            pai.append({"percent": p, "k": k, "n": hit, "total": total, "pai": (hit / total) / (k / n)})

        with gz_text(HERE / f"{name}.csv.gz") as out:
            wr = csv.writer(out, lineterminator="\n")
            wr.writerow(["cell_id", "count", "gi_star_z", "kde_per_km2"])
            for i in range(n):
                wr.writerow([i, int(c_train[i]), repr(float(gi.Zs[i])), repr(float(kde[i]))])
        meta = {
            "file": file, "epsg": epsg, "cell_size": size, "bandwidth": h, "train": train, "test": test,
            "x0": x0, "y0": y0, "ncols": ncols, "nrows": nrows, "located": int(len(x)),
            "train_events": int(in_train.sum()), "test_events": int(in_test.sum()), "pai_count": pai,
            "versions": {"esda": __import__("esda").__version__, "libpysal": __import__("libpysal").__version__,
                         "pyproj": __import__("pyproj").__version__, "numpy": np.__version__},
        }
        (HERE / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")

        # Projection check: every 50th located row, lat/lon as written -> pyproj easting/northing
        # at full precision (repr keeps every bit), for the sub-millimetre comparison.
        to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
        with open(DATA / file, newline="") as f, gz_text(HERE / f"{name}-projection.csv.gz") as out:
            wr = csv.writer(out, lineterminator="\n")
            wr.writerow(["lon", "lat", "easting", "northing"])
            located_rows = (r for r in csv.DictReader(f) if r["lat"] and r["lon"])
            for i, r in enumerate(located_rows):
                if i % 50 == 0:
                    e, n_ = to_utm.transform(float(r["lon"]), float(r["lat"]))
                    wr.writerow([r["lon"], r["lat"], repr(float(e)), repr(float(n_))])
        print(f"{name}: {ncols}x{nrows} cells, {meta['train_events']} train / {meta['test_events']} test events",
              file=sys.stderr)


if __name__ == "__main__":
    main()
