#!/usr/bin/env python3
"""Adds VPD's hundred block and neighbourhood to the demo city's incident file.

The demo file (bodega/demo/vancouver_crime_2020.csv) is VPD's 2020 export in Beatbook's canonical
shape; its `id` is the 1-based row number of VPD's original (`crimedata_csv_AllNeighbourhoods_2020.csv`).
This joins the original's HUNDRED_BLOCK and NEIGHBOURHOOD onto each row by that number, as the
canonical file's optional `address` and `neighbourhood` columns, so the demo's places get names.

Usage: scripts/demo-blocks.py ORIGINAL.csv[.gz] [DEMO.csv]
"""
import csv
import gzip
import sys


def main() -> None:
    original = sys.argv[1]
    demo = sys.argv[2] if len(sys.argv) > 2 else "bodega/demo/vancouver_crime_2020.csv"
    opener = gzip.open if original.endswith(".gz") else open
    with opener(original, "rt", newline="", encoding="utf-8") as f:
        source = list(csv.DictReader(f))
    with open(demo, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    base = header[:6]
    if base != ["id", "occurred_at", "offense", "category", "lat", "lon"]:
        sys.exit(f"unexpected demo header {header}")
    out = []
    for row in rows:
        src = source[int(row[0]) - 1]
        if src["TYPE"] != row[2]:
            sys.exit(f"row {row[0]}: offence {row[2]!r} is {src['TYPE']!r} in the original")
        out.append(row[:6] + [src["HUNDRED_BLOCK"].strip(), src["NEIGHBOURHOOD"].strip()])
    with open(demo, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(base + ["address", "neighbourhood"])
        w.writerows(out)
    print(f"{demo}: {len(out)} rows with address and neighbourhood")


if __name__ == "__main__":
    main()
