#pragma once
// The catalog of packs: the lookup table reconciled with what the packs directory holds.

#include "coral/storage/hdf5_store.hpp"
#include "coral/storage/layout.hpp"
#include "storage/lookup_table.hpp"
#include "storage/pack_writer.hpp"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace coral::storage {

// Names ("pack-<hex>") of the pack files in the directory, sorted; temps and other files are
// ignored. A missing directory holds no packs. Reads the directory only, opens no pack.
std::vector<std::string> list_pack_files(const std::filesystem::path& packs_dir);

enum class CatalogMode {
  reader,  // no lock held: a pack listed but gone was deleted by a concurrent remove
  writer,  // the lookup lock is held: a pack listed but gone is damage, logged as a warning
};

// Reads the lookup table and reconciles it with the packs directory:
//  - a missing table counts as empty; a damaged one (checksum, size, magic) is logged as a
//    warning and rebuilt in memory from every pack's /index;
//  - packs the table lists that are no longer on disk are dropped;
//  - packs on disk that the table does not list (a writer killed between publishing a pack and
//    updating the table) have their /index loaded, so their objects are readable.
// `known` gives the rows of packs the caller has just published, which are not reopened.
// An unlisted pack that cannot be read is skipped with a warning (fsck reports it).
// Throws CorruptError for a table of a newer version.
LookupTable load_catalog(const Layout& layout, CatalogMode mode, std::span<const PublishedPack> known = {});

// The lookup table file as it is (nothing reconciled): empty when missing, nullopt when damaged.
std::optional<LookupTable> read_lookup_file(const Layout& layout);

// A table built from the /index of every pack on disk (opens every pack; skips unreadable ones
// with a warning).
LookupTable rebuild_catalog(const Layout& layout);

// The lookup table file against the packs on disk (Hdf5Store::check_lookup; lookup_check.cpp).
std::vector<LookupProblem> check_catalog(const Layout& layout);

}  // namespace coral::storage
