#!/usr/bin/env bash
# libFuzzer harnesses for kexboot's parsers of untrusted bytes (Tests/Fuzz/Harness).
#
#   scripts/fuzz.sh build                    build .build-fuzz/debug/kexboot-fuzz (ASan + libFuzzer)
#   scripts/fuzz.sh replay [HARNESS...]      run every seed and regression input once
#   scripts/fuzz.sh smoke SECONDS [HARNESS...]   replay, then fuzz each harness SECONDS
#   scripts/fuzz.sh run SECONDS [HARNESS...]     the same, for longer runs (make fuzz)
#   scripts/fuzz.sh list                     the harness names
#
# Each harness runs with a 10 s limit per input, 2 GiB of RSS and 512 MiB per allocation:
# an input that makes a parser slow or greedy is a finding, as a crash is. Findings go to
# build/fuzz/findings/HARNESS/ (the reproducer's path is printed); new interesting inputs to
# build/fuzz/work/HARNESS/, never into the repository. A fixed finding becomes a file in
# Tests/Fuzz/regressions/HARNESS/, which every replay runs.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
BIN=.build-fuzz/debug/kexboot-fuzz
HARNESSES=(grub bls syslinux pxelinux ipxe yaboot kboot native settings protocol dhcp4 dhcp6 uevent elf devicetree gpt iso9660)
LIMITS=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512)
# A crash is reported by libFuzzer and ASan, with the input that caused it.
export SWIFT_BACKTRACE=enable=no

build() {
  KEXBOOT_FUZZ_BUILD=1 $SWIFT build --scratch-path .build-fuzz -c debug \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --product kexboot-fuzz >&2
}

inputs() {
  local h=$1
  for d in Tests/Fuzz/corpus/$h Tests/Fuzz/regressions/$h; do [ -d "$d" ] && echo "$d"; done
}

# Runs every kept input of a harness once: a crash, a limit or a failed property fails.
replay() {
  local h=$1 dirs
  mapfile -t dirs < <(inputs "$h")
  [ ${#dirs[@]} -gt 0 ] || return 0
  mkdir -p "build/fuzz/findings/$h"
  if ! KEXBOOT_FUZZ=$h "$BIN" "${LIMITS[@]}" -runs=0 -artifact_prefix="build/fuzz/findings/$h/" "${dirs[@]}" \
      > "build/fuzz/$h.replay.log" 2>&1; then
    tail -40 "build/fuzz/$h.replay.log" >&2
    echo "fuzz: $h: a kept input fails (log: build/fuzz/$h.replay.log)" >&2
    return 1
  fi
  echo "replay $h: $(grep -c . < <(find "${dirs[@]}" -type f)) inputs ok"
}

fuzz() {
  local h=$1 seconds=$2 dirs
  mapfile -t dirs < <(inputs "$h")
  mkdir -p "build/fuzz/work/$h" "build/fuzz/findings/$h"
  if ! KEXBOOT_FUZZ=$h "$BIN" "${LIMITS[@]}" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="build/fuzz/findings/$h/" "build/fuzz/work/$h" "${dirs[@]}" > "build/fuzz/$h.log" 2>&1; then
    tail -60 "build/fuzz/$h.log" >&2
    echo "fuzz: $h: FINDING: $(grep -o 'Test unit written to .*' "build/fuzz/$h.log" | tail -1)" >&2
    return 1
  fi
  local execs rate cov
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build/fuzz/$h.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "build/fuzz/$h.log")
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "build/fuzz/$h.log" | tail -1)
  echo "fuzz $h: ${seconds}s, $execs runs, $rate exec/s, $cov, no findings"
}

cmd=${1:-}
shift || true
case "$cmd" in
  build) build ;;
  list) printf '%s\n' "${HARNESSES[@]}" ;;
  replay|smoke|run)
    [ "$cmd" = replay ] || { seconds=${1:?seconds}; shift; }
    [ $# -gt 0 ] && chosen=("$@") || chosen=("${HARNESSES[@]}")
    build
    mkdir -p build/fuzz
    failed=0
    for h in "${chosen[@]}"; do
      replay "$h" || failed=1
      if [ "$cmd" != replay ]; then fuzz "$h" "$seconds" || failed=1; fi
    done
    exit $failed ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
