#!/usr/bin/env bash
# The release benchmark: coral against zstd, reference coders (byte planes, XOR deltas) and cp on
# generated checkpoints (an FP32 series, its BF16 casts, fine-tunes, int8 quantized variants),
# side by side in the same run, coral merge against a numpy merger (benchmarks/ref_merge.py),
# coral prune/gc/fsck against cp -a and cat, plus coral_bench's micro-benchmarks. Writes
# docs/performance.md. Not part of the test suite. Takes about 14-17 minutes with the defaults on a
# 2-core VM (about 2-4 of them generating the data, 2-3 in zstd -19, 2 in the merge benchmark, 2-3
# in the gc benchmark, 3 in coral_bench).
#
# Usage: benchmarks/run.sh [--epochs N] [--size-mb M] [--reps R] [--merge-reps R] [--gc-reps R]
#                          [--z19 MODE] [--data DIR] [--work DIR] [--out FILE] [--no-micro] [--keep]
#        benchmarks/run.sh --only merge [--merge-reps R] [--splice FILE] [--data DIR] ...
#        benchmarks/run.sh --only gc [--gc-reps R] [--splice FILE] [--data DIR] ...
#   --epochs 5 --size-mb 100   the FP32 series generated: N checkpoints of about M MiB; the BF16
#                        series, 3 fine-tunes and 2 quantized variants come from the same run
#                        (about 1.3 GB in all with the defaults; --size-mb 200: 2.5 GB, ~15 min)
#   --reps 5             repetitions of every throughput measurement; the best is reported
#   --merge-reps 5       repetitions of each `coral merge` strategy and its numpy twin (0: none)
#   --gc-reps 3          repetitions of each prune/gc/fsck measurement and its cp/cat twin (0: none)
#   --only merge|gc      run only the merge (or the gc/prune) benchmark; its section (markdown) goes
#                        to stdout, or to --out FILE alone; docs/performance.md is left as it is unless
#   --splice FILE        puts the section into FILE, in place of its older "## Merge" (or
#                        "## Maintenance (gc, prune)") section; a new gc section goes before Merge
#   --z19 MODE           checkpoints zstd -19 compresses: first (of each set; default),
#                        first-last, all (slow: ~2 MB/s), none
#   --data DIR           use (or generate once into) DIR instead of a temporary directory
#   --work DIR           scratch directory (default: a new directory under $TMPDIR or /tmp);
#                        it must be on the disk you want to measure
#   --out FILE           the report (default docs/performance.md; "-" for none; with --only
#                        the default is "-")
#   --no-micro           skip the coral_bench micro-benchmarks
#   --keep               keep the scratch directory
# Environment: CORAL_BUILD_DIR (default build-bench), CORAL_BUILD_JOBS (default nproc).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command_line="benchmarks/run.sh${*:+ $*}"

epochs=5 size_mb=100 reps=5 z19=first data='' work='' out='' micro=1 keep='' merge_reps=5 gc_reps=3 only='' splice=''
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs=$2; shift 2 ;;
    --size-mb) size_mb=$2; shift 2 ;;
    --z19) z19=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-micro) micro=''; shift ;;
    --keep) keep=1; shift ;;
    --merge-reps) merge_reps=$2; shift 2 ;;
    --gc-reps) gc_reps=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --splice) splice=$2; shift 2 ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$only" in
  '') [ -n "$out" ] || out="$root/docs/performance.md" ;;
  merge|gc) [ -n "$out" ] || out=-; micro='' ;;
  *) echo "run.sh: --only takes: merge, gc" >&2; exit 2 ;;
esac

source "$root/scripts/deps.sh"
coral_install_packages "${CORAL_PACKAGES[@]}" python3-torch time

# --- build (Release) -------------------------------------------------------------------------
build=${CORAL_BUILD_DIR:-$root/build-bench}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
targets=(coral)
bench_opt=()
if [ -n "$micro" ]; then targets+=(coral_bench); bench_opt=(-DCORAL_BUILD_BENCHMARKS=ON); fi
echo "run.sh: building ${targets[*]} (Release) in $build" >&2
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCORAL_BUILD_TESTS=OFF \
  "${bench_opt[@]}" "${launcher[@]}" >/dev/null
cmake --build "$build" -j "${CORAL_BUILD_JOBS:-$(nproc)}" --target "${targets[@]}" >/dev/null

# --- scratch space and data --------------------------------------------------------------------
if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/coral-bench.XXXXXX")
  own_work=1
else
  mkdir -p "$work"
  own_work=''
fi
cleanup() {
  if [ -n "$keep" ]; then echo "run.sh: kept $work" >&2
  elif [ -n "$own_work" ]; then rm -rf "$work"
  else rm -rf "$work/repo" "$work/repo-bf16" "$work/repo-tiny" "$work/zst" "$work/unzst" "$work/cp" \
    "$work/refcoders" "$work/micro.json" "$work/repo-merge" "$work/merge-rep" "$work/merge-np" \
    "$work/repo-gc" "$work/gc-rep" "$work/gc-cp"; fi
}
trap cleanup EXIT

[ -n "$data" ] || data="$work/data"
# Reuse DIR only when it holds every set, generated with the same --epochs and --size-mb.
if /usr/bin/python3 - "$data/manifest.json" "$epochs" "$size_mb" <<'PY' 2>/dev/null
import json, sys
m = json.load(open(sys.argv[1]))
a = m["args"]
ok = (a["sets"] == "all" and a["epochs"] == int(sys.argv[2]) and a["size_mb"] == float(sys.argv[3])
      and all(k in m["sets"] for k in ("fp32", "bf16", "finetune", "quantized")))
sys.exit(0 if ok else 1)
PY
then
  echo "run.sh: reusing the checkpoints in $data" >&2
else
  echo "run.sh: generating $epochs checkpoints of $size_mb MiB (FP32, BF16, fine-tunes, int8) into $data" >&2
  /usr/bin/python3 "$root/benchmarks/data/gen_checkpoints.py" --out "$data" --sets all --epochs "$epochs" \
    --size-mb "$size_mb" --seed 0 >/dev/null
fi

# --- micro-benchmarks ---------------------------------------------------------------------------
micro_args=()
if [ -n "$micro" ]; then
  echo "run.sh: running coral_bench" >&2
  "$build/benchmarks/coral_bench" --benchmark_repetitions=3 --benchmark_format=console \
    --benchmark_out="$work/micro.json" --benchmark_out_format=json >&2
  micro_args=(--micro "$work/micro.json")
fi

# --- end to end -----------------------------------------------------------------------------------
out_args=()
[ "$out" = "-" ] || out_args=(--out "$out")
if [ -n "$only" ]; then
  [ -z "$splice" ] || out_args+=(--splice "$splice")
  /usr/bin/python3 "$root/benchmarks/bench.py" --coral "$build/src/cli/coral" --data "$data" \
    --work "$work" --sections "$only" --merge-reps "$merge_reps" --gc-reps "$gc_reps" \
    --command "$command_line" "${out_args[@]}"
  exit 0
fi
notes=()
[ -f "$root/benchmarks/performance-notes.md" ] && notes=(--notes "$root/benchmarks/performance-notes.md")
/usr/bin/python3 "$root/benchmarks/bench.py" --coral "$build/src/cli/coral" --data "$data" \
  --work "$work" --reps "$reps" --merge-reps "$merge_reps" --gc-reps "$gc_reps" --z19 "$z19" --command "$command_line" "${out_args[@]}" "${micro_args[@]}" "${notes[@]}"
