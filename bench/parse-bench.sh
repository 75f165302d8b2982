#!/usr/bin/env bash
# Benchmark `kexboot parse` against grub-script-check on a generated ~2 MB grub.cfg.
#
# Usage: bench/parse-bench.sh [KEXBOOT_BINARY]   (default: .build/release/kexboot)
#
# Goals: kexboot mean time <= grub-script-check mean time; kexboot peak RSS <= 20 MiB.
# Always exits 0 once it has measured (misses are printed as "GOAL MISSED" lines);
# exits 1 if the binary is missing or a command under test fails.
set -euo pipefail

# Resolve a given binary path against the caller's cwd, then work from the repo root.
if [[ $# -ge 1 ]]; then KEXBOOT=$(realpath -m -- "$1"); fi
cd "$(dirname "$0")/.."
KEXBOOT=${KEXBOOT:-$PWD/.build/release/kexboot}
RSS_GOAL_KIB=$((20 * 1024))

if [[ ! -x $KEXBOOT ]]; then
  echo "kexboot binary not found: $KEXBOOT" >&2
  echo "Build it first:  swift build -c release --static-swift-stdlib" >&2
  exit 1
fi

# Print a command (shell-quoted, so it can be pasted) and run it.
run() { printf '+'; printf ' %q' "$@"; echo; "$@"; }

# Install missing tools (Debian packages).
need=()
command -v grub-script-check >/dev/null || need+=(grub-common)
command -v hyperfine >/dev/null || need+=(hyperfine)
[[ -x /usr/bin/time ]] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  run $sudo apt-get update
  run $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

WORK=$(mktemp -d /tmp/kexboot-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/root/boot/grub"
CFG=root/boot/grub/grub.cfg   # paths below are relative to $WORK, keeping commands short

echo "== Setup (in $WORK)"
run python3 bench/gen-grub-cfg.py "$WORK/$CFG"
cd "$WORK"
SIZE=$(stat -c %s "$CFG")
ENTRIES=$(grep -cE '^[[:space:]]*menuentry ' "$CFG")
SUBMENUS=$(grep -cE '^[[:space:]]*submenu ' "$CFG")

GSC_CMD="grub-script-check $CFG"
KEX_CMD="$(printf %q "$KEXBOOT") parse root --json > /dev/null"

echo
echo "== Peak RSS (single run each, KiB)"
echo "+ cd $WORK"
rss() {  # rss NAME CMD... -> peak RSS in KiB of CMD (stdout discarded) into $WORK/NAME.rss
  local name=$1; shift
  printf '+ /usr/bin/time -f %%M -o %s.rss' "$name"; printf ' %q' "$@"; echo ' > /dev/null'
  if ! /usr/bin/time -f %M -o "$name.rss" "$@" >/dev/null 2>"$name.err"; then
    echo "FAILED: $* exited non-zero:" >&2; cat "$name.err" "$name.rss" >&2; exit 1
  fi
}
rss gsc grub-script-check "$CFG"
rss kex "$KEXBOOT" parse root --json
GSC_RSS=$(tail -n1 gsc.rss); KEX_RSS=$(tail -n1 kex.rss)

echo
echo "== Time (hyperfine)"
echo "+ cd $WORK"
HF=(hyperfine --warmup 2 --min-runs 10 --export-markdown bench.md --export-json bench.json)
echo "+ ${HF[*]} '$GSC_CMD' '$KEX_CMD'"
"${HF[@]}" "$GSC_CMD" "$KEX_CMD"

echo
echo "== Markdown (hyperfine --export-markdown)"
cat bench.md

# mean/stddev in ms from hyperfine's JSON, in the order the commands were given.
read -r GSC_MS GSC_SD KEX_MS KEX_SD < <(python3 -c '
import json, sys
r = json.load(open("bench.json"))["results"]
print(" ".join("%.2f %.2f" % (x["mean"] * 1e3, x["stddev"] * 1e3) for x in r))')
RATIO=$(python3 -c "print('%.3f' % ($KEX_MS / $GSC_MS))")

echo
echo "== Summary"
echo "host:               $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
echo "tools:              $(grub-script-check --version), $(hyperfine --version)"
echo "input:              $CFG, $SIZE bytes, $ENTRIES menuentries ($SUBMENUS submenus)"
echo "grub-script-check:  mean $GSC_MS ms ± $GSC_SD ms, peak RSS $GSC_RSS KiB"
echo "kexboot parse:      mean $KEX_MS ms ± $KEX_SD ms, peak RSS $KEX_RSS KiB"
echo "ratio (kexboot / grub-script-check time): $RATIO"
if python3 -c "import sys; sys.exit(0 if $KEX_MS <= $GSC_MS else 1)"; then
  echo "goal met:    kexboot time ($KEX_MS ms) <= grub-script-check time ($GSC_MS ms)"
else
  echo "GOAL MISSED: kexboot time ($KEX_MS ms) > grub-script-check time ($GSC_MS ms)"
fi
if ((KEX_RSS <= RSS_GOAL_KIB)); then
  echo "goal met:    kexboot peak RSS ($KEX_RSS KiB) <= 20 MiB ($RSS_GOAL_KIB KiB)"
else
  echo "GOAL MISSED: kexboot peak RSS ($KEX_RSS KiB) > 20 MiB ($RSS_GOAL_KIB KiB)"
fi
