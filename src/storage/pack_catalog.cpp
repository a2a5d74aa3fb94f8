#include "storage/pack_catalog.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/core/log.hpp"
#include "storage/pack_reader.hpp"

#include <algorithm>
#include <optional>

namespace coral::storage {
namespace {

void add_from_disk(LookupTable& table, const Layout& layout, const std::string& name,
                   std::span<const PublishedPack> known) {
  const auto it = std::find_if(known.begin(), known.end(), [&](const PublishedPack& p) { return p.name == name; });
  if (it != known.end()) {
    table.add_pack(name, it->rows);
    return;
  }
  try {
    const PackReader reader(layout.pack(name), name);
    table.add_pack(name, reader.rows());
  } catch (const NotFoundError&) {
    core::log().debug("pack {} disappeared while loading it (removed concurrently?)", name);
  } catch (const CorruptError& e) {
    // Leave it out rather than refuse to open the repository; fsck reports it.
    core::log().warn("skipping unreadable pack {}: {}", name, e.what());
  }
}

std::optional<LookupTable> read_table(const Layout& layout) {
  std::string bytes;
  try {
    bytes = core::fs::read_file(layout.lookup());
  } catch (const NotFoundError&) {
    return LookupTable{};
  }
  ParsedLookup parsed = LookupTable::parse(bytes, layout.lookup());
  if (!parsed.table) {
    core::log().warn("pack lookup table {} is damaged ({}); rebuilding it from the packs in memory; "
                     "run 'coral fsck --rebuild-index' to rewrite it",
                     layout.lookup().string(), parsed.problem);
  }
  return std::move(parsed.table);
}

}  // namespace

std::vector<std::string> list_pack_files(const std::filesystem::path& packs_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  std::filesystem::directory_iterator it(packs_dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return names;
    throw IoError("cannot list pack directory '" + packs_dir.string() + "': " + ec.message());
  }
  for (const auto& entry : it) {
    const std::string filename = entry.path().filename().string();
    if (core::fs::is_temp_name(filename)) continue;
    if (auto name = pack_name_of_file(filename)) names.push_back(std::move(*name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

LookupTable load_catalog(const Layout& layout, CatalogMode mode, std::span<const PublishedPack> known) {
  std::optional<LookupTable> table = read_table(layout);
  if (!table) return rebuild_catalog(layout);
  const std::vector<std::string> on_disk = list_pack_files(layout.packs_dir());
  std::set<std::string> gone;
  for (const std::string& name : table->packs())
    if (!std::binary_search(on_disk.begin(), on_disk.end(), name)) gone.insert(name);
  for (const std::string& name : gone) {
    if (mode == CatalogMode::writer)
      core::log().warn("pack {} is listed in the lookup table but missing; dropping it", name);
    else
      core::log().debug("pack {} is listed in the lookup table but gone (removed concurrently?)", name);
  }
  if (!gone.empty()) table->remove_packs(gone);
  for (const std::string& name : on_disk) {
    if (table->has_pack(name)) continue;
    core::log().debug("pack {} is not in the lookup table; loading its index", name);
    add_from_disk(*table, layout, name, known);
  }
  return std::move(*table);
}

LookupTable rebuild_catalog(const Layout& layout) {
  LookupTable table;
  for (const std::string& name : list_pack_files(layout.packs_dir())) add_from_disk(table, layout, name, {});
  return table;
}

}  // namespace coral::storage
