#pragma once
// Reading a published pack file (format: pack_format.hpp). The file is opened read-only, its
// version attribute checked and its whole /index loaded and checked against the pack's name.
// Thread-safe: every HDF5 call runs under h5::Lock.

#include "storage/hdf5_util.hpp"
#include "storage/pack_format.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace coral::storage {

class PackReader {
public:
  // Throws NotFoundError when the file is missing, CorruptError when it is not a readable
  // version-1 pack or its index does not match its name, IoError otherwise.
  PackReader(std::filesystem::path path, std::string name);
  PackReader(const PackReader&) = delete;
  PackReader& operator=(const PackReader&) = delete;

  const std::string& name() const noexcept { return m_name; }
  const std::vector<IndexRow>& rows() const noexcept { return m_rows; }
  std::uint64_t data_size() const noexcept { return m_data_size; }
  // The row at `row` (a lookup-table position), checked to hold `id`. Throws CorruptError.
  const IndexRow& row_for(const core::ObjectId& id, std::uint32_t row) const;
  // The encoded bytes of a row. Throws CorruptError when the row lies outside /data.
  std::vector<std::byte> read(const IndexRow& row) const;
  // Reads the stored bytes in pieces of at most `piece` bytes, calling `sink` for each in order
  // without holding the HDF5 lock (memory does not grow with the object).
  void read_pieces(const IndexRow& row, std::size_t piece,
                   const std::function<void(std::span<const std::byte>)>& sink) const;
  // Reads out.size() stored bytes of a row starting `offset` bytes into the object. Throws
  // CorruptError when the range lies outside the object or the object outside /data.
  void read_part(const IndexRow& row, std::uint64_t offset, std::span<std::byte> out) const;

private:
  void read_range(const IndexRow& row, std::uint64_t offset, std::span<std::byte> out) const;
  void check_version();
  void load_index();
  void open_data();

  std::filesystem::path m_path;
  std::string m_name;
  h5::Handle m_file;
  h5::Handle m_data;
  std::uint64_t m_data_size = 0;
  std::vector<IndexRow> m_rows;
};

// How many pack files this process has opened (H5Fopen) so far. Tests use it to check that
// opening a store opens no pack.
std::uint64_t pack_files_opened() noexcept;

}  // namespace coral::storage
