#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "otpp/config/node_config.hpp"

/// The TOML loader: a file (with OTPP__SECTION__KEY environment overrides)
/// to plain data, every problem at once with its position. It starts
/// nothing; `config::node` builds and runs the tree from its result. Kinds
/// named in the file (pool workers, children) must be registered first.
namespace otpp::config {

/// One thing wrong with a configuration, where it is.
struct problem {
  std::string source; ///< the file, or "env:OTPP__..." for an override
  int line = 0;       ///< 1-based; 0 when unknown
  int column = 0;
  std::string path; ///< the key's dotted path, e.g. "pools.database.size"
  std::string message;

  /// `source:line:column: path: message`
  std::string to_string() const;
};

/// A configuration, or every problem found in it.
struct load_result {
  std::optional<node_config> config;
  std::vector<problem> problems;
  std::string sha256; ///< `load_file`: the SHA-256 of the file's bytes in hex, when it could be read
};

/// Environment overrides: variable name to value (e.g. from `environ`).
using environment = std::map<std::string, std::string>;

/// The OTPP__SECTION__KEY=value variables of the process.
environment process_environment();

/// Parses and validates `text` (named `source` in problems), with the
/// overrides of `env` applied first; reports all problems at once: those of
/// overrides first, then the file's in line order.
load_result load_string(const std::string& text, const std::string& source, const environment& env = {});

/// As `load_string`, for a file (at most 1 MiB).
load_result load_file(const std::string& path, const environment& env = {});

/// Exit code for a configuration error (EX_CONFIG).
constexpr int exit_config_error = 78;

} // namespace otpp::config
