#include "storage/hdf5_util.hpp"

#include "storage/pack_format.hpp"

#include <fmt/format.h>

namespace coral::storage::h5 {
namespace {

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

// The sec2 driver's descriptions read "..., errno = 28, error message = 'No space left on device', ...".
std::string os_error_of(std::string_view desc) {
  constexpr std::string_view k_key = "error message = '";
  const auto start = desc.find(k_key);
  if (start == std::string_view::npos) return {};
  const auto end = desc.find('\'', start + k_key.size());
  if (end == std::string_view::npos) return {};
  return std::string(desc.substr(start + k_key.size(), end - start - k_key.size()));
}

herr_t append_entry(unsigned n, const H5E_error2_t* e, void* client) {
  auto* stack = static_cast<ErrorStack*>(client);
  if (stack->os_error.empty() && e->desc) stack->os_error = os_error_of(e->desc);
  std::string* out = &stack->text;
  char major[128] = {};
  char minor[128] = {};
  H5Eget_msg(e->maj_num, nullptr, major, sizeof major);
  H5Eget_msg(e->min_num, nullptr, minor, sizeof minor);
  *out += fmt::format("  #{:03} {}:{} {}(): {} ({}: {})\n", n, e->file_name ? e->file_name : "?", e->line,
                      e->func_name ? e->func_name : "?", e->desc ? e->desc : "", major, minor);
  return 0;
}

}  // namespace

Lock::Lock() : m_guard(hdf5_mutex()) {
  thread_local bool quiet = false;
  if (!quiet) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    quiet = true;
  }
}

ErrorStack error_stack() {
  Lock lock;
  ErrorStack stack;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, append_entry, &stack);
  H5Eclear2(H5E_DEFAULT);
  if (stack.text.empty()) stack.text = "  (empty)\n";
  return stack;
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    m_id = other.m_id;
    m_closer = other.m_closer;
    other.m_id = H5I_INVALID_HID;
  }
  return *this;
}

bool Handle::close() noexcept {
  if (m_id < 0) return true;
  Lock lock;
  const herr_t rc = m_closer(m_id);
  m_id = H5I_INVALID_HID;
  return rc >= 0;
}

void Handle::reset() noexcept {
  if (!close()) {
    Lock lock;
    H5Eclear2(H5E_DEFAULT);
  }
}

Handle file_access(H5F_close_degree_t degree, const std::filesystem::path& path) {
  Lock lock;
  Handle fapl = make(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "cannot create HDF5 property list", path);
  check(H5Pset_fclose_degree(fapl.get(), degree), "cannot set HDF5 close degree", path);
  return fapl;
}

Handle index_row_type(const std::filesystem::path& path) {
  Lock lock;
  const hsize_t id_dims[1] = {16};
  Handle id_type = make(H5Tarray_create2(H5T_STD_U8LE, 1, id_dims), H5Tclose, "cannot create HDF5 type", path);
  Handle row = make(H5Tcreate(H5T_COMPOUND, k_index_row_size), H5Tclose, "cannot create HDF5 type", path);
  const hid_t t = row.get();
  check(H5Tinsert(t, "id", 0, id_type.get()), "cannot create HDF5 type", path);
  check(H5Tinsert(t, "offset", 16, H5T_STD_U64LE), "cannot create HDF5 type", path);
  check(H5Tinsert(t, "length", 24, H5T_STD_U64LE), "cannot create HDF5 type", path);
  check(H5Tinsert(t, "raw_size", 32, H5T_STD_U64LE), "cannot create HDF5 type", path);
  check(H5Tinsert(t, "encoding", 40, H5T_STD_U8LE), "cannot create HDF5 type", path);
  check(H5Tinsert(t, "base", 41, id_type.get()), "cannot create HDF5 type", path);
  return row;
}

}  // namespace coral::storage::h5
