#pragma once
// Which configuration and which config file `coral config` works on. Inside a repository that
// is the repository's (flags applied as for every verb); outside one, the user file, the
// environment and the flags.

#include "verb.hpp"

#include "coral/core/config.hpp"

#include <filesystem>

namespace coral::cli {

// The configuration every verb would see when run here.
core::Config load_effective_config(const GlobalOptions& g);

// The file `config set/unset` writes: the user file with --user, else the repository's
// .coral/config.toml (NotFoundError outside a repository).
std::filesystem::path config_file_to_write(const GlobalOptions& g, bool user);

}  // namespace coral::cli
