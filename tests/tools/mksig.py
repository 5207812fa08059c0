#!/usr/bin/env python3
"""Ad-hoc code signer for test fixtures (what `codesign -s -` does, minus the Mac).

  mksig.py sign IN OUT [options]   add an ad-hoc signature to a thin 64-bit
                                   little-endian Mach-O that has none (e.g. what
                                   GOOS=darwin GOARCH=amd64 go build writes)
  mksig.py tiny ARCH OUT [options] write a small Mach-O of ARCH (i386, ppc,
                                   x86_64, arm64) made of a header, LC_CODE_SIGNATURE
                                   and --size bytes of patterned "code", signed

options:
  --ident ID            signing identifier (default: the output's file name)
  --team TEAM           team identifier written into the CodeDirectory (v >= 0x20200)
  --hashes LIST         comma list of sha1, sha256, sha256t (truncated), sha384: the
                        first CodeDirectory goes in slot 0, the others are alternates
                        in slots 0x1000... (default sha256)
  --version V           CodeDirectory version (default 0x20400, like Go's linker)
  --flags F             CodeDirectory flags (default 0x2, CS_ADHOC)
  --requirements        add an empty requirements blob (slot 2)
  --entitlements XML    add an entitlements blob (slot 5) with this text
  --size N              tiny: bytes of code (default 10000: two pages and a partial one)
  --unsigned            tiny: no LC_CODE_SIGNATURE at all
  --scatter             add a scatter vector (v >= 0x20100): two runs of pages

It is a test tool: it writes what our reader needs to see and what tests/tools/
csinfo.py checks independently; it does not try to produce a binary a Mac would run.
"""
import argparse
import hashlib
import os
import struct
import sys

HASHES = {"sha1": (1, 20, "sha1"), "sha256": (2, 32, "sha256"),
          "sha256t": (3, 20, "sha256"), "sha384": (4, 48, "sha384")}
ARCHS = {"i386": (7, 3, False, "<"), "ppc": (18, 0, False, ">"),
         "x86_64": (0x1000007, 3, True, "<"), "arm64": (0x100000C, 0, True, "<")}
PAGE_SHIFT = 12
LC_SEGMENT_64, LC_CODE_SIGNATURE = 0x19, 0x1D


def align(n, a):
    return (n + a - 1) // a * a


def hsh(kind, data):
    _, size, name = HASHES[kind]
    return hashlib.new(name, data).digest()[:size]


def cd_header_size(version):
    for v, size in ((0x20600, 108), (0x20500, 96), (0x20400, 88), (0x20300, 64),
                    (0x20200, 52), (0x20100, 48)):
        if version >= v:
            return size
    return 44


def code_directory(kind, image, codelimit, args, specials, exec_limit):
    htype, hsize, _ = HASHES[kind]
    version = args.version
    hdr = cd_header_size(version)
    ident = args.ident.encode() + b"\0"
    team = (args.team.encode() + b"\0") if args.team and version >= 0x20200 else b""
    nspecial = max(specials) if specials else 0
    page = 1 << PAGE_SHIFT
    ncode = (codelimit + page - 1) // page
    # Scatter: {count, base, targetOffset, spare} runs covering pages 0..ncode-1 in two
    # pieces, then a zero terminator.
    scatter = b""
    if args.scatter and version >= 0x20100:
        first = ncode // 2
        scatter = struct.pack(">4I", first, 0, 0, 0) + struct.pack(">4I", ncode - first, first, 0, 0) + bytes(16)
    scatteroff = hdr if scatter else 0
    identoff = hdr + len(scatter)
    teamoff = identoff + len(ident) if team else 0
    hashoff = identoff + len(ident) + len(team) + nspecial * hsize
    length = hashoff + ncode * hsize
    out = bytearray(length)
    struct.pack_into(">9I", out, 0, 0xFADE0C02, length, version, args.flags, hashoff,
                     identoff, nspecial, ncode, codelimit if codelimit < 1 << 32 else 0)
    struct.pack_into(">4BI", out, 36, hsize, htype, 0, PAGE_SHIFT, 0)
    if version >= 0x20100:
        struct.pack_into(">I", out, 44, scatteroff)
    out[hdr:hdr + len(scatter)] = scatter
    if version >= 0x20200:
        struct.pack_into(">I", out, 48, teamoff)
    if version >= 0x20300:
        struct.pack_into(">IQ", out, 52, 0, codelimit)
    if version >= 0x20400:
        struct.pack_into(">QQQ", out, 64, 0, exec_limit, 1)
    out[identoff:identoff + len(ident)] = ident
    if team:
        out[teamoff:teamoff + len(team)] = team
    for slot, blob in specials.items():
        o = hashoff - slot * hsize
        out[o:o + hsize] = hsh(kind, blob)
    for i in range(ncode):
        o = hashoff + i * hsize
        out[o:o + hsize] = hsh(kind, image[i * page:min((i + 1) * page, codelimit)])
    return bytes(out)


def specials_of(args):
    sp = {}
    if args.requirements:
        sp[2] = struct.pack(">III", 0xFADE0C01, 12, 0)
    if args.entitlements:
        e = args.entitlements.encode()
        sp[5] = struct.pack(">II", 0xFADE7171, 8 + len(e)) + e
    return sp


