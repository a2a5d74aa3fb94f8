#include "coral/core/error.hpp"

#include <cstring>
#include <stdexcept>

namespace coral {

int exit_code_for(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::other:
    case ErrorKind::io: return 1;
    case ErrorKind::usage: return 2;
    case ErrorKind::not_found: return 3;
    case ErrorKind::conflict: return 4;
    case ErrorKind::locked: return 5;
    case ErrorKind::corrupt: return 6;
    case ErrorKind::invalid_input: return 7;
    case ErrorKind::interrupted: return 130;
  }
  return 1;
}

Error::Error(const std::string& message, std::string detail, std::string hint, ErrorKind kind)
  : std::runtime_error(message), m_kind(kind), m_detail(std::move(detail)), m_hint(std::move(hint)) {}

void throw_errno(const std::string& what, const std::string& path, int err) {
  throw IoError(what + " '" + path + "': " + std::strerror(err), "errno " + std::to_string(err));
}

void assertion_failed(const char* expr, const char* file, int line) {
  // Deliberately not a coral::Error: main maps it to exit 70 (internal error).
  throw std::logic_error(std::string("assertion failed: ") + expr + " at " + file + ":" +
                         std::to_string(line));
}

}  // namespace coral
