#!/bin/bash
# Coverage-guided fuzzing of the Open Firmware shim's parsers of untrusted bytes (issue 18):
# the shim's own C (initramfs/ofshim/) built for this host with libFuzzer, ASan and UBSan.
#
#   scripts/fuzz-shim.sh build             # build/fuzz-shim/{bundle,fdt,ci}; incremental
#   scripts/fuzz-shim.sh smoke SECONDS [H...]  # replay every seed and regression once, then
#                                          # fuzz each harness SECONDS from a fresh copy of its seeds
#   scripts/fuzz-shim.sh run SECONDS [H...]    # the same, but the scratch corpus is kept between runs
#   scripts/fuzz-shim.sh replay HARNESS FILE...   # inputs one by one, with the shim's console
#
# Harnesses (Tests/ofshim/fuzz/): bundle (the handoff bundle, its client ELF, the disk
# reads it serves), fdt (the device tree, the shim's start on it, a client walking it),
# ci (client-interface calls on a fixed tree and bundle). Seeds: Tests/Fuzz/corpus/shim-H/
# (Tests/ofshim/fuzz/make-seeds.py); inputs that once failed: Tests/Fuzz/regressions/shim-H/.
# Scratch corpora: build/fuzz-shim/work/H/ (nothing is merged back into the repository);
# findings: build/fuzz-shim/findings/. One fuzzer process at a time; -timeout=5 and
# -rss_limit_mb=2048. Exit status 1 on any finding, with the reproducer's path.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=build/fuzz-shim
HARNESSES=(bundle fdt ci)
SRC=initramfs/ofshim
FUZZ=Tests/ofshim/fuzz

if [ -z "${CC_FUZZ:-}" ]; then
	if [ -x /opt/swift/usr/bin/clang ]; then CC_FUZZ=/opt/swift/usr/bin/clang; else CC_FUZZ=clang; fi
fi
CFLAGS=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -DOFSHIM_HOST -I"$SRC" -I"$FUZZ"
	-fsanitize=address,undefined -fno-sanitize-recover=all)
LDFLAGS=(-fsanitize=fuzzer,address,undefined)
# lld when the compiler has it: the system's gold warns about every ASan symbol
if [ -x "$(dirname "$(command -v "$CC_FUZZ")")/ld.lld" ] || command -v ld.lld > /dev/null; then LDFLAGS+=(-fuse-ld=lld); fi

# newer TARGET DEP...: true when TARGET is missing or older than any DEP
stale() {
	local t=$1 d
	shift
	[ -e "$t" ] || return 0
	for d in "$@"; do [ "$d" -nt "$t" ] && return 0; done
	return 1
}

compile() {	# OBJECT SOURCE EXTRA-FLAGS... -- DEPS...
	local obj=$1 src=$2 flags=() deps=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do flags+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	deps=("$src" "$@" "$0")
	if stale "$obj" "${deps[@]}"; then
		echo "  CC $obj"
		"$CC_FUZZ" "${CFLAGS[@]}" "${flags[@]}" -c "$src" -o "$obj"
	fi
}

