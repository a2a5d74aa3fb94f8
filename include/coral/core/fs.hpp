#pragma once
// The util layer: crash-safe file publication and small POSIX helpers (std + POSIX only).
//
// Publish protocol (docs/format.md "Write order"): write "<final>.tmp-<pid>-<random>" in the
// same directory, fsync it, rename() it over the final name, fsync the directory.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace coral::core::fs {

namespace stdfs = std::filesystem;

// "<final>.tmp-<pid>-<random hex>": a temp name in the final file's directory.
stdfs::path make_temp_path(const stdfs::path& final_path);
// True for names made by make_temp_path, "<name>.tmp-<pid>-<16 hex>" exactly (gc deletes
// leftovers by it, so "run.tmp-1" is not one).
bool is_temp_name(std::string_view filename) noexcept;
// A checkout's temp file, made next to the file it writes: ".coral-checkout-<pid>-<16 hex>".
std::string make_checkout_temp_name();
bool is_checkout_temp_name(std::string_view filename) noexcept;

void fsync_file(const stdfs::path& path);  // throws IoError
void fsync_dir(const stdfs::path& dir);    // throws IoError
// fsync(temp), rename(temp, final), fsync(dirname(final)).
void publish(const stdfs::path& temp, const stdfs::path& final_path);
// mkdir -p, then fsync each directory that was created and its parent.
void create_directories_durable(const stdfs::path& dir);

// Bytes of every regular file under `dir`, recursively (0 when it does not exist; files that
// vanish while counting are skipped).
std::uint64_t tree_bytes(const stdfs::path& dir);

// Reads a whole small file (refs, config, metadata objects). Throws NotFoundError if missing.
std::string read_file(const stdfs::path& path);
// Writes a whole small file through AtomicFile.
void write_file_atomic(const stdfs::path& path, std::string_view content);

// A file written under a temporary name and published by commit(). The destructor removes the
// temp file if commit() was never called (e.g. on an exception).
class AtomicFile {
public:
  explicit AtomicFile(stdfs::path final_path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::span<const std::byte> data);
  void write(std::string_view data);
  void commit();  // flush, fsync, rename, fsync dir
  const stdfs::path& temp_path() const noexcept { return m_temp; }

private:
  stdfs::path m_final;
  stdfs::path m_temp;
  int m_fd = -1;
  bool m_committed = false;
};

// Read-only view of a whole file, memory-mapped (never read into memory as a whole).
class MappedFile {
public:
  explicit MappedFile(const stdfs::path& path);  // throws NotFoundError / IoError
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const noexcept { return {m_data, m_size}; }
  std::size_t size() const noexcept { return m_size; }
  // Tells the kernel that [offset, offset+len) is no longer needed (bounded page cache use).
  void release(std::size_t offset, std::size_t len) const noexcept;

private:
  const std::byte* m_data = nullptr;
  std::size_t m_size = 0;
};

}  // namespace coral::core::fs
