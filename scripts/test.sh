#!/usr/bin/env bash
# Installs what is missing, builds (Release, warnings as errors) and runs the whole suite with
# ctest. Exits non-zero on any failure. Usage: ./scripts/test.sh [ctest args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/deps.sh"
coral_install_packages "${CORAL_PACKAGES[@]}" "${CORAL_TEST_PACKAGES[@]}"

build=${CORAL_BUILD_DIR:-$root/build}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCORAL_WERROR=ON -DCORAL_BUILD_TESTS=ON "${launcher[@]}"
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 600 "$@"
