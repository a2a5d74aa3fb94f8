#include "storage/pack_writer.hpp"

#include "coral/core/fs.hpp"
#include "coral/core/log.hpp"

#include <algorithm>

namespace coral::storage {
namespace {

// A pack whose data stays under this size is buffered in memory until finish(), so its /data
// chunks can be sized to the data: HDF5 allocates whole chunks, and a mostly empty last
// chunk would cost tiny objects far more than the 100-byte overhead budget. Bigger packs stream
// in 256 KiB chunks and waste less than one chunk (256 KiB) per 16 MiB or more.
constexpr std::size_t k_buffer_limit = 16u << 20;

std::span<const std::byte> as_span(const std::vector<std::byte>& v) { return {v.data(), v.size()}; }

}  // namespace

PackWriter::PackWriter(const std::filesystem::path& packs_dir)
  : m_temp(core::fs::make_temp_path(packs_dir / "pack-new.h5")) {
  try {
    h5::Lock lock;
    h5::Handle fapl = h5::file_access(H5F_CLOSE_STRONG, m_temp);
    m_file = h5::make(H5Fcreate(m_temp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()), H5Fclose,
                      "cannot create pack file '" + m_temp.string() + "'", m_temp);
    h5::Handle space = h5::make(H5Screate(H5S_SCALAR), H5Sclose, "cannot create pack attribute", m_temp);
    h5::Handle attr = h5::make(H5Acreate2(m_file.get(), k_pack_version_attribute, H5T_STD_I32LE, space.get(),
                                          H5P_DEFAULT, H5P_DEFAULT),
                               H5Aclose, "cannot create pack attribute", m_temp);
    const std::int32_t version = k_pack_version;
    h5::check(H5Awrite(attr.get(), H5T_NATIVE_INT32, &version), "cannot write pack attribute", m_temp);
  } catch (...) {
    m_file.reset();
    std::error_code ec;
    std::filesystem::remove(m_temp, ec);
    throw;
  }
}

PackWriter::~PackWriter() {
  m_data.reset();
  m_file.reset();
  if (!m_keep_temp) {
    std::error_code ec;
    std::filesystem::remove(m_temp, ec);
    if (ec) core::log().debug("cannot remove temp pack {}: {}", m_temp.string(), ec.message());
  }
}

void PackWriter::begin_object() {
  CORAL_ASSERT(!m_finished && !m_in_object);
  m_object_start = data_size();
  m_in_object = true;
}

void PackWriter::append_piece(std::span<const std::byte> data) {
  CORAL_ASSERT(m_in_object);
  write_bytes(data);
}

void PackWriter::end_object(const ObjectInfo& info) {
  CORAL_ASSERT(m_in_object);
  m_in_object = false;
  m_rows.push_back({info.id, m_object_start, data_size() - m_object_start, info.raw_size, info.encoding, info.base});
}

void PackWriter::append(const ObjectInfo& info, std::span<const std::byte> data) {
  CORAL_ASSERT(!m_finished && !m_in_object);
  IndexRow row{info.id, data_size(), data.size(), info.raw_size, info.encoding, info.base};
  write_bytes(data);
  m_rows.push_back(row);
}

void PackWriter::write_bytes(std::span<const std::byte> data) {
  if (!m_data.valid()) {
    if (m_pending.size() + data.size() <= k_buffer_limit) {
      m_pending.insert(m_pending.end(), data.begin(), data.end());
      return;
    }
    create_data(k_pack_chunk_bytes);
    flush_whole_chunks();
  }
  // Streaming: m_pending holds less than one chunk; /data only ever receives whole chunks
  // until finish() writes the tail.
  const std::size_t chunk = k_pack_chunk_bytes;
  while (!data.empty()) {
    if (m_pending.empty() && data.size() >= chunk) {
      const std::size_t n = data.size() / chunk * chunk;
      write_at_end(data.first(n));
      data = data.subspan(n);
      continue;
    }
    const std::size_t take = std::min(data.size(), chunk - m_pending.size());
    m_pending.insert(m_pending.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    data = data.subspan(take);
    if (m_pending.size() == chunk) {
      write_at_end(as_span(m_pending));
      m_pending.clear();
    }
  }
}

void PackWriter::flush_whole_chunks() {
  const std::size_t n = m_pending.size() / k_pack_chunk_bytes * k_pack_chunk_bytes;
  if (n == 0) return;
  write_at_end(as_span(m_pending).first(n));
  m_pending.erase(m_pending.begin(), m_pending.begin() + static_cast<std::ptrdiff_t>(n));
}

void PackWriter::create_data(hsize_t chunk) {
  h5::Lock lock;
  const hsize_t dims[1] = {0};
  const hsize_t max_dims[1] = {H5S_UNLIMITED};
  h5::Handle space = h5::make(H5Screate_simple(1, dims, max_dims), H5Sclose, "cannot create pack data", m_temp);
  h5::Handle dcpl = h5::make(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "cannot create pack data", m_temp);
  h5::check(H5Pset_chunk(dcpl.get(), 1, &chunk), "cannot create pack data", m_temp);
  h5::check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "cannot create pack data", m_temp);
  m_data = h5::make(H5Dcreate2(m_file.get(), k_pack_data_dataset, H5T_STD_U8LE, space.get(), H5P_DEFAULT,
                               dcpl.get(), H5P_DEFAULT),
                    H5Dclose, "cannot create pack data", m_temp);
}

void PackWriter::write_at_end(std::span<const std::byte> data) {
  if (data.empty()) return;
  h5::Lock lock;
  const hsize_t start[1] = {m_written};
  const hsize_t count[1] = {data.size()};
  const hsize_t new_size[1] = {m_written + data.size()};
  const std::string what = "cannot write pack file '" + m_temp.string() + "'";
  h5::check(H5Dset_extent(m_data.get(), new_size), what, m_temp);
  h5::Handle file_space = h5::make(H5Dget_space(m_data.get()), H5Sclose, what, m_temp);
  h5::check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr), what, m_temp);
  h5::Handle mem_space = h5::make(H5Screate_simple(1, count, nullptr), H5Sclose, what, m_temp);
  h5::check(H5Dwrite(m_data.get(), H5T_NATIVE_UINT8, mem_space.get(), file_space.get(), H5P_DEFAULT, data.data()),
            what, m_temp);
  m_written += data.size();
}

