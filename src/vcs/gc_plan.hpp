#pragma once
// The gc plan builder (DESIGN.md §8, STYLE.md §9.6): from every pack record and the set of live
// data objects, decide which records go, which live objects are re-encoded because their delta
// base goes, and which packs are rewritten. Pure: no I/O, so that unit tests drive it with
// made-up records, and `gc --dry-run` and `gc` share it.
//
// Rules:
//  - Each live object keeps one record, chosen among its records: one whose base is live (or
//    that has none) before one that would need re-encoding, then the smallest; a record whose
//    base chain cannot be completed (missing, cyclic) is never chosen.
//  - A live object whose chosen record's base is dead is re-encoded against the nearest live
//    object along its old chain, or standalone when there is none. Its old record goes.
//  - Every record of a dead object goes. So does every other record of a live object whose base
//    is dead (it would no longer decode). Other superseded records (a whole copy of an object that
//    also has a delta record) go when their pack is rewritten anyway (for a drop or to be
//    consolidated), or make up at least half of its data.
//  - A pack is rewritten when a record in it goes, or when it holds records the catalog leaves
//    out; it is removed when nothing in it survives.
//  - Consolidation: packs whose surviving data is under half of max_pack_bytes are rewritten
//    together when there are two or more of them (`repack`: every pack is).

#include "coral/core/object_id.hpp"
#include "coral/storage/hdf5_store.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace coral::vcs {

struct GcPlanInput {
  std::vector<storage::StoredRecord> records;  // every record, sorted by (id, pack)
  std::unordered_set<core::ObjectId, core::ObjectIdHash> live;
  std::uint64_t max_pack_bytes = 2ull << 30;
  bool repack = false;
  // Packs with records the catalog leaves out (Hdf5Store::left_out_records): always rewritten,
  // removed when none of their listed records survives.
  std::map<std::string, std::size_t> left_out;
};

struct GcReencode {
  core::ObjectId id;
  core::ObjectId base;          // the new base; zero: standalone
  storage::StoredCopy old;      // the record it replaces
  std::uint64_t raw_size = 0;
  std::uint64_t old_stored = 0;
  unsigned chain_height = 0;    // standalone: how many objects will decode through it
};

struct GcPlanned {
  std::vector<storage::StoredCopy> drop;   // records that go (re-encoded objects' old ones included)
  std::vector<GcReencode> reencode;        // sorted by id
  std::set<std::string> rewrite;           // packs rewritten (survivors move to new packs)
  std::set<std::string> remove;            // packs deleted with nothing surviving (subset of rewrite)
  std::size_t consolidated = 0;            // packs in `rewrite` only to consolidate them
  std::uint64_t drop_bytes = 0;            // stored bytes of `drop`
  std::uint64_t dead_objects = 0, dead_records = 0, dead_bytes = 0;  // objects nothing keeps alive
  std::uint64_t superseded_records = 0, superseded_bytes = 0;  // extra records of live objects
  std::uint64_t record_bytes = 0;          // stored bytes of every record before
  std::vector<core::ObjectId> missing;     // live objects with no usable record (damage)
};

GcPlanned plan_gc(const GcPlanInput& input);

}  // namespace coral::vcs
