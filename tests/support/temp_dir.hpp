#pragma once
// A fresh directory per test; removed on success, kept when CORAL_KEEP_TEST_DIRS=1 or the test
// failed (the path is printed then).

#include <filesystem>
#include <string>
#include <string_view>

namespace coral::test {

class TempDir {
public:
  TempDir();
  // Under `base` instead of $TMPDIR (e.g. /dev/shm, where fsync costs nothing).
  explicit TempDir(const std::filesystem::path& base);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const noexcept { return m_path; }
  std::filesystem::path operator/(std::string_view rel) const { return m_path / rel; }

private:
  std::filesystem::path m_path;
};

// Small file helpers for tests.
void write_file(const std::filesystem::path& path, std::string_view content);
std::string read_file(const std::filesystem::path& path);
// Source tree root (CORAL_SOURCE_DIR), for fixtures and scripts.
std::filesystem::path source_dir();
// Debian's python3 (CORAL_PYTHON, default /usr/bin/python3).
std::string python();

}  // namespace coral::test
