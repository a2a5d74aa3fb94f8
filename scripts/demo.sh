#!/usr/bin/env bash
# coral in one minute: builds coral (Release, into build-demo/), generates a short training run
# of 5 checkpoints (~64 MiB each, float32, Hugging Face layout) and versions it in a fresh
# repository, showing every command as a transcript. Exits non-zero on any failure.
#
# Usage: ./scripts/demo.sh
# Environment: CORAL_DEMO_SIZE_MB (default 64), CORAL_DEMO_EPOCHS (default 5, at least 3),
#              CORAL_DEMO_KEEP=1 keeps the temporary directory, CORAL_BUILD_DIR (default build-demo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/deps.sh"
coral_install_packages "${CORAL_PACKAGES[@]}" python3-torch

size_mb=${CORAL_DEMO_SIZE_MB:-64}
epochs=${CORAL_DEMO_EPOCHS:-5}
[ "$epochs" -ge 3 ] || { echo "demo: CORAL_DEMO_EPOCHS must be at least 3" >&2; exit 2; }

bold='' reset=''
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\e[1m' reset=$'\e[0m'; fi
note() { printf '%s# %s%s\n' "$bold" "$*" "$reset"; }
# Prints a command as a transcript line: "$ cmd arg 'arg with spaces'".
show() {
  local line='$' a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./=~:@%+,^-]+$ ]]; then line+=" $a"; else line+=" \"${a//\"/\\\"}\""; fi
  done
  printf '%s%s%s\n' "$bold" "$line" "$reset"
}
# Prints a command line exactly as given (for globs, pipes and process substitutions).
show_raw() { printf '%s$ %s%s\n' "$bold" "$1" "$reset"; }
run() { show "$@"; "$@"; }

# --- build ---------------------------------------------------------------------------------
build=${CORAL_BUILD_DIR:-$root/build-demo}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
note "building coral (Release) into ${build#"$root"/}/ ..."
build_log=$(mktemp -t coral-demo-build.XXXXXX.log)
if ! { cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCORAL_BUILD_TESTS=OFF \
         "${launcher[@]}" && cmake --build "$build" -j "$(nproc)" --target coral; } >"$build_log" 2>&1; then
  tail -40 "$build_log" >&2
  echo "demo: the build failed (full log: $build_log)" >&2
  exit 1
fi
rm -f "$build_log"
export PATH="$build/src/cli:$PATH"
coral --version

# --- data ----------------------------------------------------------------------------------
tmp=$(mktemp -d -t coral-demo.XXXXXX)
cleanup() {
  local rc=$?
  if [ -n "${CORAL_DEMO_KEEP:-}" ] || [ "$rc" -ne 0 ]; then echo "demo: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
note "generating a training run: $epochs checkpoints of ~$size_mb MiB (float32, trained with AdamW)"
/usr/bin/python3 "$root/benchmarks/data/gen_checkpoints.py" --out "$tmp/checkpoints" \
  --epochs "$epochs" --size-mb "$size_mb" --dtype f32 --seed 0 >/dev/null
val_loss() { sed -n "s/^{\"epoch\": $1, \"val_loss\": \([-0-9.eE+]*\)}\$/\1/p" "$tmp/checkpoints/metrics.jsonl"; }
ls -l "$tmp/checkpoints/epoch-1"

# --- the transcript ------------------------------------------------------------------------
mkdir "$tmp/repo"
cd "$tmp/repo"
note "a fresh repository in $tmp/repo; the checkpoints are in ../checkpoints/epoch-N/"
run coral init
mkdir ckpt
for n in $(seq 1 "$epochs"); do
  loss=$(val_loss "$n")
  [ -n "$loss" ] || { echo "demo: no val_loss for epoch $n" >&2; exit 1; }
  show_raw "cp ../checkpoints/epoch-$n/* ckpt/"
  cp "../checkpoints/epoch-$n/"* ckpt/
  run coral add ckpt
  run coral commit -m "epoch $n" --metric "val_loss=$loss"
done

run coral log --oneline
run coral log -n 1
run coral diff HEAD~1 HEAD --stat
show_raw "coral diff HEAD~1 HEAD | head -20"
coral diff HEAD~1 HEAD >"$tmp/diff.txt"   # to a file first: head must not cut coral's pipe
head -20 "$tmp/diff.txt"

run coral branch finetune HEAD~2
run coral checkout finetune
run coral status
run coral checkout main

note "byte-identical check: epoch 1 checked out from the repository vs the generated files"
run coral checkout "HEAD~$((epochs - 1))"
show_raw "diff <(ls ckpt) <(ls ../checkpoints/epoch-1)"
diff <(ls ckpt) <(ls ../checkpoints/epoch-1)
nfiles=0
for f in ../checkpoints/epoch-1/*; do
  show cmp "$f" "ckpt/${f##*/}"
  cmp "$f" "ckpt/${f##*/}"
  nfiles=$((nfiles + 1))
done
echo "ok: all $nfiles files of epoch 1 are byte-identical"
run coral checkout main
for f in "../checkpoints/epoch-$epochs/"*; do cmp "$f" "ckpt/${f##*/}"; done
echo "ok: back on main, ckpt/ is epoch $epochs again"

note "storage: .coral against the raw bytes of all $epochs checkpoints"
raw=$(du -scb ../checkpoints/epoch-* | tail -1 | cut -f1)
stored=$(du -sb .coral | cut -f1)
awk -v raw="$raw" -v stored="$stored" -v n="$epochs" 'BEGIN {
  printf "raw checkpoints: %d bytes (%.1f MiB, %d checkpoints)\n", raw, raw / 1048576, n
  printf ".coral:          %d bytes (%.1f MiB)\n", stored, stored / 1048576
  printf "stored/raw = %.3f   (raw/stored = %.2fx)\n", stored / raw, raw / stored
}'
note "demo finished: all steps succeeded"
