#!/usr/bin/env bash
# Installs the Debian packages coral needs to build, test and run its demo, if any is missing.
# Uses apt-get directly as root, through sudo otherwise. Sourced by test.sh and demo.sh.
set -euo pipefail

CORAL_PACKAGES=(
  cmake ninja-build g++ pkg-config ccache
  libhdf5-dev hdf5-tools libxxhash-dev libzstd-dev zstd libcli11-dev nlohmann-json3-dev
  libtomlplusplus-dev libspdlog-dev libeigen3-dev libgtest-dev libbenchmark-dev
  python3 python3-numpy python3-h5py
)
# Test-only extras: torch writes the BF16 fixtures; clang builds the fuzz targets.
CORAL_TEST_PACKAGES=(python3-torch clang libclang-rt-14-dev)

coral_install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "coral: installing missing Debian packages: ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}
