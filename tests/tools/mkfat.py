#!/usr/bin/env python3
"""Make a universal (fat) Mach-O from thin ones, like `lipo -create`.

  mkfat.py [--64] OUT THIN...

Writes a FAT_MAGIC header (or FAT_MAGIC_64 with --64), big-endian, one fat_arch per
input with the cputype/cpusubtype of its Mach-O header, each slice at a 16 KiB
boundary (align 2^14, as lipo does for arm64). Slices are copied byte for byte, so
each slice's code signature stays valid.
"""
import struct
import sys

ALIGN_SHIFT = 14


def main():
    args = sys.argv[1:]
    fat64 = args and args[0] == "--64"
    if fat64:
        args = args[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    out, thins = args[0], [open(p, "rb").read() for p in args[1:]]
    hdr = struct.pack(">II", 0xCAFEBABF if fat64 else 0xCAFEBABE, len(thins))
    align = 1 << ALIGN_SHIFT
    off = align
    arches, body = b"", b""
    for t in thins:
        magic = struct.unpack_from("<I", t, 0)[0]
        end = "<" if magic in (0xFEEDFACE, 0xFEEDFACF) else ">"
        cpu, sub = struct.unpack_from(end + "II", t, 4)
        if fat64:
            arches += struct.pack(">IIQQII", cpu, sub, off, len(t), ALIGN_SHIFT, 0)
        else:
            arches += struct.pack(">IIIII", cpu, sub, off, len(t), ALIGN_SHIFT)
        pad = off - align - len(body)
        body += bytes(pad) + t
        off = (align + len(body) + align - 1) // align * align
    head = hdr + arches
    assert len(head) <= align
    with open(out, "wb") as f:
        f.write(head + bytes(align - len(head)) + body)


if __name__ == "__main__":
    main()
