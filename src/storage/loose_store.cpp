#include "coral/storage/loose_store.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace coral::storage {
namespace {

// Loose object file (docs/format.md "Loose objects"), integers little-endian:
//   loose  = magic encoding base raw_size data
//   magic  = "CRLOOSE1"        8 bytes
//   encoding = u8              delta::Encoding value (opaque to storage)
//   base   = 16 bytes          delta base id (big-endian XXH3-128), all zero when none
//   raw_size = u64             decoded size
//   data   = the rest of the file: the encoded bytes (stored size = file size - 33)
constexpr std::string_view k_magic = "CRLOOSE1";
constexpr std::size_t k_header_size = 8 + 1 + 16 + 8;

std::string encode_header(const ObjectInfo& info) {
  std::string h(k_magic);
  h.push_back(static_cast<char>(info.encoding));
  h.append(reinterpret_cast<const char*>(info.base.bytes.data()), info.base.bytes.size());
  for (int i = 0; i < 8; ++i) h.push_back(static_cast<char>((info.raw_size >> (8 * i)) & 0xff));
  return h;
}

[[noreturn]] void throw_corrupt(const core::ObjectId& id, const std::filesystem::path& file, const std::string& why) {
  throw CorruptError("loose object " + id.hex() + " is corrupt", "file " + file.string() + ": " + why,
                     "run 'coral fsck' to find the damaged objects");
}

// Parses the header of a file of `file_size` bytes; the first k_header_size bytes are in `head`.
ObjectInfo parse_header(std::string_view head, std::uint64_t file_size, const core::ObjectId& id,
                        const std::filesystem::path& file) {
  if (head.size() < k_header_size) throw_corrupt(id, file, fmt::format("short file ({} bytes)", file_size));
  if (head.substr(0, k_magic.size()) != k_magic) throw_corrupt(id, file, "bad magic");
  ObjectInfo info;
  info.id = id;
  info.encoding = static_cast<std::uint8_t>(head[8]);
  std::memcpy(info.base.bytes.data(), head.data() + 9, 16);
  for (int i = 7; i >= 0; --i) info.raw_size = (info.raw_size << 8) | static_cast<unsigned char>(head[25 + i]);
  info.stored_size = file_size - k_header_size;
  return info;
}

// Holds its objects in memory until commit() (loose objects are small metadata), then writes
// each through AtomicFile. Already stored ids are not written again.
class LooseWriteBatch final : public WriteBatch {
public:
  LooseWriteBatch(const LooseStore& store, const Layout& layout) : m_store(store), m_layout(layout) {}

  void put(const ObjectInfo& info, std::span<const std::byte> data) override {
    std::lock_guard lock(m_mutex);
    CORAL_ASSERT(!m_committed);
    if (m_pending.count(info.id) || m_store.has(info.id)) return;
    m_pending.emplace(info.id, ObjectRecord{info, {data.begin(), data.end()}});
  }

  void commit() override {
    std::lock_guard lock(m_mutex);
    CORAL_ASSERT(!m_committed);
    for (const auto& [id, record] : m_pending) {
      const std::filesystem::path path = m_layout.loose_object(id);
      if (std::filesystem::exists(path)) continue;
      core::fs::create_directories_durable(path.parent_path());
      core::fs::AtomicFile file(path);
      file.write(encode_header(record.info));
      file.write(record.data);
      file.commit();
    }
    m_pending.clear();
    m_committed = true;
  }

private:
  const LooseStore& m_store;
  Layout m_layout;
  std::mutex m_mutex;
  std::map<core::ObjectId, ObjectRecord> m_pending;
  bool m_committed = false;
};

}  // namespace

LooseStore::LooseStore(Layout layout) : m_layout(std::move(layout)) {}

bool LooseStore::has(const core::ObjectId& id) const {
  struct stat st {};
  return ::stat(m_layout.loose_object(id).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::optional<ObjectInfo> LooseStore::find_info(const core::ObjectId& id) const {
  const std::filesystem::path path = m_layout.loose_object(id);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno("cannot open loose object", path.string(), errno);
  }
  char head[k_header_size];
  struct stat st {};
  const ssize_t n = ::fstat(fd, &st) == 0 ? ::pread(fd, head, sizeof head, 0) : -1;
  const int err = errno;
  ::close(fd);
  if (n < 0) throw_errno("cannot read loose object", path.string(), err);
  return parse_header({head, static_cast<std::size_t>(n)}, static_cast<std::uint64_t>(st.st_size), id, path);
}

ObjectRecord LooseStore::get(const core::ObjectId& id) const {
  const std::filesystem::path path = m_layout.loose_object(id);
  std::string bytes;
  try {
    bytes = core::fs::read_file(path);
  } catch (const NotFoundError&) {
    throw NotFoundError("object " + id.hex() + " not found", "file " + path.string());
  }
  ObjectRecord record;
  record.info = parse_header(bytes, bytes.size(), id, path);
  const auto* data = reinterpret_cast<const std::byte*>(bytes.data()) + k_header_size;
  record.data.assign(data, data + record.info.stored_size);
  return record;
}

std::unique_ptr<WriteBatch> LooseStore::begin_write() { return std::make_unique<LooseWriteBatch>(*this, m_layout); }

void LooseStore::remove(std::span<const core::ObjectId> ids) {
  std::set<std::filesystem::path> dirs;
  for (const core::ObjectId& id : ids) {
    const std::filesystem::path path = m_layout.loose_object(id);
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) continue;
      throw_errno("cannot delete loose object", path.string(), errno);
    }
    dirs.insert(path.parent_path());
  }
  for (const auto& dir : dirs) core::fs::fsync_dir(dir);
}

std::vector<std::pair<core::ObjectId, std::uint64_t>> LooseStore::files() const {
  std::vector<std::pair<core::ObjectId, std::uint64_t>> out;
  std::error_code ec;
  std::filesystem::directory_iterator top(m_layout.objects_dir(), ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    throw IoError("cannot list '" + m_layout.objects_dir().string() + "': " + ec.message());
  }
  for (const auto& fan_out : top) {
    const std::string prefix = fan_out.path().filename().string();
    if (prefix.size() != 2 || !fan_out.is_directory()) continue;
    for (const auto& file : std::filesystem::directory_iterator(fan_out.path())) {
      const std::string name = file.path().filename().string();
      if (core::fs::is_temp_name(name)) continue;
      const auto id = core::ObjectId::from_hex(prefix + name);
      std::error_code fec;
      const auto size = file.file_size(fec);
      if (id && !fec) out.emplace_back(*id, size);  // gone: removed concurrently
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<ObjectInfo> LooseStore::list() const {
  std::vector<ObjectInfo> out;
  for (const auto& [id, size] : files())
    if (auto info = find_info(id)) out.push_back(*info);  // gone: removed concurrently
  return out;
}

}  // namespace coral::storage
