#pragma once
// The metadata objects of a repository: trees and commits (DESIGN.md §3). Both are canonical
// JSON (sorted keys, no spaces), content-addressed by XXH3-128 like every object; the grammar is
// in docs/format.md.

#include "coral/core/dtype.hpp"
#include "coral/core/file_layout.hpp"
#include "coral/core/object_id.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace coral::vcs {

struct TensorEntry {
  std::string name;
  core::DType dtype = core::DType::u8;
  std::vector<std::uint64_t> shape;
  core::ObjectId id;
  std::uint64_t offset = 0;  // in the file
  std::uint64_t length = 0;
  bool big_endian = false;
  bool operator==(const TensorEntry&) const = default;
};

// A tracked file. Raw files are one whole-file object (`id`); tensor files are a skeleton object
// (`id`) plus their tensors.
struct FileEntry {
  std::string path;        // relative, '/'-separated, validated (see paths.hpp)
  std::uint32_t mode = 0644;  // 0644 or 0755
  std::uint64_t size = 0;
  core::FileFormat format = core::FileFormat::raw;
  core::ObjectId id;       // whole-file object (raw) or skeleton object
  std::vector<TensorEntry> tensors;
  bool operator==(const FileEntry&) const = default;
  // Same content (ids, layout, mode), ignoring nothing else but the path.
  bool same_content(const FileEntry& other) const;
};

struct Tree {
  std::vector<FileEntry> files;  // sorted by path
  const FileEntry* find(std::string_view path) const;
};

// A per-tensor rule a merge applied (docs/merge.md "Per-tensor rules").
struct MergeRuleInfo {
  std::string tensor;  // glob on tensor names
  std::string file;    // glob on file paths
  std::string strategy;
  std::map<std::string, std::string> parameters;
  bool operator==(const MergeRuleInfo&) const = default;
};

struct MergeInfo {
  std::string strategy;
  std::map<std::string, std::string> parameters;  // canonical strings; seed included
  std::optional<core::ObjectId> base;              // the merge base used (unset: none)
  std::vector<MergeRuleInfo> rules;                // in order; the first match won
};

struct Commit {
  core::ObjectId id;  // filled in when read or written
  core::ObjectId tree;
  std::vector<core::ObjectId> parents;
  std::string author;
  std::string email;
  std::int64_t time = 0;       // seconds since the epoch, UTC
  std::int32_t tz_offset = 0;  // minutes east of UTC at commit time
  std::string message;
  std::map<std::string, double> metrics;
  std::optional<MergeInfo> merge;
  bool pruned = false;  // set by prune (later); data of a pruned commit may be gone
};

// An annotated tag object.
struct TagObject {
  core::ObjectId id;
  core::ObjectId target;  // a commit
  std::string name;
  std::string tagger;
  std::string email;
  std::int64_t time = 0;
  std::string message;
};

// Canonical JSON encodings (byte-exact: the id is the hash of these bytes).
std::string encode_tree(const Tree& tree);
Tree decode_tree(std::string_view json, const core::ObjectId& id);  // CorruptError on bad input
std::string encode_commit(const Commit& commit);
Commit decode_commit(std::string_view json, const core::ObjectId& id);
std::string encode_tag(const TagObject& tag);
TagObject decode_tag(std::string_view json, const core::ObjectId& id);
// "commit", "tree", "tag" or "" for a metadata object's JSON.
std::string metadata_type(std::string_view json);

// ISO 8601 with offset: "2026-11-23T11:08:14+01:00".
std::string format_time(std::int64_t time, std::int32_t tz_offset);

}  // namespace coral::vcs
