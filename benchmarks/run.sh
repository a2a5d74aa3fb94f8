#!/usr/bin/env bash
# The release benchmark: coral against zstd and cp on one generated series of checkpoints,
# side by side in the same run, plus coral_bench's micro-benchmarks. Writes docs/performance.md.
# Not part of the test suite. Takes about 5-10 minutes with the defaults on a 2-core VM.
#
# Usage: benchmarks/run.sh [--epochs N] [--size-mb M] [--dtype f32|bf16] [--reps R]
#                          [--data DIR] [--work DIR] [--out FILE] [--no-micro] [--keep]
#   --epochs 5 --size-mb 200 --dtype f32   the series generated (about 1 GB in all)
#   --reps 5             repetitions of every measurement; the best is reported
#   --data DIR           use (or generate once into) DIR instead of a temporary directory
#   --work DIR           scratch directory (default: a new directory under $TMPDIR or /tmp);
#                        it must be on the disk you want to measure
#   --out FILE           the report (default docs/performance.md; "-" for none)
#   --no-micro           skip the coral_bench micro-benchmarks
#   --keep               keep the scratch directory
# Environment: CORAL_BUILD_DIR (default build-bench), CORAL_BUILD_JOBS (default nproc).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command_line="benchmarks/run.sh${*:+ $*}"

epochs=5 size_mb=200 dtype=f32 reps=5 data='' work='' out="$root/docs/performance.md" micro=1 keep=''
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs=$2; shift 2 ;;
    --size-mb) size_mb=$2; shift 2 ;;
    --dtype) dtype=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-micro) micro=''; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

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
  else rm -rf "$work/repo" "$work/zst" "$work/unzst" "$work/cp" "$work/micro.json"; fi
}
trap cleanup EXIT

[ -n "$data" ] || data="$work/data"
if [ ! -f "$data/metrics.jsonl" ] || [ ! -d "$data/epoch-$epochs" ]; then
  echo "run.sh: generating $epochs checkpoints of $size_mb MiB ($dtype) into $data" >&2
  /usr/bin/python3 "$root/benchmarks/data/gen_checkpoints.py" --out "$data" --epochs "$epochs" \
    --size-mb "$size_mb" --dtype "$dtype" --seed 0 >/dev/null
else
  echo "run.sh: reusing the checkpoints in $data" >&2
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
notes=()
[ -f "$root/benchmarks/performance-notes.md" ] && notes=(--notes "$root/benchmarks/performance-notes.md")
/usr/bin/python3 "$root/benchmarks/bench.py" --coral "$build/src/cli/coral" --data "$data" \
  --work "$work" --reps "$reps" --command "$command_line" "${out_args[@]}" "${micro_args[@]}" "${notes[@]}"
