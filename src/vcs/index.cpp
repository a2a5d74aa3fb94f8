#include "index.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/delta/codec.hpp"
#include "coral/vcs/repository.hpp"
#include "paths.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace coral::vcs {
namespace {

using nlohmann::json;

std::int64_t ns(const timespec& ts) { return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec; }

// File: "CORALIX1" | u8 encoding | u64 raw size (LE) | encoded canonical JSON.
constexpr std::string_view k_magic = "CORALIX1";
constexpr std::size_t k_header = 8 + 1 + 8;

std::string pack_index_file(const std::string& text) {
  const auto enc = delta::encode({reinterpret_cast<const std::byte*>(text.data()), text.size()}, core::DType::u8,
                                 {.zstd_level = 3});
  std::string out(k_magic);
  out.push_back(static_cast<char>(enc.encoding));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xff));
  out.append(reinterpret_cast<const char*>(enc.bytes.data()), enc.bytes.size());
  return out;
}

std::string unpack_index_file(const std::string& file, const std::filesystem::path& path) {
  auto corrupt = [&](const std::string& why) {
    return CorruptError("index file '" + path.string() + "' is corrupt: " + why, {},
                        "remove it and run 'coral checkout --force HEAD' to rebuild it from HEAD");
  };
  if (file.size() < k_header || file.compare(0, k_magic.size(), k_magic) != 0) throw corrupt("bad magic");
  const auto encoding = static_cast<std::uint8_t>(file[8]);
  if (!delta::is_known_encoding(encoding)) throw corrupt("unknown encoding");
  std::uint64_t raw = 0;
  for (int i = 0; i < 8; ++i) raw |= std::uint64_t{static_cast<unsigned char>(file[9 + static_cast<std::size_t>(i)])} << (8 * i);
  try {
    const auto bytes = delta::decode(static_cast<delta::Encoding>(encoding),
                                     {reinterpret_cast<const std::byte*>(file.data()) + k_header, file.size() - k_header}, raw);
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  } catch (const CorruptError& e) {
    throw corrupt(e.what());
  }
}

}  // namespace

std::optional<StatInfo> stat_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  StatInfo s;
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mtime_ns = ns(st.st_mtim);
  s.ctime_ns = ns(st.st_ctim);
  s.ino = st.st_ino;
  s.dev = st.st_dev;
  s.mode = (st.st_mode & S_IXUSR) ? 0755 : 0644;
  return s;
}

std::optional<StatInfo> stat_worktree_file(const std::filesystem::path& worktree, const std::string& repo_path) {
  if (!readable_inside_worktree(worktree, repo_path)) return std::nullopt;
  return stat_file(worktree / repo_path);
}

Index Index::load(const Repository& repo) {
  Index index;
  const auto path = repo.layout().index();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return index;
  index.m_index_mtime_ns = ns(st.st_mtim);
  const std::string text = unpack_index_file(core::fs::read_file(path), path);
  // The index reuses the tree grammar for its file entries.
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("type", "") != "index")
    throw CorruptError("index file '" + path.string() + "' is corrupt", {}, "remove it and run 'coral checkout --force HEAD'");
  if (j.value("version", 0) != 1)
    throw CorruptError("index file '" + path.string() + "' has an unsupported version");
  json tree_json{{"type", "tree"}, {"files", json::array()}};
  for (const auto& f : j.at("files")) {
    json copy = f;
    copy.erase("stat");
    tree_json["files"].push_back(std::move(copy));
  }
  const Tree tree = decode_tree(tree_json.dump(), core::hash_bytes(std::string_view(text)));
  const auto& files = j.at("files");
  for (std::size_t i = 0; i < tree.files.size(); ++i) {
    check_stored_path(tree.files[i].path);
    IndexEntry e{tree.files[i], std::nullopt};
    if (files[i].contains("stat")) {
      const auto& s = files[i]["stat"];
      e.stat = StatInfo{s.at("size").get<std::uint64_t>(), s.at("mtime_ns").get<std::int64_t>(),
                        s.at("ctime_ns").get<std::int64_t>(), s.at("ino").get<std::uint64_t>(),
                        s.at("dev").get<std::uint64_t>(), tree.files[i].mode};
    }
    index.m_entries.push_back(std::move(e));
  }
  return index;
}

Index Index::from_tree(const Tree& tree) {
  Index index;
  for (const auto& f : tree.files) index.m_entries.push_back({f, std::nullopt});
  return index;
}

Index Index::successor() const {
  Index next;
  next.m_index_mtime_ns = m_index_mtime_ns;
  return next;
}

void Index::save(const Repository& repo) {
  for (auto& e : m_entries)
    if (e.stat && !e.verified && e.stat->mtime_ns >= m_index_mtime_ns) e.stat.reset();
  Tree tree = to_tree();
  json j = json::parse(encode_tree(tree));
  j["type"] = "index";
  j["version"] = 1;
  auto& files = j["files"];
  for (std::size_t i = 0; i < m_entries.size(); ++i) {
    if (!m_entries[i].stat) continue;
    const auto& s = *m_entries[i].stat;
    files[i]["stat"] = {{"size", s.size}, {"mtime_ns", s.mtime_ns}, {"ctime_ns", s.ctime_ns}, {"ino", s.ino}, {"dev", s.dev}};
  }
  core::fs::write_file_atomic(repo.layout().index(), pack_index_file(j.dump()));
}

const IndexEntry* Index::find(std::string_view path) const {
  auto it = std::lower_bound(m_entries.begin(), m_entries.end(), path,
                             [](const IndexEntry& e, std::string_view p) { return e.file.path < p; });
  return it != m_entries.end() && it->file.path == path ? &*it : nullptr;
}

void Index::upsert(IndexEntry entry) {
  // A path cannot be both a file and a directory: drop entries that would make it one.
  const std::string& added = entry.file.path;
  std::erase_if(m_entries, [&](const IndexEntry& e) {
    const std::string& q = e.file.path;
    return (q.size() > added.size() && q.compare(0, added.size(), added) == 0 && q[added.size()] == '/') ||
           (added.size() > q.size() && added.compare(0, q.size(), q) == 0 && added[q.size()] == '/');
  });
  auto it = std::lower_bound(m_entries.begin(), m_entries.end(), entry.file.path,
                             [](const IndexEntry& e, const std::string& p) { return e.file.path < p; });
  if (it != m_entries.end() && it->file.path == entry.file.path) *it = std::move(entry);
  else m_entries.insert(it, std::move(entry));
}

bool Index::remove(std::string_view path) {
  auto it = std::lower_bound(m_entries.begin(), m_entries.end(), path,
                             [](const IndexEntry& e, std::string_view p) { return e.file.path < p; });
  if (it == m_entries.end() || it->file.path != path) return false;
  m_entries.erase(it);
  return true;
}

Tree Index::to_tree() const {
  Tree t;
  t.files.reserve(m_entries.size());
  for (const auto& e : m_entries) t.files.push_back(e.file);
  return t;
}

bool Index::stat_clean(const IndexEntry& entry, const StatInfo& current) const {
  if (!entry.stat || !(*entry.stat == current)) return false;
  if (entry.file.mode != current.mode || entry.file.size != current.size) return false;
  // Racy: modified in the same tick as the index was written; the cache cannot tell.
  return current.mtime_ns < m_index_mtime_ns;
}

}  // namespace coral::vcs