def superblob(image, codelimit, args, exec_limit):
    specials = specials_of(args)
    kinds = args.hashes.split(",")
    blobs = []
    for i, k in enumerate(kinds):
        slot = 0 if i == 0 else 0x1000 + i - 1
        blobs.append((slot, code_directory(k, image, codelimit, args, specials, exec_limit)))
    blobs += sorted(specials.items())
    blobs.sort(key=lambda b: b[0])
    off = 12 + 8 * len(blobs)
    index, body = b"", b""
    for slot, blob in blobs:
        index += struct.pack(">II", slot, off + len(body))
        body += blob
    return struct.pack(">III", 0xFADE0CC0, off + len(body), len(blobs)) + index + body


def sig_size(codelimit, args):
    # The signature's size depends only on counts, so compute it from a dry run.
    return len(superblob(bytes(codelimit), codelimit, args, 0))


def sign_existing(data, args):
    data = bytearray(data)
    magic, cpu, sub, ftype, ncmds, sizeofcmds, flags, _ = struct.unpack_from("<8I", data, 0)
    if magic != 0xFEEDFACF:
        sys.exit("sign: only thin 64-bit little-endian Mach-O is supported")
    off, linkedit, first_sect, text_filesize = 32, None, len(data), 0
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, off)
        if cmd == LC_CODE_SIGNATURE:
            sys.exit("sign: already signed")
        if cmd == LC_SEGMENT_64:
            name = data[off + 8:off + 24].rstrip(b"\0")
            fileoff, filesize = struct.unpack_from("<QQ", data, off + 40)
            nsects = struct.unpack_from("<I", data, off + 64)[0]
            if name == b"__LINKEDIT":
                linkedit = off
            if name == b"__TEXT":
                text_filesize = filesize
            for s in range(nsects):
                so = struct.unpack_from("<I", data, off + 72 + 80 * s + 48)[0]
                if so:
                    first_sect = min(first_sect, so)
        off += size
    if linkedit is None or off + 16 > first_sect:
        sys.exit("sign: no __LINKEDIT or no room for a load command")
    dataoff = align(len(data), 16)
    data += bytes(dataoff - len(data))
    struct.pack_into("<4I", data, off, LC_CODE_SIGNATURE, 16, dataoff, 0)
    struct.pack_into("<II", data, 16, ncmds + 1, sizeofcmds + 16)
    datasize = sig_size(dataoff, args)
    struct.pack_into("<4I", data, off, LC_CODE_SIGNATURE, 16, dataoff, datasize)
    le_fileoff = struct.unpack_from("<Q", data, linkedit + 40)[0]
    filesize = dataoff + datasize - le_fileoff
    struct.pack_into("<Q", data, linkedit + 32, align(filesize, 0x4000))  # vmsize
    struct.pack_into("<Q", data, linkedit + 48, filesize)
    sig = superblob(bytes(data), dataoff, args, text_filesize)
    assert len(sig) == datasize
    return bytes(data) + sig


def tiny(arch, args):
    cpu, sub, is64, end = ARCHS[arch]
    hdr = 32 if is64 else 28
    magic = 0xFEEDFACF if is64 else 0xFEEDFACE
    if args.unsigned:
        body = bytearray(max(args.size, hdr))
        for i in range(hdr, len(body)):
            body[i] = (i * 7 + 3) & 0xFF
        fields = [magic, cpu, sub, 2, 0, 0, 0] + ([0] if is64 else [])
        struct.pack_into(end + "%dI" % len(fields), body, 0, *fields)
        return bytes(body)
    code_start = hdr + 16
    size = max(args.size, code_start)
    dataoff = align(size, 16)
    body = bytearray(dataoff)
    for i in range(code_start, size):
        body[i] = (i * 7 + 3) & 0xFF
    fields = [magic, cpu, sub, 2, 1, 16, 0] + ([0] if is64 else [])
    struct.pack_into(end + "%dI" % len(fields), body, 0, *fields)
    datasize = sig_size(dataoff, args)
    struct.pack_into(end + "4I", body, hdr, LC_CODE_SIGNATURE, 16, dataoff, datasize)
    return bytes(body) + superblob(bytes(body), dataoff, args, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["sign", "tiny"])
    ap.add_argument("src", help="input Mach-O (sign) or architecture (tiny)")
    ap.add_argument("out")
    ap.add_argument("--ident")
    ap.add_argument("--team")
    ap.add_argument("--hashes", default="sha256")
    ap.add_argument("--version", type=lambda s: int(s, 0), default=0x20400)
    ap.add_argument("--flags", type=lambda s: int(s, 0), default=0x2)
    ap.add_argument("--requirements", action="store_true")
    ap.add_argument("--entitlements")
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--unsigned", action="store_true")
    ap.add_argument("--scatter", action="store_true")
    args = ap.parse_args()
    if args.ident is None:
        args.ident = os.path.basename(args.out)
    if args.mode == "sign":
        out = sign_existing(open(args.src, "rb").read(), args)
    else:
        out = tiny(args.src, args)
    with open(args.out, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
