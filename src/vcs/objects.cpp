#include "coral/vcs/objects.hpp"

#include "coral/core/error.hpp"
#include "paths.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

// Metadata object grammar (docs/format.md "Metadata objects"). Canonical JSON: nlohmann's
// default object keeps keys sorted, dump() without indent has no spaces, so equal content gives
// equal bytes and therefore equal ids.
//   tree   {"type":"tree","files":[FILE...]}, files sorted by path
//   FILE   {"path","mode","size","id"}  (raw, whole-file object)
//        | {"path","mode","size","kind":"safetensors|npy|npz","skeleton","tensors":[TENSOR...]}
//   TENSOR {"name","dtype","shape":[...],"id","offset","length"[,"big_endian":true]}
//   commit {"type":"commit","tree","parents":[...],"author","email","time","tz","message",
//           "metrics":{...}[,"merge":{"strategy","parameters":{...}[,"base"][,"rules":[RULE...]]}]}
//   RULE   {"tensor","file","strategy","parameters":{...}}
//   tag    {"type":"tag","object","tag","tagger","email","time","message"}

namespace coral::vcs {
namespace {

using nlohmann::json;

std::string id_hex(const core::ObjectId& id) { return id.hex(); }

core::ObjectId parse_id(const json& j, const char* key, const core::ObjectId& owner) {
  auto id = core::ObjectId::from_hex(j.at(key).get<std::string>());
  if (!id) throw CorruptError("object " + owner.hex() + " has a bad '" + key + "' id");
  return *id;
}

[[noreturn]] void bad_object(const core::ObjectId& id, const std::string& what, const std::string& detail) {
  throw CorruptError("object " + id.hex() + " is not a valid " + what, detail,
                     "run 'coral fsck' to check the repository");
}

json parse_object(std::string_view text, const core::ObjectId& id, const char* type) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad_object(id, type, "not a JSON object");
  if (j.value("type", "") != type) bad_object(id, type, "type is '" + j.value("type", "") + "'");
  return j;
}

json encode_file(const FileEntry& f) {
  json j;
  j["path"] = f.path;
  j["mode"] = f.mode;
  j["size"] = f.size;
  if (f.format == core::FileFormat::raw) {
    j["id"] = id_hex(f.id);
    return j;
  }
  j["kind"] = std::string(core::format_name(f.format));
  j["skeleton"] = id_hex(f.id);
  json tensors = json::array();
  for (const auto& t : f.tensors) {
    json tj;
    tj["name"] = t.name;
    tj["dtype"] = std::string(core::dtype_name(t.dtype));
    tj["shape"] = t.shape;
    tj["id"] = id_hex(t.id);
    tj["offset"] = t.offset;
    tj["length"] = t.length;
    if (t.big_endian) tj["big_endian"] = true;
    tensors.push_back(std::move(tj));
  }
  j["tensors"] = std::move(tensors);
  return j;
}

FileEntry decode_file(const json& j, const core::ObjectId& owner) {
  FileEntry f;
  f.path = j.at("path").get<std::string>();
  f.mode = j.at("mode").get<std::uint32_t>();
  f.size = j.at("size").get<std::uint64_t>();
  if (!j.contains("kind")) {
    f.id = parse_id(j, "id", owner);
    return f;
  }
  const auto fmt = core::find_format(j.at("kind").get<std::string>());
  if (!fmt) bad_object(owner, "tree", "unknown file kind in '" + f.path + "'");
  f.format = *fmt;
  f.id = parse_id(j, "skeleton", owner);
  for (const auto& tj : j.at("tensors")) {
    TensorEntry t;
    t.name = tj.at("name").get<std::string>();
    const auto dt = core::find_dtype(tj.at("dtype").get<std::string>());
    if (!dt) bad_object(owner, "tree", "unknown dtype for tensor '" + t.name + "'");
    t.dtype = *dt;
    t.shape = tj.at("shape").get<std::vector<std::uint64_t>>();
    t.id = parse_id(tj, "id", owner);
    t.offset = tj.at("offset").get<std::uint64_t>();
    t.length = tj.at("length").get<std::uint64_t>();
    t.big_endian = tj.value("big_endian", false);
    f.tensors.push_back(std::move(t));
  }
  return f;
}

template <typename F>
auto guarded(const core::ObjectId& id, const char* what, F&& fn) {
  try {
    return fn();
  } catch (const json::exception& e) {
    bad_object(id, what, e.what());
  }
}

}  // namespace

bool FileEntry::same_content(const FileEntry& o) const {
  return mode == o.mode && size == o.size && format == o.format && id == o.id && tensors == o.tensors;
}

const FileEntry* Tree::find(std::string_view path) const {
  auto it = std::lower_bound(files.begin(), files.end(), path,
                             [](const FileEntry& f, std::string_view p) { return f.path < p; });
  return it != files.end() && it->path == path ? &*it : nullptr;
}

std::string encode_tree(const Tree& tree) {
  json files = json::array();
  for (const auto& f : tree.files) files.push_back(encode_file(f));
  json j;
  j["type"] = "tree";
  j["files"] = std::move(files);
  return j.dump();
}

