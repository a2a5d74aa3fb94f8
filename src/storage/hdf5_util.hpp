#pragma once
// The HDF5 wrapper layer of the storage module: the process-wide HDF5 lock, RAII handles for
// hid_t, and the conversion of HDF5 failures into coral errors (with the HDF5 error stack in
// detail()). Private to src/storage; nothing outside the storage module sees an hid_t.

#include "coral/core/error.hpp"

#include <hdf5.h>

#include <filesystem>
#include <mutex>
#include <string>

namespace coral::storage::h5 {

// Every HDF5 call runs under this one process-wide lock (STYLE.md §9.9). It is re-entrant so that
// a handle closed inside a locked section (a local going out of scope, an exception unwinding)
// does not deadlock. The first lock on a thread also turns off HDF5's automatic error printing
// for that thread (HDF5's error stacks are per thread in a thread-safe build).
class Lock {
public:
  Lock();
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

private:
  std::lock_guard<std::recursive_mutex> m_guard;
};

struct ErrorStack {
  std::string text;      // one line per entry
  std::string os_error;  // the OS error text HDF5's file driver recorded ("No space left on device"), if any
};
// Walks the current thread's HDF5 error stack, then clears it.
ErrorStack error_stack();

// Throws E with `message` (plus ": <OS error>" when the file driver recorded one, e.g. a full
// disk) and detail "file <path>; HDF5 error stack: ...".
template <typename E>
[[noreturn]] void fail(const std::string& message, const std::filesystem::path& path) {
  const ErrorStack stack = error_stack();
  throw E(stack.os_error.empty() ? message : message + ": " + stack.os_error,
          "file " + path.string() + "; HDF5 error stack:\n" + stack.text);
}

// An owned hid_t with the function that closes it. Closes under Lock; never throws.
class Handle {
public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) noexcept : m_id(id), m_closer(closer) {}
  Handle(Handle&& other) noexcept : m_id(other.m_id), m_closer(other.m_closer) { other.m_id = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const noexcept { return m_id; }
  bool valid() const noexcept { return m_id >= 0; }
  // Closes and reports whether HDF5 succeeded (H5Fclose flushes: its result matters). On failure
  // the HDF5 error stack is left for error_stack().
  bool close() noexcept;
  // Closes, discarding any failure.
  void reset() noexcept;

private:
  hid_t m_id = H5I_INVALID_HID;
  Closer m_closer = nullptr;
};

// Wraps a freshly created hid_t; throws E naming `what` and the file when it is negative.
template <typename E = IoError>
Handle make(hid_t id, Handle::Closer closer, const std::string& what, const std::filesystem::path& path) {
  if (id < 0) fail<E>(what, path);
  return Handle(id, closer);
}

// Throws E when an herr_t/htri_t result is negative.
template <typename E = IoError>
void check(herr_t rc, const std::string& what, const std::filesystem::path& path) {
  if (rc < 0) fail<E>(what, path);
}

// A file access property list: the sec2 driver with the given close degree.
Handle file_access(H5F_close_degree_t degree, const std::filesystem::path& path);

// The packed compound type of a pack's /index rows (pack_format.hpp), used as both file and
// memory type so the row bytes are stored exactly as serialize_rows() lays them out.
Handle index_row_type(const std::filesystem::path& path);

}  // namespace coral::storage::h5
