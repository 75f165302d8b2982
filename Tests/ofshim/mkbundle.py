#!/usr/bin/env python3
"""Builds an ofshim handoff bundle (format: docs/ofshim.md, version 1).

    mkbundle.py -o BUNDLE --client ELF [--args ARGS] [--bootpath PATH]
                [--disk IMAGE [--partitions 1,2] [--head BLOCKS] [--block-size 512]]

The disk's MBR names the partitions; the bundle carries the first --head blocks
of the disk (the partition table) and the whole of each partition chosen, as
extents. kexboot's Swift side writes the same bytes; this is the reference.
"""
import argparse
import struct
import sys
import zlib

MAGIC = b"KXOFBNDL"
VERSION = 1
HEADER = struct.Struct(">8sIIIIIIIIQIIIIII")  # 0x48 bytes
assert HEADER.size == 0x48
PART = struct.Struct(">IIQQ")     # number, type, start block, block count
EXTENT = struct.Struct(">QQII")   # disk block, block count, data offset, reserved


def align(n, a=8):
    return (n + a - 1) // a * a


def build(client=b"", args=None, bootpath=None, block_size=512, disk_blocks=0,
          partitions=(), extents=(), version=VERSION, magic=MAGIC, flags=0):
    """partitions: (number, type, start, count); extents: (disk block, bytes)."""
    out = bytearray(HEADER.size)
    def put(data, a=8):
        out.extend(b"\0" * (align(len(out), a) - len(out)))
        off = len(out)
        out.extend(data)
        return off
    args_off = put(args.encode() + b"\0", 1) if args is not None else 0
    boot_off = put(bootpath.encode() + b"\0", 1) if bootpath is not None else 0
    parts_off = put(b"".join(PART.pack(*p) for p in partitions))
    ext_off = put(b"\0" * (EXTENT.size * len(extents)))
    client_off = put(client) if client else 0
    table = []
    for block, data in extents:
        assert len(data) % block_size == 0, "extent data must be whole blocks"
        table.append(EXTENT.pack(block, len(data) // block_size, put(data), 0))
    out[ext_off:ext_off + EXTENT.size * len(extents)] = b"".join(table)
    out.extend(b"\0" * (align(len(out)) - len(out)))
    HEADER.pack_into(out, 0, magic, version, HEADER.size, len(out), 0,
                     client_off, len(client), args_off, boot_off, disk_blocks, block_size,
                     len(partitions), parts_off, len(extents), ext_off, flags)
    struct.pack_into(">I", out, 0x14, zlib.crc32(bytes(out)) & 0xffffffff)
    return bytes(out)


def mbr_partitions(disk, block_size=512):
    """The primary MBR partitions as (number, type, start, count)."""
    if disk[510:512] != b"\x55\xaa":
        raise SystemExit("mkbundle: the disk has no MBR signature")
    parts = []
    for i in range(4):
        e = disk[446 + 16 * i:462 + 16 * i]
        ptype, start, count = e[4], *struct.unpack("<II", e[8:16])
        if ptype and count:
            parts.append((i + 1, ptype, start, count))
    return parts


def from_disk(disk, client, args, bootpath, chosen=None, head=1, block_size=512):
    parts = mbr_partitions(disk, block_size)
    extents = [(0, disk[:head * block_size])]
    for num, _, start, count in parts:
        if chosen is None or num in chosen:
            extents.append((start, disk[start * block_size:(start + count) * block_size]))
    extents.sort()
    return build(client, args, bootpath, block_size, len(disk) // block_size, parts, extents)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--client", help="the client ELF")
    ap.add_argument("--args", help="the client's arguments (/chosen bootargs)")
    ap.add_argument("--bootpath", help="the boot disk's Open Firmware path")
    ap.add_argument("--disk", help="a raw disk image with an MBR")
    ap.add_argument("--partitions", help="comma-separated partition numbers to carry (default: all)")
    ap.add_argument("--head", type=int, default=1, help="blocks from the start of the disk to carry")
    ap.add_argument("--block-size", type=int, default=512)
    a = ap.parse_args()
    client = open(a.client, "rb").read() if a.client else b""
    if a.disk:
        disk = open(a.disk, "rb").read()
        chosen = {int(x) for x in a.partitions.split(",")} if a.partitions else None
        data = from_disk(disk, client, a.args, a.bootpath, chosen, a.head, a.block_size)
    else:
        data = build(client, a.args, a.bootpath)
    open(a.output, "wb").write(data)
    print(f"mkbundle: {a.output}: {len(data)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
