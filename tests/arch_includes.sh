#!/usr/bin/env bash
# Enforces the dependency direction cli -> vcs -> storage/delta -> core (docs/architecture.md):
# fails when a module includes a coral header of a module it may not depend on, or a third-party
# header owned by another module.
set -u
root=${1:-.}
fail=0
check() {  # module, forbidden include regex, reason
  local hits
  hits=$(grep -rnE "#include [<\"]($2)" "$root/src/$1" "$root/include/coral/$1" 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "arch_includes: $1 must not include $2 ($3):"
    echo "$hits"
    fail=1
  fi
}
check core    'coral/(delta|storage|vcs|cli)/'  'core depends on nothing'
check delta   'coral/(storage|vcs|cli)/'        'delta depends on core only'
check storage 'coral/(delta|vcs|cli)/'          'storage depends on core only'
check vcs     'coral/cli/'                      'nothing includes cli'
check core    'hdf5|H5Cpp|CLI/'                 'HDF5 lives in storage, CLI11 in cli/parser.cpp'
check delta   'hdf5|H5Cpp|CLI/'                 'HDF5 lives in storage, CLI11 in cli/parser.cpp'
check vcs     'hdf5|H5Cpp|CLI/'                 'HDF5 lives in storage, CLI11 in cli/parser.cpp'
# CLI11 only in src/cli/parser.cpp.
hits=$(grep -rln '#include <CLI/' "$root/src" "$root/include" | grep -v 'src/cli/parser.cpp$')
if [ -n "$hits" ]; then echo "arch_includes: CLI11 included outside src/cli/parser.cpp:"; echo "$hits"; fail=1; fi
# Public headers carry no heavy third-party headers.
hits=$(grep -rnE '#include <(hdf5|H5Cpp|CLI/|nlohmann/|Eigen/|toml\+\+|spdlog/|zstd|xxhash)' "$root/include")
if [ -n "$hits" ]; then echo "arch_includes: heavy third-party header in a public header:"; echo "$hits"; fail=1; fi
[ $fail -eq 0 ] && echo "arch_includes: ok"
exit $fail