const std::string& PackWriter::finish() {
  CORAL_ASSERT(!m_finished);
  if (!m_data.valid()) {
    // Small pack: chunks of at most k_pack_chunk_bytes that together cover the data with no slack.
    const std::uint64_t total = m_pending.size();
    const std::uint64_t chunks = std::max<std::uint64_t>(1, (total + k_pack_chunk_bytes - 1) / k_pack_chunk_bytes);
    create_data(std::max<std::uint64_t>(1, (total + chunks - 1) / chunks));
  }
  write_at_end(as_span(m_pending));
  std::vector<std::byte>().swap(m_pending);
  std::sort(m_rows.begin(), m_rows.end(), [](const IndexRow& a, const IndexRow& b) { return a.id < b.id; });
  CORAL_ASSERT(std::adjacent_find(m_rows.begin(), m_rows.end(), [](const IndexRow& a, const IndexRow& b) {
                 return a.id == b.id;
               }) == m_rows.end());
  write_index();
  h5::Lock lock;
  // Closing /data flushes its chunk cache: a full disk shows here, not in H5Dwrite.
  if (!m_data.close()) h5::fail<IoError>("cannot write pack file '" + m_temp.string() + "'", m_temp);
  if (!m_file.close()) h5::fail<IoError>("cannot close pack file '" + m_temp.string() + "'", m_temp);
  m_finished = true;
  return m_name;
}

void PackWriter::write_index() {
  const std::vector<std::byte> bytes = serialize_rows(m_rows);
  m_name = pack_name_for(bytes);
  h5::Lock lock;
  const std::string what = "cannot write pack index '" + m_temp.string() + "'";
  const hsize_t dims[1] = {m_rows.size()};
  h5::Handle type = h5::index_row_type(m_temp);
  h5::Handle space = h5::make(H5Screate_simple(1, dims, nullptr), H5Sclose, what, m_temp);
  h5::Handle index = h5::make(H5Dcreate2(m_file.get(), k_pack_index_dataset, type.get(), space.get(), H5P_DEFAULT,
                                         H5P_DEFAULT, H5P_DEFAULT),
                              H5Dclose, what, m_temp);
  if (!bytes.empty())
    h5::check(H5Dwrite(index.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), what, m_temp);
  if (!index.close()) h5::fail<IoError>(what, m_temp);
}

PackSetWriter::PackSetWriter(std::filesystem::path packs_dir, std::uint64_t max_pack_bytes)
  : m_dir(std::move(packs_dir)), m_max_bytes(max_pack_bytes) {}

PackSetWriter::~PackSetWriter() {
  for (auto& f : m_flushes)
    if (f.valid()) f.wait();
}

PackWriter& PackSetWriter::writer_for(std::uint64_t size) {
  PackWriter* current = m_packs.empty() || m_packs.back()->finished() ? nullptr : m_packs.back().get();
  if (current && current->object_count() > 0 && current->data_size() + size > m_max_bytes) {
    current->finish();
    current = nullptr;
  }
  if (!current) {
    if (m_packs.empty()) core::fs::create_directories_durable(m_dir);
    m_packs.push_back(std::make_unique<PackWriter>(m_dir));
    current = m_packs.back().get();
  }
  return *current;
}

void PackSetWriter::append(const ObjectInfo& info, std::span<const std::byte> data) {
  writer_for(data.size()).append(info, data);
  ++m_objects;
}

void PackSetWriter::begin_object(std::uint64_t size_bound) { writer_for(size_bound).begin_object(); }

void PackSetWriter::append_piece(std::span<const std::byte> data) { m_packs.back()->append_piece(data); }

void PackSetWriter::end_object(const ObjectInfo& info) {
  m_packs.back()->end_object(info);
  ++m_objects;
}

void PackSetWriter::seal(std::uint64_t min_bytes) {
  if (m_packs.empty() || m_packs.back()->finished() || m_packs.back()->data_size() < min_bytes) return;
  PackWriter& pack = *m_packs.back();
  pack.finish();
  // Its fsync runs while the next objects are encoded; publish() waits for it.
  m_flushes.push_back(std::async(std::launch::async, [path = pack.temp_path()] { core::fs::fsync_file(path); }));
}

std::vector<PublishedPack> PackSetWriter::publish() {
  if (!m_packs.empty() && !m_packs.back()->finished()) m_packs.back()->finish();
  for (auto& f : m_flushes) f.get();  // rethrows a failed fsync
  m_flushes.clear();
  std::vector<PublishedPack> out;
  for (const auto& pack : m_packs) {
    const std::filesystem::path final_path = m_dir / (pack->name() + ".h5");
    if (std::filesystem::exists(final_path)) {
      core::log().debug("pack {} already exists; not publishing it again", pack->name());
    } else {
      core::fs::publish(pack->temp_path(), final_path);
      pack->release_temp();
      core::log().debug("published {} ({} objects, {} bytes)", pack->name(), pack->object_count(), pack->data_size());
    }
    out.push_back({pack->name(), pack->rows()});
  }
  m_packs.clear();
  m_objects = 0;
  return out;
}

}  // namespace coral::storage
