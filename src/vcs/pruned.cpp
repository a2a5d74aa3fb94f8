#include "pruned.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"

#include <string_view>

namespace coral::vcs {
namespace {

constexpr std::string_view k_header = "coral-pruned 1\n";

}  // namespace

std::set<core::ObjectId> read_pruned(const storage::Layout& layout) {
  const auto path = layout.pruned();
  std::string text;
  try {
    text = core::fs::read_file(path);
  } catch (const NotFoundError&) {
    return {};
  }
  if (text.rfind(k_header, 0) != 0) {
    if (text.rfind("coral-pruned ", 0) == 0)
      throw CorruptError("pruned commit list '" + path.string() + "' has a newer format", {},
                         "upgrade coral to read this repository");
    throw CorruptError("pruned commit list '" + path.string() + "' is damaged: bad header", {},
                       "restore it from a backup; without it pruned commits look unpruned");
  }
  std::set<core::ObjectId> ids;
  std::size_t line = 1, at = k_header.size();
  while (at < text.size()) {
    ++line;
    const std::size_t end = text.find('\n', at);
    const auto id = end == std::string::npos ? std::nullopt : core::ObjectId::from_hex(text.substr(at, end - at));
    if (!id || (!ids.empty() && !(*ids.rbegin() < *id)))
      throw CorruptError("pruned commit list '" + path.string() + "' is damaged at line " + std::to_string(line), {},
                         "restore it from a backup; without it pruned commits look unpruned");
    ids.insert(*id);
    at = end + 1;
  }
  return ids;
}

void write_pruned(const storage::Layout& layout, const std::set<core::ObjectId>& ids) {
  std::string text(k_header);
  text.reserve(k_header.size() + 33 * ids.size());
  for (const auto& id : ids) text += id.hex() + "\n";
  core::fs::write_file_atomic(layout.pruned(), text);
}

}  // namespace coral::vcs
