#include "support/temp_dir.hpp"

#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace coral::test {

TempDir::TempDir() : TempDir([] {
    const char* base = std::getenv("TMPDIR");
    return std::filesystem::path(base && *base ? base : "/tmp");
  }()) {}

TempDir::TempDir(const std::filesystem::path& base) {
  std::string tmpl = (base / "coral-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed in " + base.string());
  m_path = std::filesystem::canonical(tmpl);
}

TempDir::~TempDir() {
  const char* keep = std::getenv("CORAL_KEEP_TEST_DIRS");
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const bool failed = info && info->result() && info->result()->Failed();
  if ((keep && std::string(keep) == "1") || failed) {
    std::fprintf(stderr, "kept test directory %s\n", m_path.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

void write_file(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::filesystem::path source_dir() {
  const char* s = std::getenv("CORAL_SOURCE_DIR");
  return s ? std::filesystem::path(s) : std::filesystem::path(CORAL_TEST_SOURCE_DIR);
}

std::string python() {
  const char* p = std::getenv("CORAL_PYTHON");
  return p && *p ? p : "/usr/bin/python3";
}

}  // namespace coral::test
