#!/usr/bin/env python3
"""kexboot built for ppc64le, run under qemu-user (Debian's qemu-user-static), against the
x86_64 build of the same sources: the same answers from both.

  --version                   the same version line
  parse ROOT --json           every example config and test fixture: the same JSON, and
                              the fixture's golden expected.json (the iPXE example asks
                              `cpuid`, which only x86 has: its entries may differ)
  elf FILE --json             ppc64 ELFs of both byte orders (the shim's test clients) and
                              an x86_64 one: the same report
  bad input                   a truncated ELF and a missing config: the same error, the
                              same exit status
  no lqarx                    the binary has no quadword-atomic instructions (they hang
                              under QEMU; scripts/build-swift-ppc64le.sh)

Usage: Tests/ppc64le/run.py --ppc64le BIN --host BIN [--elf FILE]...
Last line: "ppc64le: N passed, M failed".
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}" + (f"\n     {detail}" if detail else ""))


def run(cmd, timeout=120):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    return r.returncode, r.stdout, r.stderr


def both(args, ppc, host):
    """Runs kexboot ARGS under qemu-user and natively; returns the two results."""
    return run(["qemu-ppc64le-static", ppc, *args]), run([host, *args])


def config_roots():
    """(root, extra arguments, golden JSON or None): the example configs (the folder is the
    root) and the parser's test fixtures (NAME/root, NAME/args, NAME/expected.json)."""
    roots = []
    for base in ("Configs/examples", "Tests/KexbootConfigTests/Fixtures"):
        for name in sorted(os.listdir(os.path.join(REPO, base))):
            d = os.path.join(base, name)
            if not os.path.isdir(os.path.join(REPO, d)):
                continue
            args_file = os.path.join(REPO, d, "args")
            extra = open(args_file).read().split() if os.path.exists(args_file) else []
            golden = os.path.join(REPO, d, "expected.json")
            root = os.path.join(d, "root") if os.path.isdir(os.path.join(REPO, d, "root")) else d
            roots.append((root, extra, golden if os.path.exists(golden) else None))
    return roots


# Examples whose answer is the machine's own, and why: everything else must be the same.
MACHINE_SPECIFIC = {
    "Configs/examples/ipxe-menu": "iPXE's cpuid exists on x86 only, so the script picks i386 there",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ppc64le", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--elf", action="append", default=[])
    a = ap.parse_args()
    if not shutil.which("qemu-ppc64le-static"):
        print("qemu-ppc64le-static is missing (apt-get install qemu-user-static)")
        sys.exit(1)

    r = run(["file", a.ppc64le])[1]
    check("64-bit PowerPC" in r and "LSB" in r and "statically linked" in r,
          "the binary is a static little-endian ppc64 executable", r.strip())
    objdump = os.path.join(os.path.dirname(os.path.realpath(shutil.which("swiftc") or "/opt/swift/usr/bin/swiftc")),
                           "llvm-objdump")
    dis = subprocess.run([objdump, "-d", a.ppc64le], capture_output=True, text=True).stdout
    check(dis.count("\tlqarx") == 0 and dis.count("\tlwarx") + dis.count("\tldarx") > 0,
          "no lqarx (quadword atomics) in the binary, and word atomics present")

    (pc, pout, perr), (hc, hout, herr) = both(["--version"], a.ppc64le, a.host)
    check(pc == 0 and pout == hout and pout.strip() != "", "--version: " + pout.strip(), perr + herr)

    for root, extra, golden in config_roots():
        (pc, pout, perr), (hc, hout, herr) = both(["parse", root, "--json", *extra], a.ppc64le, a.host)
        if pc != hc:
            check(False, f"parse {root}: exit {pc} on ppc64le, {hc} on x86_64", perr[-300:])
            continue
        try:
            pj, hj = json.loads(pout), json.loads(hout)
        except ValueError as e:
            check(False, f"parse {root}: JSON", str(e))
            continue
        if pj == hj:
            check(True, f"parse {root}: the same JSON ({len(pout)} bytes)")
            if golden:
                check(pj == json.load(open(golden)), f"parse {root}: ppc64le's JSON is the fixture's expected.json")
        elif root in MACHINE_SPECIFIC:
            # Only the entries may differ, and only in their strings (titles, URLs).
            same = isinstance(pj, dict) and {k: v for k, v in pj.items() if k != "entries"} == \
                {k: v for k, v in hj.items() if k != "entries"} and len(pj.get("entries", [])) == len(hj.get("entries", []))
            check(same, f"parse {root}: the same except where {MACHINE_SPECIFIC[root]}")
        else:
            diff = [k for k in set(pj) | set(hj) if pj.get(k) != hj.get(k)] if isinstance(pj, dict) else []
            check(False, f"parse {root}: outputs differ", f"keys {diff}")

    elves = list(a.elf)
    elves.append(a.host)  # an x86_64 ELF too
    for elf in elves:
        (pc, pout, perr), (hc, hout, herr) = both(["elf", elf, "--json"], a.ppc64le, a.host)
        check(pc == hc == 0 and pout == hout and "segments" in pout,
              f"elf {os.path.basename(elf)}: the same report", (perr + herr)[-300:])

    with tempfile.TemporaryDirectory() as tmp:
        src = a.elf[0] if a.elf else a.host
        cut = os.path.join(tmp, "truncated.elf")
        with open(src, "rb") as f, open(cut, "wb") as g:
            g.write(f.read()[:100])
        (pc, pout, perr), (hc, hout, herr) = both(["elf", cut], a.ppc64le, a.host)
        check(pc == hc and pc != 0 and perr == herr and perr.strip() != "",
              f"a truncated ELF: the same error, exit {pc}", perr.strip()[:200])
        (pc, pout, perr), (hc, hout, herr) = both(["parse", tmp, "--config", "missing.cfg"], a.ppc64le, a.host)
        check(pc == hc and pc != 0 and perr == herr, f"a missing config: the same error, exit {pc}",
              perr.strip()[:200])

    print(f"ppc64le: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
