#!/usr/bin/env python3
"""Draws Beatbook's app icons (PNG, ICO, SVG) into public/icons with the standard library only.

The mark: a 3x3 block of micro places on a navy field, one of them lit amber — a hot spot.
Run from the repository root: python3 scripts/make-icons.py
"""
import struct
import zlib
from pathlib import Path

NAVY = (11, 37, 69)
CELL = (29, 78, 137)
HOT = (244, 162, 89)
OUT = Path("public/icons")


def png(width, height, pixel):
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def mark(size, inset, rounded):
    """Pixel function: cells laid out inside [inset, size - inset]; rounded field corners if asked."""
    inner = size - 2 * inset
    gap = inner * 0.06
    cell = (inner - 2 * gap) / 3
    radius = size * 0.18 if rounded else 0

    def pixel(x, y):
        cx, cy = x + 0.5, y + 0.5
        if radius:
            dx = max(radius - cx, 0, cx - (size - radius))
            dy = max(radius - cy, 0, cy - (size - radius))
            if dx * dx + dy * dy > radius * radius:
                return (255, 255, 255)
        lx, ly = cx - inset, cy - inset
        if 0 <= lx < inner and 0 <= ly < inner:
            col, row = int(lx // (cell + gap)), int(ly // (cell + gap))
            if lx - col * (cell + gap) < cell and ly - row * (cell + gap) < cell:
                return HOT if (col, row) == (2, 0) else CELL
        return NAVY

    return pixel


def ico(png_bytes, size):
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png_bytes), 6 + 16)
    return header + entry + png_bytes


def svg():
    cells = []
    for row in range(3):
        for col in range(3):
            fill = "#f4a259" if (col, row) == (2, 0) else "#1d4e89"
            x, y = 12 + col * 14.4, 12 + row * 14.4
            cells.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" fill="{fill}"/>')
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
            '<rect width="64" height="64" rx="11.5" fill="#0b2545"/>' + "".join(cells) + "</svg>\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(png(size, size, mark(size, size * 0.17, False)))
    # Maskable: the platform crops to its own shape; keep the mark inside the central 80 % safe zone.
    (OUT / "icon-maskable-512.png").write_bytes(png(512, 512, mark(512, 512 * 0.26, False)))
    (OUT / "apple-touch-icon.png").write_bytes(png(180, 180, mark(180, 180 * 0.17, False)))
    Path("public/favicon.ico").write_bytes(ico(png(32, 32, mark(32, 5, False)), 32))
    (OUT / "icon.svg").write_text(svg())


if __name__ == "__main__":
    main()
