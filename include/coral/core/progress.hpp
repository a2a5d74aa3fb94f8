#pragma once
// Progress reporting for long operations (ccache's ProgressReceiver). Library code calls it;
// only the CLI draws a bar (on a terminal, for work longer than about half a second).

#include <cstdint>
#include <functional>
#include <string_view>

namespace coral::core {

struct Progress {
  std::string_view phase;  // "adding", "checking out", ...
  std::uint64_t done = 0;  // bytes (or items) done so far
  std::uint64_t total = 0;
};

using ProgressFn = std::function<void(const Progress&)>;

}  // namespace coral::core
