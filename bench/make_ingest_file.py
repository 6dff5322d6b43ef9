#!/usr/bin/env python3
"""Writes a canonical incident file of N rows (default 1,000,000) by resampling the real Vancouver
2020 file with replacement (seeded), giving each row a new id — the Data Bodega's ingest benchmark
input. Usage: python3 bench/make_ingest_file.py [N] > bench/out/ingest_1m.csv"""
import csv
import random
import sys
from pathlib import Path

src = Path(__file__).resolve().parents[1] / "bodega" / "demo" / "vancouver_crime_2020.csv"
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rows = list(csv.reader(open(src, newline="")))
header, body = rows[0], rows[1:]
rng = random.Random(2026)
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(header)
for i in range(1, n + 1):
    r = list(rng.choice(body))
    r[0] = str(i)
    out.writerow(r)
