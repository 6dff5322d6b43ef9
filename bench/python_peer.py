#!/usr/bin/env python3
"""The Python peer of Beatbook's scoring benchmark, "done the fast way": the same 1,000,000 points
(written by `cargo run --release -p hotspot --example workload_points`), projected with pyproj,
gridded with numpy, Gi* with esda G_Local on a libpysal lat2W queen lattice, and a separable numpy
Gaussian KDE (h = 200 m) at the 150 m cell centres. Timed in-process with perf_counter, best of
three runs; prints one JSON object.

Usage: python3 bench/python_peer.py POINTS.f64
Needs: pip install numpy pyproj esda libpysal
"""
import json
import math
import sys
import time

import numpy as np
from esda.getisord import G_Local
from libpysal.weights import lat2W
from pyproj import Transformer

SIZE, H, EPSG = 150.0, 200.0, 32616


def kde(xc, yc, px, py, h):
    dens = np.zeros((len(yc), len(xc)))
    for s in range(0, len(px), 16384):
        gx = np.exp(-((xc[None, :] - px[s:s + 16384, None]) ** 2) / (2 * h * h))
        gy = np.exp(-((yc[None, :] - py[s:s + 16384, None]) ** 2) / (2 * h * h))
        dens += gy.T @ gx
    return dens / (2 * math.pi * h * h) * 1e6


def run(lon, lat):
    t = {}
    t0 = time.perf_counter()
    x, y = Transformer.from_crs("EPSG:4326", f"EPSG:{EPSG}", always_xy=True).transform(lon, lat)
    t1 = time.perf_counter()
    x0, y0 = math.floor(x.min() / SIZE) * SIZE, math.floor(y.min() / SIZE) * SIZE
    ncols, nrows = int((x.max() - x0) // SIZE) + 1, int((y.max() - y0) // SIZE) + 1
    cell = ((y - y0) // SIZE).astype(np.int64) * ncols + ((x - x0) // SIZE).astype(np.int64)
    counts = np.bincount(cell, minlength=ncols * nrows).astype(float)
    t2 = time.perf_counter()
    w = lat2W(nrows, ncols, rook=False)
    t3 = time.perf_counter()
    G_Local(counts, w, transform="B", star=True, permutations=0)
    t4 = time.perf_counter()
    kde(x0 + (np.arange(ncols) + 0.5) * SIZE, y0 + (np.arange(nrows) + 0.5) * SIZE, x, y, H)
    t5 = time.perf_counter()
    t.update(project=t1 - t0, grid=t2 - t1, weights=t3 - t2, gi_star=t4 - t3, kde=t5 - t4, total=t5 - t0)
    return t, ncols * nrows


def main():
    pts = np.fromfile(sys.argv[1], dtype="<f8").reshape(-1, 2)
    lon, lat = pts[:, 0].copy(), pts[:, 1].copy()
    best, cells = None, 0
    for _ in range(3):
        t, cells = run(lon, lat)
        if best is None or t["total"] < best["total"]:
            best = t
    print(json.dumps({"points": len(lon), "cells": cells, "seconds": best,
                      "numpy": np.__version__, "threads_note": "OPENBLAS/MKL may use several threads for the KDE matmul"}))


if __name__ == "__main__":
    main()
