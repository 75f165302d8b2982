#!/usr/bin/env python3
"""A TFTP server whose every file is endless: for tests of the fetcher's limits.

Usage: tftp-endless.py [--interval SECONDS]; prints "PORT" once it listens on 127.0.0.1.
Each read request gets its own socket (as real servers answer, from a new port): an OACK
granting the block size asked for (no tsize: the length is unknown), then DATA blocks of
that size, full ones only, each after the previous one's ACK and --interval seconds,
block numbers rolling over after 65535. A client that stops acknowledging is given up
after five retransmissions a second apart. Every request is logged to stderr.
"""
import argparse, socket, struct, sys, threading, time


def serve(client, request, interval):
    parts = request[2:].split(b"\0")
    name = parts[0].decode(errors="replace")
    options = {parts[i].decode().lower(): parts[i + 1].decode() for i in range(2, len(parts) - 1, 2) if parts[i]}
    sys.stderr.write(f"RRQ {name} {options}\n")
    sys.stderr.flush()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(1.0)
    size = 512
    if "blksize" in options:
        # The OACK is acknowledged as block 0.
        size = max(8, min(int(options["blksize"]), 1468))
        block = 0
        packet = struct.pack("!H", 6) + b"blksize\0" + str(size).encode() + b"\0"
    else:
        block = 1
        packet = struct.pack("!HH", 3, block) + b"k" * size
    sent = 0
    while True:
        try:
            s.sendto(packet, client)
        except OSError:
            return
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            sent += 1
            if sent >= 5:
                return
            continue
        if peer != client or len(data) < 4:
            continue
        opcode, number = struct.unpack("!HH", data[:4])
        if opcode == 5:
            return
        if opcode != 4 or number != block:
            continue
        sent = 0
        time.sleep(interval)
        block = (block + 1) & 0xFFFF
        packet = struct.pack("!HH", 3, block) + b"k" * size


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=0.0)
    args = parser.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    while True:
        data, client = s.recvfrom(2048)
        if len(data) > 2 and struct.unpack("!H", data[:2])[0] == 1:
            threading.Thread(target=serve, args=(client, data, args.interval), daemon=True).start()


main()
