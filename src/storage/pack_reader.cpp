#include "storage/pack_reader.hpp"

#include "coral/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace coral::storage {
namespace {

std::atomic<std::uint64_t> g_files_opened{0};

constexpr const char* k_fsck_hint = "run 'coral fsck' to find the damaged objects";

// Distinguishes a missing or unreadable file (NotFoundError/IoError) from a damaged one, which
// HDF5 alone reports the same way.
void check_readable(const std::filesystem::path& path, const std::string& name) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw NotFoundError("pack '" + name + "' not found", "file " + path.string());
    throw_errno("cannot open pack", path.string(), errno);
  }
  ::close(fd);
}

}  // namespace

std::uint64_t pack_files_opened() noexcept { return g_files_opened.load(); }

PackReader::PackReader(std::filesystem::path path, std::string name)
    : m_path(std::move(path)), m_name(std::move(name)) {
  check_readable(m_path, m_name);
  h5::Lock lock;
  ++g_files_opened;
  m_file = h5::make<CorruptError>(H5Fopen(m_path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose,
                                  "pack '" + m_name + "' cannot be opened as an HDF5 file", m_path);
  check_version();
  open_data();
  load_index();
}

void PackReader::check_version() {
  const std::string what = "pack '" + m_name + "' has no readable " + k_pack_version_attribute + " attribute";
  if (H5Aexists(m_file.get(), k_pack_version_attribute) <= 0) h5::fail<CorruptError>(what, m_path);
  h5::Handle attr = h5::make<CorruptError>(H5Aopen(m_file.get(), k_pack_version_attribute, H5P_DEFAULT), H5Aclose,
                                           what, m_path);
  h5::Handle space = h5::make<CorruptError>(H5Aget_space(attr.get()), H5Sclose, what, m_path);
  if (H5Sget_simple_extent_npoints(space.get()) != 1) h5::fail<CorruptError>(what, m_path);
  std::int32_t version = 0;
  h5::check<CorruptError>(H5Aread(attr.get(), H5T_NATIVE_INT32, &version), what, m_path);
  if (version != k_pack_version)
    throw CorruptError(fmt::format("pack '{}' has unsupported version {}", m_name, version),
                       "file " + m_path.string(), "this pack was written by a newer coral; upgrade coral");
}

void PackReader::open_data() {
  const std::string what = "pack '" + m_name + "' has no readable /data dataset";
  m_data = h5::make<CorruptError>(H5Dopen2(m_file.get(), k_pack_data_dataset, H5P_DEFAULT), H5Dclose, what, m_path);
  h5::Handle type = h5::make<CorruptError>(H5Dget_type(m_data.get()), H5Tclose, what, m_path);
  h5::Handle space = h5::make<CorruptError>(H5Dget_space(m_data.get()), H5Sclose, what, m_path);
  hsize_t dims[1] = {0};
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) != 1 ||
      H5Sget_simple_extent_ndims(space.get()) != 1 || H5Sget_simple_extent_dims(space.get(), dims, nullptr) != 1)
    throw CorruptError("pack '" + m_name + "' has a /data dataset that is not 1-D uint8", "file " + m_path.string());
  m_data_size = dims[0];
}

void PackReader::load_index() {
  const std::string what = "pack '" + m_name + "' has no readable /index dataset";
  h5::Handle index =
    h5::make<CorruptError>(H5Dopen2(m_file.get(), k_pack_index_dataset, H5P_DEFAULT), H5Dclose, what, m_path);
  h5::Handle space = h5::make<CorruptError>(H5Dget_space(index.get()), H5Sclose, what, m_path);
  hsize_t dims[1] = {0};
  if (H5Sget_simple_extent_ndims(space.get()) != 1 || H5Sget_simple_extent_dims(space.get(), dims, nullptr) != 1)
    throw CorruptError("pack '" + m_name + "' has an /index dataset that is not 1-D", "file " + m_path.string());
  std::vector<std::byte> bytes(dims[0] * k_index_row_size);
  h5::Handle type = h5::index_row_type(m_path);
  if (!bytes.empty())
    h5::check<CorruptError>(H5Dread(index.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), what,
                            m_path);
  if (pack_name_for(bytes) != m_name)
    throw CorruptError("pack '" + m_name + "' has an index that does not match its name",
                       "file " + m_path.string() + "; XXH3-128 of the index rows is " + pack_name_for(bytes),
                       k_fsck_hint);
  m_rows = parse_rows(bytes);
  const auto unsorted = std::adjacent_find(m_rows.begin(), m_rows.end(),
                                           [](const IndexRow& a, const IndexRow& b) { return !(a.id < b.id); });
  if (unsorted != m_rows.end())
    throw CorruptError("pack '" + m_name + "' has an index that is not sorted by id",
                       "file " + m_path.string() + "; at object " + unsorted->id.hex(), k_fsck_hint);
}

