# Every third-party dependency, found from Debian's packages (TOOLCHAIN.md §1). No FetchContent, no vendoring.
find_package(Threads REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)           # FindHDF5 module: Debian ships no hdf5-config.cmake
find_package(zstd CONFIG REQUIRED)                 # zstd::libzstd_shared
find_package(PkgConfig REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)  # no CMake config for xxHash
find_package(CLI11 CONFIG REQUIRED)                # header-only; included by src/cli/parser.cpp only
find_package(nlohmann_json 3 CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)         # compiled .so in Debian
find_package(spdlog CONFIG REQUIRED)               # compiled .so, external fmt
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
if(CORAL_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(CORAL_BUILD_BENCHMARKS)
  find_package(benchmark CONFIG REQUIRED)
endif()
