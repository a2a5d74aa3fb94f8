#include "storage/pack_catalog.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/core/log.hpp"
#include "storage/pack_reader.hpp"

#include <algorithm>
#include <optional>
#include <set>

namespace coral::storage {
namespace {

struct LoadedPack {
  std::string name;
  std::vector<IndexRow> rows;
};

// The rows of a pack the table does not list (from `known` when the caller just published it).
std::optional<LoadedPack> load_pack(const Layout& layout, const std::string& name, std::span<const PublishedPack> known) {
  const auto it = std::find_if(known.begin(), known.end(), [&](const PublishedPack& p) { return p.name == name; });
  if (it != known.end()) return LoadedPack{name, it->rows};
  try {
    const PackReader reader(layout.pack(name), name);
    return LoadedPack{name, reader.rows()};
  } catch (const NotFoundError&) {
    core::log().debug("pack {} disappeared while loading it (removed concurrently?)", name);
  } catch (const CorruptError& e) {
    // Leave it out rather than refuse to open the repository; fsck reports it.
    core::log().warn("skipping unreadable pack {}: {}", name, e.what());
  }
  return std::nullopt;
}

// Adds unlisted packs to the table, without their records whose delta base has no record that
// can be read (listed, or such a record itself): they can never decode. A gc killed while
// deleting the packs it rewrote leaves such records behind in the packs it had not deleted yet;
// readers must never take them for an object's record.
void adopt_unlisted(LookupTable& table, std::vector<LoadedPack> packs) {
  std::set<core::ObjectId> readable;
  for (const LookupEntry& e : table.entries()) readable.insert(e.id);
  std::vector<std::vector<bool>> keep;
  for (const LoadedPack& p : packs) keep.emplace_back(p.rows.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t p = 0; p < packs.size(); ++p)
      for (std::size_t i = 0; i < packs[p].rows.size(); ++i) {
        const IndexRow& row = packs[p].rows[i];
        if (keep[p][i] || !(row.base.is_zero() || readable.contains(row.base))) continue;
        keep[p][i] = changed = true;
        readable.insert(row.id);
      }
  }
  for (std::size_t p = 0; p < packs.size(); ++p) {
    const auto hidden = static_cast<std::size_t>(std::count(keep[p].begin(), keep[p].end(), false));
    if (hidden > 0)
      core::log().debug("pack {}: {} records whose delta base is gone are left out (a killed gc's leftover)",
                        packs[p].name, hidden);
    table.add_pack(packs[p].name, packs[p].rows, &keep[p]);
  }
}

// The table file parsed; a missing file is an empty table.
ParsedLookup parse_lookup_file(const Layout& layout) {
  std::string bytes;
  try {
    bytes = core::fs::read_file(layout.lookup());
  } catch (const NotFoundError&) {
    return {LookupTable{}, {}};
  }
  return LookupTable::parse(bytes, layout.lookup());
}

std::optional<LookupTable> read_table_logged(const Layout& layout) {
  ParsedLookup parsed = parse_lookup_file(layout);
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
  std::optional<LookupTable> table = read_table_logged(layout);
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
  std::vector<LoadedPack> unlisted;
  for (const std::string& name : on_disk) {
    if (table->has_pack(name)) continue;
    core::log().debug("pack {} is not in the lookup table; loading its index", name);
    if (auto pack = load_pack(layout, name, known)) unlisted.push_back(std::move(*pack));
  }
  adopt_unlisted(*table, std::move(unlisted));
  return std::move(*table);
}

std::optional<LookupTable> read_lookup_file(const Layout& layout) { return std::move(parse_lookup_file(layout).table); }

LookupTable rebuild_catalog(const Layout& layout) {
  LookupTable table;
  std::vector<LoadedPack> packs;
  for (const std::string& name : list_pack_files(layout.packs_dir()))
    if (auto pack = load_pack(layout, name, {})) packs.push_back(std::move(*pack));
  adopt_unlisted(table, std::move(packs));
  return table;
}

}  // namespace coral::storage
