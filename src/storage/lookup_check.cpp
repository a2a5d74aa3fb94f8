// fsck's view of the pack lookup table: the table file as written, compared row by row with the
// /index of every pack on disk. Unlike load_catalog, nothing is reconciled or forgiven here.

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "storage/pack_catalog.hpp"
#include "storage/pack_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

namespace coral::storage {
namespace {

using Readers = std::map<std::string, std::unique_ptr<const PackReader>>;

// Opens every pack on disk; an unreadable one is a problem (a vanished one was removed since).
Readers open_packs(const Layout& layout, std::vector<LookupProblem>& out) {
  Readers readers;
  for (const std::string& name : list_pack_files(layout.packs_dir())) {
    try {
      readers.emplace(name, std::make_unique<const PackReader>(layout.pack(name), name));
    } catch (const NotFoundError&) {
      continue;
    } catch (const Error& e) {
      out.push_back({name, std::nullopt, "pack '" + name + "' cannot be read: " + e.what()});
    }
  }
  return readers;
}

// Every row of the table names a pack on disk that holds that object at that row.
void check_rows(const LookupTable& table, const Readers& readers, const std::set<std::string>& unreadable,
                std::vector<LookupProblem>& out) {
  for (const std::string& name : table.packs())
    if (!readers.count(name) && !unreadable.count(name))
      out.push_back({name, std::nullopt, "pack '" + name + "' is listed in the lookup table but missing"});
  for (const LookupEntry& entry : table.entries()) {
    const std::string& name = table.packs()[entry.pack];
    const auto it = readers.find(name);
    if (it == readers.end()) continue;  // reported once for the whole pack
    const std::vector<IndexRow>& rows = it->second->rows();
    if (entry.row < rows.size() && rows[entry.row].id == entry.id) continue;
    const std::string found = entry.row < rows.size() ? "object " + rows[entry.row].id.hex()
                                                      : fmt::format("nothing (it has {} rows)", rows.size());
    out.push_back({name, entry.id,
                   fmt::format("lookup table places object {} at row {} of pack '{}', which holds {}", entry.id.hex(),
                               entry.row, name, found)});
  }
}

// Every object of every listed pack is listed for that pack, or for another one (a superseded or
// duplicate record), unless its delta base has no record: such a record can never decode and is
// left out on purpose (pack_catalog.cpp, a killed gc's leftover). A pack the table does not list
// at all is a valid state too (a writer or gc killed between publishing it and rewriting the
// table, or before deleting it): readers load its index and the next writer or gc settles it.
void check_packs(const LookupTable& table, const Readers& readers, std::vector<LookupProblem>& out) {
  for (const auto& [name, reader] : readers) {
    if (!table.has_pack(name)) continue;
    for (const IndexRow& row : reader->rows()) {
      if (!table.find(row.id).empty()) continue;
      if (!row.base.is_zero() && table.find(row.base).empty()) continue;
      out.push_back({name, row.id, "object " + row.id.hex() + " of pack '" + name + "' is not in the lookup table"});
    }
  }
}

}  // namespace

std::vector<LookupProblem> check_catalog(const Layout& layout) {
  std::vector<LookupProblem> out;
  const Readers readers = open_packs(layout, out);
  std::set<std::string> unreadable;
  for (const LookupProblem& p : out) unreadable.insert(p.pack);
  std::string bytes;
  try {
    bytes = core::fs::read_file(layout.lookup());
  } catch (const NotFoundError&) {
    if (!readers.empty() || !unreadable.empty())
      out.push_back({{}, std::nullopt, "pack lookup table " + layout.lookup().string() + " is missing"});
    return out;
  }
  const ParsedLookup parsed = LookupTable::parse(bytes, layout.lookup());
  if (!parsed.table) {
    out.push_back({{}, std::nullopt, "pack lookup table " + layout.lookup().string() + " is damaged: " + parsed.problem});
    return out;
  }
  check_rows(*parsed.table, readers, unreadable, out);
  check_packs(*parsed.table, readers, out);
  return out;
}

}  // namespace coral::storage