Tree decode_tree(std::string_view text, const core::ObjectId& id) {
  Tree t = guarded(id, "tree", [&] {
    const json j = parse_object(text, id, "tree");
    Tree tree;
    for (const auto& fj : j.at("files")) tree.files.push_back(decode_file(fj, id));
    return tree;
  });
  // Invariants that lookups and checkout rely on: safe paths, strictly sorted (so unique), and no
  // path that is both a file and a directory.
  for (std::size_t i = 0; i < t.files.size(); ++i) {
    const std::string& p = t.files[i].path;
    check_stored_path(p);
    if (i > 0 && !(t.files[i - 1].path < p)) bad_object(id, "tree", "paths are not sorted and unique at '" + p + "'");
    for (auto slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1))
      if (t.find(p.substr(0, slash))) bad_object(id, "tree", "'" + p.substr(0, slash) + "' is both a file and a directory");
  }
  return t;
}

std::string encode_commit(const Commit& c) {
  json j;
  j["type"] = "commit";
  j["tree"] = id_hex(c.tree);
  json parents = json::array();
  for (const auto& p : c.parents) parents.push_back(id_hex(p));
  j["parents"] = std::move(parents);
  j["author"] = c.author;
  j["email"] = c.email;
  j["time"] = c.time;
  j["tz"] = c.tz_offset;
  j["message"] = c.message;
  j["metrics"] = json::object();
  for (const auto& [k, v] : c.metrics) j["metrics"][k] = v;
  if (c.merge) {
    j["merge"]["strategy"] = c.merge->strategy;
    j["merge"]["parameters"] = c.merge->parameters;
    if (c.merge->base) j["merge"]["base"] = id_hex(*c.merge->base);
    for (const auto& r : c.merge->rules)
      j["merge"]["rules"].push_back(
        {{"tensor", r.tensor}, {"file", r.file}, {"strategy", r.strategy}, {"parameters", r.parameters}});
  }
  return j.dump();
}

Commit decode_commit(std::string_view text, const core::ObjectId& id) {
  return guarded(id, "commit", [&] {
    const json j = parse_object(text, id, "commit");
    Commit c;
    c.id = id;
    c.tree = parse_id(j, "tree", id);
    for (const auto& p : j.at("parents")) {
      auto pid = core::ObjectId::from_hex(p.get<std::string>());
      if (!pid) bad_object(id, "commit", "bad parent id");
      c.parents.push_back(*pid);
    }
    c.author = j.at("author").get<std::string>();
    c.email = j.at("email").get<std::string>();
    c.time = j.at("time").get<std::int64_t>();
    c.tz_offset = j.value("tz", 0);
    c.message = j.at("message").get<std::string>();
    for (const auto& [k, v] : j.at("metrics").items()) c.metrics[k] = v.get<double>();
    if (j.contains("merge")) {
      MergeInfo m;
      m.strategy = j["merge"].at("strategy").get<std::string>();
      m.parameters = j["merge"].at("parameters").get<std::map<std::string, std::string>>();
      if (j["merge"].contains("base")) m.base = parse_id(j["merge"], "base", id);
      if (j["merge"].contains("rules"))
        for (const auto& r : j["merge"]["rules"])
          m.rules.push_back({r.at("tensor").get<std::string>(), r.at("file").get<std::string>(),
                             r.at("strategy").get<std::string>(),
                             r.at("parameters").get<std::map<std::string, std::string>>()});
      c.merge = std::move(m);
    }
    return c;
  });
}

std::string encode_tag(const TagObject& t) {
  json j;
  j["type"] = "tag";
  j["object"] = id_hex(t.target);
  j["tag"] = t.name;
  j["tagger"] = t.tagger;
  j["email"] = t.email;
  j["time"] = t.time;
  j["message"] = t.message;
  return j.dump();
}

TagObject decode_tag(std::string_view text, const core::ObjectId& id) {
  return guarded(id, "tag", [&] {
    const json j = parse_object(text, id, "tag");
    TagObject t;
    t.id = id;
    t.target = parse_id(j, "object", id);
    t.name = j.at("tag").get<std::string>();
    t.tagger = j.at("tagger").get<std::string>();
    t.email = j.at("email").get<std::string>();
    t.time = j.at("time").get<std::int64_t>();
    t.message = j.at("message").get<std::string>();
    return t;
  });
}

std::string metadata_type(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {};
  return j.value("type", "");
}

std::string format_time(std::int64_t time, std::int32_t tz_offset) {
  const std::time_t local = static_cast<std::time_t>(time + std::int64_t{tz_offset} * 60);
  std::tm tm{};
  ::gmtime_r(&local, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  const int off = tz_offset < 0 ? -tz_offset : tz_offset;
  char tz[24];
  std::snprintf(tz, sizeof tz, "%c%02d:%02d", tz_offset < 0 ? '-' : '+', off / 60, off % 60);
  return std::string(buf) + tz;
}

}  // namespace coral::vcs
