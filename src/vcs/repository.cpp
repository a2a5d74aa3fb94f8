#include "coral/vcs/repository.hpp"

#include "coral/core/error.hpp"
#include "coral/core/fs.hpp"
#include "coral/core/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <thread>

namespace coral::vcs {
namespace fs = core::fs;
namespace stdfs = std::filesystem;

namespace {

// config.toml starts with "format_version = N" (written by init, never rewritten without it).
int read_format_version(const stdfs::path& config_path) {
  const std::string text = fs::read_file(config_path);
  const auto pos = text.find("format_version");
  if (pos == std::string::npos)
    throw CorruptError("repository config '" + config_path.string() + "' has no format_version");
  const auto eq = text.find('=', pos);
  if (eq == std::string::npos) throw CorruptError("repository config '" + config_path.string() + "' is malformed");
  try {
    return std::stoi(text.substr(eq + 1));
  } catch (const std::exception&) {
    throw CorruptError("repository config '" + config_path.string() + "' has a bad format_version");
  }
}

std::optional<stdfs::path> find_coral_dir(stdfs::path dir) {
  dir = stdfs::absolute(dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "/x/" -> "/x"
  for (;;) {
    const auto candidate = dir / ".coral";
    if (stdfs::is_directory(candidate) && stdfs::exists(candidate / "config.toml")) return candidate;
    if (!dir.has_relative_path()) return std::nullopt;
    dir = dir.parent_path();
  }
}

}  // namespace

struct Repository::Impl {
  storage::Layout layout;
  stdfs::path worktree;
  core::Config config;
  std::unique_ptr<ObjectDb> objects;
  int jobs = 1;
  double lock_wait = 10;
  unsigned max_chain = 8;
  std::string verb;

  Impl(const stdfs::path& coral_dir, const OpenOptions& o)
    : layout(coral_dir), worktree(coral_dir.parent_path()), config(core::Config::load(layout.config())),
      verb(o.verb) {
    if (o.lock_wait_seconds >= 0) config.set_flag("core.lock_wait", std::to_string(o.lock_wait_seconds));
    if (o.jobs > 0) config.set_flag("core.jobs", std::to_string(o.jobs));
    lock_wait = config.get_number("core.lock_wait");
    max_chain = static_cast<unsigned>(config.get_int("delta.max_chain"));
    const auto j = config.get_int("core.jobs");
    jobs = j > 0 ? static_cast<int>(j) : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    objects = std::make_unique<ObjectDb>(
        layout, ObjectDbOptions{.zstd_level = static_cast<int>(config.get_int("core.compression_level")),
                                                                .max_pack_bytes = static_cast<std::uint64_t>(config.get_int("pack.max_bytes")),
                                .lock_wait_seconds = lock_wait,
                                .verb = verb});
  }
};

Repository::Repository(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Repository::Repository(Repository&&) noexcept = default;
Repository& Repository::operator=(Repository&&) noexcept = default;
Repository::~Repository() = default;

Repository Repository::init(const stdfs::path& dir, const OpenOptions& options) {
  const auto root = stdfs::absolute(dir).lexically_normal();
  const auto final_dir = root / ".coral";
  if (stdfs::exists(final_dir))
    throw ConflictError("a coral repository already exists in '" + root.string() + "'");
  fs::create_directories_durable(root);
  // Build the whole .coral under a temp name, then publish it with one rename.
  const auto temp = fs::make_temp_path(final_dir);
  try {
    const storage::Layout l(temp);
    for (const auto& d : {l.refs_dir() / "heads", l.refs_dir() / "tags", l.objects_dir(), l.packs_dir(), l.locks_dir()})
      stdfs::create_directories(d);
    fs::write_file_atomic(l.config(), "format_version = " + std::to_string(k_format_version) + "\n");
    fs::write_file_atomic(l.head(), "ref: refs/heads/main\n");
    for (const auto& lock : {"gc", "refs", "index", "lookup"}) fs::write_file_atomic(l.lock(lock), "");
    if (::rename(temp.c_str(), final_dir.c_str()) != 0) throw_errno("cannot create", final_dir.string(), errno);
    fs::fsync_dir(root);
  } catch (...) {
    std::error_code ec;
    stdfs::remove_all(temp, ec);
    throw;
  }
  return Repository(std::make_unique<Impl>(final_dir, options));
}

Repository Repository::open(const OpenOptions& options) {
  if (!stdfs::is_directory(options.start_dir))
    throw NotFoundError("cannot change to '" + options.start_dir.string() + "': no such directory");
  const auto coral_dir = find_coral_dir(options.start_dir);
  if (!coral_dir)
    throw NotFoundError("not a coral repository (or any parent up to /): " +
                            stdfs::absolute(options.start_dir).lexically_normal().parent_path().string(),
                        {}, "run 'coral init' to create one");
  const int version = read_format_version(*coral_dir / "config.toml");
  if (version > k_format_version)
    throw CorruptError("repository format version " + std::to_string(version) +
                           " is newer than this coral supports (" + std::to_string(k_format_version) + ")",
                       coral_dir->string(), "upgrade coral to read this repository");
  if (version < 1) throw CorruptError("repository has an invalid format_version " + std::to_string(version));
  core::log().debug("opened repository {}", coral_dir->string());
  return Repository(std::make_unique<Impl>(*coral_dir, options));
}

std::optional<stdfs::path> Repository::find(const stdfs::path& start_dir) { return find_coral_dir(start_dir); }

const storage::Layout& Repository::layout() const noexcept { return m_impl->layout; }
const stdfs::path& Repository::worktree() const noexcept { return m_impl->worktree; }
const core::Config& Repository::config() const noexcept { return m_impl->config; }
ObjectDb& Repository::objects() { return *m_impl->objects; }
int Repository::jobs() const noexcept { return m_impl->jobs; }
double Repository::lock_wait() const noexcept { return m_impl->lock_wait; }
unsigned Repository::max_chain() const noexcept { return m_impl->max_chain; }
const std::string& Repository::verb() const noexcept { return m_impl->verb; }

core::FileLock Repository::lock_for_write() {
  return core::FileLock::acquire(layout().lock("gc"), core::LockMode::shared, lock_wait(), "repository", verb());
}

core::FileLock Repository::lock_for_gc() {
  return core::FileLock::acquire(layout().lock("gc"), core::LockMode::exclusive, lock_wait(), "repository", verb());
}

core::FileLock Repository::lock_index() {
  return core::FileLock::acquire(layout().lock("index"), core::LockMode::exclusive, lock_wait(), "index", verb());
}

}  // namespace coral::vcs
