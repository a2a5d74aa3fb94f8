#pragma once
// Writing pack files (format: pack_format.hpp). A PackWriter fills one HDF5 file at a temp name in
// the packs directory; a PackSetWriter splits a stream of objects into packs of bounded size and
// publishes them (H5Fclose, fsync, rename, fsync dir). Neither is thread-safe: callers serialize.

#include "coral/storage/object_store.hpp"
#include "storage/hdf5_util.hpp"
#include "storage/pack_format.hpp"

#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace coral::storage {

class PackWriter {
public:
  // Creates "<packs_dir>/pack-new.h5.tmp-<pid>-<random>". Throws IoError.
  explicit PackWriter(const std::filesystem::path& packs_dir);
  // Closes the file if still open and removes the temp unless release_temp() was called.
  ~PackWriter();
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // Appends one object's encoded bytes. The caller guarantees ids are unique in this pack.
  void append(const ObjectInfo& info, std::span<const std::byte> data);
  // An object written in pieces: begin_object(), append_piece()..., end_object(info) records it
  // with the length of the pieces.
  void begin_object();
  void append_piece(std::span<const std::byte> data);
  void end_object(const ObjectInfo& info);
  std::uint64_t data_size() const noexcept { return m_written + m_pending.size(); }
  std::size_t object_count() const noexcept { return m_rows.size(); }
  bool finished() const noexcept { return m_finished; }

  // Writes /index (rows sorted by id) and closes the file, which stays at temp_path().
  // Returns the pack name. Throws IoError.
  const std::string& finish();
  const std::string& name() const noexcept { return m_name; }
  const std::vector<IndexRow>& rows() const noexcept { return m_rows; }
  const std::filesystem::path& temp_path() const noexcept { return m_temp; }
  // The temp file was renamed to its final name: the destructor must not remove it.
  void release_temp() noexcept { m_keep_temp = true; }

private:
  void write_bytes(std::span<const std::byte> data);
  void create_data(hsize_t chunk);
  void write_at_end(std::span<const std::byte> data);
  void flush_whole_chunks();
  void write_index();

  std::filesystem::path m_temp;
  h5::Handle m_file;
  h5::Handle m_data;  // invalid while a small pack is still buffered in m_pending
  std::vector<std::byte> m_pending;
  std::uint64_t m_written = 0;  // bytes already in /data
  std::vector<IndexRow> m_rows;
  std::uint64_t m_object_start = 0;
  bool m_in_object = false;
  std::string m_name;
  bool m_finished = false;
  bool m_keep_temp = false;
};

struct PublishedPack {
  std::string name;
  std::vector<IndexRow> rows;  // sorted by id
};

class PackSetWriter {
public:
  // A pack is finished and a new one started when the next object would take its data past
  // max_pack_bytes (a single bigger object gets a pack of its own).
  PackSetWriter(std::filesystem::path packs_dir, std::uint64_t max_pack_bytes);
  ~PackSetWriter();  // removes the temp files of unpublished packs

  void append(const ObjectInfo& info, std::span<const std::byte> data);
  // An object written in pieces; `size_bound` (at least its final size) picks the pack.
  void begin_object(std::uint64_t size_bound);
  void append_piece(std::span<const std::byte> data);
  void end_object(const ObjectInfo& info);
  std::size_t object_count() const noexcept { return m_objects; }
  // Finishes the open pack when it holds at least min_bytes and starts its fsync in the
  // background; later objects go to a new pack.
  void seal(std::uint64_t min_bytes);
  // Finishes the open pack and publishes every pack. A pack whose final name already exists is
  // identical (the name is the hash of its index) and is not written again.
  std::vector<PublishedPack> publish();

private:
  PackWriter& writer_for(std::uint64_t size);

  std::filesystem::path m_dir;
  std::uint64_t m_max_bytes;
  std::size_t m_objects = 0;
  std::vector<std::unique_ptr<PackWriter>> m_packs;
  std::vector<std::future<void>> m_flushes;  // background fsyncs of sealed packs
};

}  // namespace coral::storage
