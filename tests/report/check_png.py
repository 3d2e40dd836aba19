#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that a PNG screenshot is not blank, without comparing pixels:

    check_png.py FILE.png MIN_COLORS MIN_PERMILLE

decodes the PNG (8-bit RGB or RGBA, not interlaced, as Chromium writes
it) with zlib, and requires at least MIN_COLORS distinct colours and at
least MIN_PERMILLE per mille of pixels that are not white. Prints what it
measured; exit status 1 when the picture looks blank, 2 when it cannot be
read.
"""
import struct
import sys
import zlib


def chunks(data):
    at = 8
    while at < len(data):
        n, kind = struct.unpack(">I4s", data[at:at + 8])
        yield kind, data[at + 8:at + 8 + n]
        at += 12 + n


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def unfilter(raw, width, height, bpp):
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    at = 0
    for _ in range(height):
        ftype = raw[at]
        line = bytearray(raw[at + 1:at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 255
        rows.append(bytes(line))
        prev = line
    return rows


def main():
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        print("not a PNG")
        return 2
    idat = b""
    for kind, body in chunks(data):
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(
                ">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    if depth != 8 or ctype not in (2, 6) or interlace:
        print("unsupported PNG: depth %d, colour type %d" % (depth, ctype))
        return 2
    bpp = 3 if ctype == 2 else 4
    rows = unfilter(zlib.decompress(idat), width, height, bpp)
    colors = set()
    ink = 0
    for line in rows:
        for i in range(0, len(line), bpp):
            px = line[i:i + 3]
            colors.add(px)
            ink += px != b"\xff\xff\xff"
    permille = 1000 * ink // (width * height)
    print("%dx%d, %d colours, %d per mille not white" %
          (width, height, len(colors), permille))
    ok = len(colors) >= int(sys.argv[2]) and permille >= int(sys.argv[3])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