build() {
	mkdir -p "$OUT/obj"
	if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' |
		"$CC_FUZZ" "${LDFLAGS[@]}" -x c - -o "$OUT/obj/probe" 2> "$OUT/obj/probe.log"; then
		echo "fuzz-shim: $CC_FUZZ cannot link -fsanitize=fuzzer,address,undefined:" >&2
		cat "$OUT/obj/probe.log" >&2
		exit 2
	fi
	local shim_deps=("$SRC"/*.c "$SRC"/*.h "$FUZZ/host.h")
	# the shim: coverage, and the call-depth hook (host-rt.c) on every function it keeps
	compile "$OUT/obj/shim-host.o" "$FUZZ/shim-host.c" -fsanitize=fuzzer-no-link -finstrument-functions-after-inlining \
		-- "${shim_deps[@]}"
	compile "$OUT/obj/client.o" "$FUZZ/client.c" -fsanitize=fuzzer-no-link -- "$FUZZ/client.h" "${shim_deps[@]}"
	compile "$OUT/obj/host-rt.o" "$FUZZ/host-rt.c" -U OFSHIM_HOST --
	local h
	for h in "${HARNESSES[@]}"; do
		compile "$OUT/obj/fuzz-$h.o" "$FUZZ/fuzz-$h.c" -fsanitize=fuzzer-no-link -- "$FUZZ/client.h" "${shim_deps[@]}"
		local objs=("$OUT/obj/fuzz-$h.o" "$OUT/obj/shim-host.o" "$OUT/obj/client.o" "$OUT/obj/host-rt.o")
		if stale "$OUT/$h" "${objs[@]}"; then
			echo "  LD $OUT/$h"
			"$CC_FUZZ" "${LDFLAGS[@]}" "${objs[@]}" -o "$OUT/$h"
		fi
	done
}

seeds_of() { find "Tests/Fuzz/corpus/shim-$1" "Tests/Fuzz/regressions/shim-$1" -type f ! -name 'README*' 2> /dev/null | sort; }

# Every seed and regression once; a failure names its file.
replay_all() {
	local h=$1 log="$OUT/logs/$h-replay.log" files
	mapfile -t files < <(seeds_of "$h")
	if [ ${#files[@]} -eq 0 ]; then echo "fuzz-shim: $h: no seeds"; return 1; fi
	if "$OUT/$h" -timeout=5 -rss_limit_mb=2048 "${files[@]}" > "$log" 2>&1; then
		echo "fuzz-shim: $h: replayed ${#files[@]} seeds and regressions: ok"
		return 0
	fi
	local bad
	bad=$(grep '^Running: ' "$log" | tail -1 | cut -d' ' -f2-)
	grep -E 'ERROR|FINDING|runtime error|SUMMARY|timeout' "$log" | head -5 >&2 || true
	echo "fuzz-shim: $h: FINDING on replay: reproducer $bad (log $log)" >&2
	return 1
}

fuzz() {	# HARNESS SECONDS fresh|keep
	local h=$1 secs=$2 work="$OUT/work/$1" log="$OUT/logs/$1.log" f
	[ "$3" = fresh ] && rm -rf "$work"
	mkdir -p "$work" "$OUT/findings"
	while read -r f; do cp -n "$f" "$work/" 2> /dev/null || true; done < <(seeds_of "$h")
	local before
	before=$(ls "$OUT/findings" | grep -c "^$h-" || true)
	set +e
	local dict=()
	[ -f "$FUZZ/$h.dict" ] && dict=(-dict="$FUZZ/$h.dict")
	"$OUT/$h" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$OUT/findings/$h-" "$work" > "$log" 2>&1
	local rc=$?
	set -e
	local last stats
	last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
	stats=$(grep -E 'stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" |
		sed 's/stat:://' | tr -s ' ' | tr '\n' ' ' || true)
	echo "fuzz-shim: $h: ${last:-no progress line}"
	echo "fuzz-shim: $h: $stats"
	local after
	after=$(ls "$OUT/findings" | grep -c "^$h-" || true)
	if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
		grep -E 'ERROR|FINDING|runtime error|SUMMARY|ALARM' "$log" | head -5 >&2 || true
		local art
		art=$(grep -oE "Test unit written to \S+" "$log" | tail -1 | cut -d' ' -f5 || true)
		echo "fuzz-shim: $h: FINDING (exit $rc): reproducer ${art:-see $log}" >&2
		echo "fuzz-shim: reproduce with: scripts/fuzz-shim.sh replay $h ${art:-FILE}" >&2
		return 1
	fi
	return 0
}

campaign() {	# SECONDS fresh|keep [HARNESS...]
	local secs=${1:?seconds} mode=$2
	shift 2
	[ $# -gt 0 ] && HARNESSES=("$@")
	build
	mkdir -p "$OUT/logs"
	local h failed=0
	for h in "${HARNESSES[@]}"; do replay_all "$h" || failed=1; done
	for h in "${HARNESSES[@]}"; do fuzz "$h" "$secs" "$mode" || failed=1; done
	exit $failed
}

case "${1:-}" in
build) build ;;
smoke) shift; campaign "${1:-}" fresh "${@:2}" ;;
run) shift; campaign "${1:-}" keep "${@:2}" ;;
replay)
	shift
	h=${1:?harness}
	shift
	build > /dev/null
	OFSHIM_FUZZ_LOG=1 "$OUT/$h" -timeout=5 -rss_limit_mb=2048 "$@"
	;;
*)
	sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
