#!/usr/bin/env python3
"""Independent reader of Mach-O code signatures, for checking warden's C parser.

Written separately from scanner/macho.c on purpose (different language, different
route: whole-file slicing with struct, hashlib, and the `cryptography` package for the
CMS certificates instead of OpenSSL's CMS API). Prints one JSON object per slice:
arch, cdhash (of the strongest CodeDirectory), hash type, CD version and flags,
signing ID, team ID, leaf certificate SHA-256/CN/OU and whether every code page and
special slot hash matches.

usage: csinfo.py FILE...
"""
import hashlib
import json
import struct
import sys

FAT_MAGIC, FAT_MAGIC_64 = 0xCAFEBABE, 0xCAFEBABF
MH_MAGIC, MH_MAGIC_64 = 0xFEEDFACE, 0xFEEDFACF
LC_CODE_SIGNATURE = 0x1D
CSMAGIC_EMBEDDED_SIGNATURE = 0xFADE0CC0
CSMAGIC_CODEDIRECTORY = 0xFADE0C02
CSSLOT_CODEDIRECTORY = 0
CSSLOT_ALTERNATE = range(0x1000, 0x1005)
CSSLOT_SIGNATURESLOT = 0x10000
HASHES = {1: ("sha1", 20), 2: ("sha256", 32), 3: ("sha256", 20), 4: ("sha384", 48)}
RANK = {1: 1, 3: 2, 2: 3, 4: 4}  # xnu hashPriorities: sha1 < sha256_truncated < sha256 < sha384
CPUS = {7: "i386", 0x1000007: "x86_64", 12: "arm", 0x100000C: "arm64", 0x200000C: "arm64_32"}


def be32(d, o):
    return struct.unpack_from(">I", d, o)[0]


def slices(data):
    magic = be32(data, 0)
    if magic == FAT_MAGIC:
        n = be32(data, 4)
        for i in range(n):
            cpu, sub, off, size, _ = struct.unpack_from(">5I", data, 8 + 20 * i)
            yield cpu, sub, off, size
    elif magic == FAT_MAGIC_64:
        n = be32(data, 4)
        for i in range(n):
            cpu, sub, off, size, _, _ = struct.unpack_from(">IIQQII", data, 8 + 32 * i)
            yield cpu, sub, off, size
    else:
        yield None, None, 0, len(data)


def code_signature(m):
    magic = struct.unpack_from("<I", m, 0)[0]
    if magic in (MH_MAGIC, MH_MAGIC_64):
        end = "<"
    else:
        end = ">"
        magic = struct.unpack_from(">I", m, 0)[0]
    hdr = 28 if magic == MH_MAGIC else 32
    cpu, sub, _, ncmds = struct.unpack_from(end + "iIII", m, 4)
    off = hdr
    for _ in range(ncmds):
        cmd, size = struct.unpack_from(end + "II", m, off)
        if cmd == LC_CODE_SIGNATURE:
            dataoff, datasize = struct.unpack_from(end + "II", m, off + 8)
            return cpu & 0xFFFFFFFF, sub, m[dataoff:dataoff + datasize]
        off += size
    return cpu & 0xFFFFFFFF, sub, None


def cstr(d, o):
    e = d.index(b"\0", o)
    return d[o:e].decode()


def certs(cms):
    from cryptography.hazmat.primitives.serialization import pkcs7, Encoding
    from cryptography.x509.oid import NameOID
    cs = pkcs7.load_der_pkcs7_certificates(cms[8:be32(cms, 4)])
    if not cs:
        return None
    # The leaf is the one certificate that issued no other certificate in the bag.
    issuers = {c.issuer.rfc4514_string() for c in cs}
    leaves = [c for c in cs if c.subject.rfc4514_string() not in issuers]
    leaf = leaves[0] if leaves else cs[0]
    def attr(oid):
        v = leaf.subject.get_attributes_for_oid(oid)
        return v[0].value if v else ""
    return {
        "certificate_sha256": hashlib.sha256(leaf.public_bytes(Encoding.DER)).hexdigest(),
        "certificate_cn": attr(NameOID.COMMON_NAME),
        "certificate_ou": attr(NameOID.ORGANIZATIONAL_UNIT_NAME),
    }