const IndexRow& PackReader::row_for(const core::ObjectId& id, std::uint32_t row) const {
  if (row >= m_rows.size() || m_rows[row].id != id)
    throw CorruptError("pack lookup table points object " + id.hex() + " at the wrong row of pack '" + m_name + "'",
                       fmt::format("row {} of {} in {}", row, m_rows.size(), m_path.string()),
                       "run 'coral fsck --rebuild-index'");
  return m_rows[row];
}

namespace {

void check_in_range(const IndexRow& row, std::uint64_t data_size, const std::string& name, const std::filesystem::path& path) {
  if (row.offset > data_size || row.length > data_size - row.offset)
    throw CorruptError("object " + row.id.hex() + " in pack '" + name + "' lies outside the pack data",
                       fmt::format("offset {} length {} but /data holds {} bytes; file {}", row.offset, row.length,
                                   data_size, path.string()),
                       k_fsck_hint);
}

}  // namespace

// Copies [offset, offset + out.size()) of /data into `out` (under the HDF5 lock).
void PackReader::read_range(const IndexRow& row, std::uint64_t offset, std::span<std::byte> out) const {
  if (out.empty()) return;
  h5::Lock lock;
  const std::string what = "cannot read object " + row.id.hex() + " from pack '" + m_name + "'";
  const hsize_t start[1] = {offset};
  const hsize_t count[1] = {out.size()};
  h5::Handle file_space = h5::make(H5Dget_space(m_data.get()), H5Sclose, what, m_path);
  h5::check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr), what, m_path);
  h5::Handle mem_space = h5::make(H5Screate_simple(1, count, nullptr), H5Sclose, what, m_path);
  h5::check(H5Dread(m_data.get(), H5T_NATIVE_UINT8, mem_space.get(), file_space.get(), H5P_DEFAULT, out.data()),
            what, m_path);
}

std::vector<std::byte> PackReader::read(const IndexRow& row) const {
  check_in_range(row, m_data_size, m_name, m_path);
  std::vector<std::byte> out(row.length);
  read_range(row, row.offset, out);
  return out;
}

void PackReader::read_part(const IndexRow& row, std::uint64_t offset, std::span<std::byte> out) const {
  check_in_range(row, m_data_size, m_name, m_path);
  if (offset > row.length || out.size() > row.length - offset)
    throw CorruptError("object " + row.id.hex() + " in pack '" + m_name + "' is shorter than its encoding says",
                       "reading " + std::to_string(out.size()) + " bytes at " + std::to_string(offset) + " of " +
                           std::to_string(row.length));
  read_range(row, row.offset + offset, out);
}

void PackReader::read_pieces(const IndexRow& row, std::size_t piece,
                             const std::function<void(std::span<const std::byte>)>& sink) const {
  check_in_range(row, m_data_size, m_name, m_path);
  thread_local std::vector<std::byte> buffer;
  buffer.resize(std::min<std::uint64_t>(piece, std::max<std::uint64_t>(row.length, 1)));
  for (std::uint64_t done = 0; done < row.length;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), row.length - done));
    read_range(row, row.offset + done, {buffer.data(), n});
    sink({buffer.data(), n});
    done += n;
  }
}

}  // namespace coral::storage
