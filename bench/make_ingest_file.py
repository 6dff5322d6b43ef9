#!/usr/bin/env python3
"""Writes the Data Bodega's ingest benchmark input: N rows (default 1,000,000) resampled with
replacement (seeded) from the real Vancouver 2020 file, in one of two shapes:

  canonical  id,occurred_at,offense,category,lat,lon   (new ids 1..N)
  vancouver  the VPD original's columns (TYPE,...,NEIGHBOURHOOD,X,Y), for
             `--mapping bench/vpd-neighbourhoods-as-districts.toml`, which reads the neighbourhood
             as the district for the district-year query benchmark

Usage: python3 bench/make_ingest_file.py [N] [canonical|vancouver] > FILE.csv"""
import csv
import gzip
import random
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
shape = sys.argv[2] if len(sys.argv) > 2 else "canonical"
if shape == "canonical":
    rows = list(csv.reader(open(root / "bodega" / "demo" / "vancouver_crime_2020.csv", newline="")))
else:
    rows = list(csv.reader(gzip.open(root.parent / "shared" / "data" / "vancouver_crime_2020.original.csv.gz", "rt", newline="")))
header, body = rows[0], rows[1:]
rng = random.Random(2026)
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(header)
for i in range(1, n + 1):
    r = list(rng.choice(body))
    if shape == "canonical":
        r[0] = str(i)
    out.writerow(r)
