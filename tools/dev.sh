#!/usr/bin/env bash
# tidemq developer entry point.
#   tools/dev.sh run   [broker flags]  install deps, build Release, start mqbroker on 127.0.0.1:7911 (data in ./data)
#   tools/dev.sh test  [ctest args]    install deps, build, run the whole suite through CTest
#   tools/dev.sh test --sanitize address|thread [ctest args]
#                                      the same in build-asan/ (ASan+UBSan) or build-tsan/ (TSan),
#                                      RelWithDebInfo, without the perf-label benchmarks
#   tools/dev.sh fuzz  [seconds]       libFuzzer run of every fuzz target, [seconds] each (default 30),
#                                      in build-fuzz/ (clang; tests/fuzz/run.sh, tests/fuzz/README.md)
#   tools/dev.sh build                 install deps and build only
#   tools/dev.sh deps                  install the Debian packages that are missing
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${TIDEMQ_BUILD_DIR:-$ROOT/build}
BUILD_TYPE=${TIDEMQ_BUILD_TYPE:-Release}

PACKAGES=(build-essential cmake libasio-dev libflatbuffers-dev flatbuffers-compiler libleveldb-dev
          libcli11-dev doctest-dev libspdlog-dev libfmt-dev)

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "dev.sh: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

SANITIZE=""
build() {
  deps
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DTIDEMQ_SANITIZE="$SANITIZE" >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)"
}

cmd=${1:-}
shift || true
case "$cmd" in
  deps) deps ;;
  build) build ;;
  run)
    build
    mkdir -p "$ROOT/data"
    exec "$BUILD_DIR/bin/mqbroker" --data "$ROOT/data" --listen 127.0.0.1:7911 "$@"
    ;;
  test)
    CTEST_EXTRA=()
    if [[ ${1:-} == --sanitize ]]; then
      SANITIZE=${2:?--sanitize needs address or thread}
      shift 2
      case "$SANITIZE" in
        address) BUILD_DIR=${TIDEMQ_BUILD_DIR:-$ROOT/build-asan} ;;
        thread) BUILD_DIR=${TIDEMQ_BUILD_DIR:-$ROOT/build-tsan} ;;
        *) echo "dev.sh: --sanitize takes address or thread" >&2; exit 2 ;;
      esac
      BUILD_TYPE=${TIDEMQ_BUILD_TYPE:-RelWithDebInfo}
      # Timed benchmarks mean nothing under a sanitizer's slowdown; every other test runs.
      CTEST_EXTRA=(-LE perf --timeout 900)
      export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
      export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
      export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tools/tsan.supp}
    fi
    build
    cd "$BUILD_DIR"
    ctest --output-on-failure -j"$(nproc)" "${CTEST_EXTRA[@]}" "$@"
    ;;
  fuzz)
    [[ ${1:-30} =~ ^[0-9]+$ ]] || { echo "dev.sh: fuzz takes a number of seconds per target" >&2; exit 2; }
    exec "$ROOT/tests/fuzz/run.sh" --seconds "${1:-30}"
    ;;
  *)
    echo "usage: tools/dev.sh run|test|fuzz|build|deps" >&2
    exit 2
    ;;
esac
