#pragma once
// coral's error convention (STYLE.md §3): exceptions derived from coral::Error.
//   what()   one-line user message naming the thing, no trailing period
//   detail() technical context (path, errno text, ids), printed with -v
//   hint()   optional next step for the user
// kind() lets the CLI map an error to its exit code with one switch.

#include <stdexcept>
#include <string>

namespace coral {

enum class ErrorKind {
  other,          // exit 1
  io,             // exit 1: OS, HDF5 or zstd failure
  usage,          // exit 2
  not_found,      // exit 3: no repository, unknown revision, path or tensor
  conflict,       // exit 4: ref moved, name exists, dirty working tree, merge conflict
  locked,         // exit 5: timed out waiting for a lock
  corrupt,        // exit 6: checksum mismatch, bad magic, missing object, unknown format version
  invalid_input,  // exit 7: a checkpoint file that fails validation
  interrupted,    // exit 130
};

// The process exit code for an error kind (DESIGN.md §10).
int exit_code_for(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
public:
  explicit Error(const std::string& message, std::string detail = {}, std::string hint = {},
                 ErrorKind kind = ErrorKind::other);
  ErrorKind kind() const noexcept { return m_kind; }
  const std::string& detail() const noexcept { return m_detail; }
  const std::string& hint() const noexcept { return m_hint; }

private:
  ErrorKind m_kind;
  std::string m_detail;
  std::string m_hint;
};

#define CORAL_DEFINE_ERROR(NAME, KIND)                                                         \
  class NAME : public Error {                                                                  \
  public:                                                                                      \
    explicit NAME(const std::string& message, std::string detail = {}, std::string hint = {})  \
      : Error(message, std::move(detail), std::move(hint), ErrorKind::KIND) {}                 \
  }

CORAL_DEFINE_ERROR(IoError, io);
CORAL_DEFINE_ERROR(UsageError, usage);
CORAL_DEFINE_ERROR(NotFoundError, not_found);
CORAL_DEFINE_ERROR(ConflictError, conflict);
CORAL_DEFINE_ERROR(LockedError, locked);
CORAL_DEFINE_ERROR(CorruptError, corrupt);
CORAL_DEFINE_ERROR(InvalidInputError, invalid_input);
CORAL_DEFINE_ERROR(InterruptedError, interrupted);

#undef CORAL_DEFINE_ERROR

// An IoError for a failed system call: message "<what> '<path>': <strerror(err)>".
[[noreturn]] void throw_errno(const std::string& what, const std::string& path, int err);

// Invariant check: a failure is a bug (exit 70), never a user error.
[[noreturn]] void assertion_failed(const char* expr, const char* file, int line);
#define CORAL_ASSERT(expr) ((expr) ? (void)0 : ::coral::assertion_failed(#expr, __FILE__, __LINE__))

}  // namespace coral