def inspect(m, cpu, sub, sig):
    out = {"arch": CPUS.get(cpu, "cpu:%d" % cpu)}
    if sub is not None and cpu == 0x100000C and (sub & 0xFF) == 2:
        out["arch"] = "arm64e"
    if sub is not None and cpu == 0x1000007 and (sub & 0xFF) == 8:
        out["arch"] = "x86_64h"
    if sig is None:
        out["signature"] = "unsigned"
        return out
    assert be32(sig, 0) == CSMAGIC_EMBEDDED_SIGNATURE
    count = be32(sig, 8)
    blobs = {}
    for i in range(count):
        typ, off = struct.unpack_from(">II", sig, 12 + 8 * i)
        length = be32(sig, off + 4)
        blobs[typ] = sig[off:off + length]
    cds = [blobs[t] for t in [CSSLOT_CODEDIRECTORY, *CSSLOT_ALTERNATE] if t in blobs
           and be32(blobs[t], 0) == CSMAGIC_CODEDIRECTORY]
    cd = max(cds, key=lambda c: RANK.get(c[37], 0))
    (version, flags, hashoff, identoff, nspecial, ncode, codelimit) = struct.unpack_from(">7I", cd, 8)
    hashsize, hashtype, platform, pagesize = cd[36], cd[37], cd[38], cd[39]
    teamoff = be32(cd, 48) if version >= 0x20200 else 0
    if version >= 0x20300 and be32(cd, 56):
        codelimit = struct.unpack_from(">Q", cd, 56)[0]
    name, hlen = HASHES[hashtype]
    cdhash = hashlib.new(name, cd).digest()[:20].hex()
    out.update(cdhash=cdhash, hash_type=hashtype, cd_version=version, cd_flags=flags,
               signing_id=cstr(cd, identoff), team_id=cstr(cd, teamoff) if teamoff else None)
    # code pages
    ok, bad = True, None
    page = 1 << pagesize if pagesize else codelimit
    for i in range(ncode):
        chunk = m[i * page:min((i + 1) * page, codelimit)]
        want = cd[hashoff + i * hashsize:hashoff + (i + 1) * hashsize]
        if hashlib.new(name, chunk).digest()[:hashsize] != want:
            ok, bad = False, "page %d" % i
            break
    for slot in range(1, nspecial + 1):
        want = cd[hashoff - slot * hashsize:hashoff - (slot - 1) * hashsize]
        if slot in blobs:
            got = hashlib.new(name, blobs[slot]).digest()[:hashsize]
            if got != want:
                ok, bad = False, "special slot %d" % slot
        elif want != bytes(hashsize) and slot != 1:
            # slot 1 (Info.plist) and 3 (resources) live outside the signature in bundles
            pass
    out["pages_ok"] = ok
    if bad:
        out["first_bad"] = bad
    cms = blobs.get(CSSLOT_SIGNATURESLOT)
    c = certs(cms) if cms and len(cms) > 8 + 8 and be32(cms, 0) == 0xFADE0B01 and be32(cms, 4) > 8 else None
    if c and cms:
        out.update(c)
        out["signature"] = "signed"
    else:
        out["signature"] = "adhoc"
    return out


def main():
    for path in sys.argv[1:]:
        data = open(path, "rb").read()
        for cpu, sub, off, size in slices(data):
            m = data[off:off + size]
            mcpu, msub, sig = code_signature(m)
            r = inspect(m, mcpu, msub, sig)
            r["path"] = path
            print(json.dumps(r, sort_keys=True))


if __name__ == "__main__":
    main()
