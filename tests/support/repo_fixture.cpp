#include "support/repo_fixture.hpp"

#include "coral/storage/hdf5_store.hpp"
#include "coral/vcs/object_db.hpp"

namespace coral::test {

void RepoTest::SetUp() {
  m_old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  repo = std::make_unique<vcs::Repository>(vcs::Repository::init(dir.path(), {.start_dir = dir.path(), .jobs = 2}));
}

void RepoTest::TearDown() { std::filesystem::current_path(m_old_cwd); }

void RepoTest::damage_object(const core::ObjectId& id) {
  std::string needle;
  std::filesystem::path pack;
  {
    const auto object = repo->objects().data_store().open_object(id);
    ASSERT_TRUE(object) << "no object " << id.hex();
    std::vector<std::byte> enc(static_cast<std::size_t>(object->info().stored_size));
    object->read(0, enc);
    ASSERT_GE(enc.size(), 64u);
    needle.assign(reinterpret_cast<const char*>(enc.data()) + enc.size() / 2 - 32, 64);
    pack = repo->layout().pack(*repo->objects().data_store().find_pack_of(id));
  }
  repo.reset();
  std::string bytes = read_file(pack);
  const auto at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 32] = static_cast<char>(bytes[at + 32] ^ 0x01);
  std::filesystem::permissions(pack, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  write_file(pack, bytes);
  repo = std::make_unique<vcs::Repository>(vcs::Repository::open({.start_dir = dir.path(), .jobs = 2}));
}

}  // namespace coral::test
