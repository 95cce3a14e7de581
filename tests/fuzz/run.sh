#!/usr/bin/env bash
# Builds the libFuzzer binaries (clang, ASan + UBSan) and runs each fuzz target for a while.
#
#   tests/fuzz/run.sh [--short|--long|--seconds N] [TARGET...]
#     --short       30 s per target (default)
#     --long        10 min per target
#     --seconds N   N s per target
#     TARGET        frame_decoder, record_batch, envelope, handlers, raw_broker (default: all)
#
# Every target gets the dictionary tests/fuzz/tidemq.dict (-dict=).
# Environment: BUILD_DIR (default <repo>/build-fuzz), JOBS (build parallelism, default 2).
# Corpora persist in $BUILD_DIR/fuzz-corpus/<target> (seeded from the standalone driver's
# seeds); crashes are written to $BUILD_DIR/fuzz-artifacts/<target>/. One fuzzing process at a
# time (no -jobs/-workers): the machine is shared. Exit status is non-zero if any target crashed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD_DIR:-$root/build-fuzz}
seconds=30
targets=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --short) seconds=30 ;;
    --long) seconds=600 ;;
    --seconds) seconds=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
[[ ${#targets[@]} -gt 0 ]] || targets=(frame_decoder record_batch envelope handlers raw_broker)

command -v clang++ >/dev/null || { echo "clang++ not found (apt-get install clang)" >&2; exit 2; }
rtdir=$(clang++ -print-resource-dir)/lib/linux
if ! ls "$rtdir"/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then
  echo "libFuzzer runtime missing in $rtdir (apt-get install libclang-rt-$(clang++ -dumpversion | cut -d. -f1)-dev)" >&2
  exit 2
fi

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTIDEMQ_FUZZ=ON >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t" "fuzz_${t}_short"); done
cmake --build "$build" -j"${JOBS:-2}" --target "${build_targets[@]}"

failed=()
for t in "${targets[@]}"; do
  corpus=$build/fuzz-corpus/$t
  artifacts=$build/fuzz-artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  "$build/tests/fuzz_${t}_short" --write-seeds "$corpus" >/dev/null
  echo "=== fuzz_$t: $seconds s (corpus $corpus)"
  if ! "$build/fuzz/fuzz_$t" "$corpus" -max_total_time="$seconds" -print_final_stats=1 \
      -dict="$root/tests/fuzz/tidemq.dict" -artifact_prefix="$artifacts/" -max_len=65536 -rss_limit_mb=2048; then
    failed+=("$t")
    echo "=== fuzz_$t FAILED: see $artifacts/" >&2
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "all fuzz targets ran ${seconds} s without a crash"
