#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "otpp/config/reload_plan.hpp"

/// What reloading a running node's configuration file did, and where the
/// configuration came from (docs/reload.md).
namespace otpp::config {

/// The file a node's configuration was loaded from, as `/status` shows it.
struct config_source {
  std::string path;   ///< empty: the program built the configuration itself
  std::string sha256; ///< of the file's bytes as last loaded (hex)
  /// When a reload last applied a file; unset before the first.
  std::optional<std::chrono::system_clock::time_point> last_reload;
};

/// The answer to `node::reload`.
struct reload_outcome {
  /// False: the file was rejected and nothing changed; `errors` says why.
  bool applied = false;
  /// Every problem of the file (as `--check` prints it), or each change
  /// that needs a restart of the node.
  std::vector<std::string> errors;
  /// What differed, in the order it was applied (one `config_changed` event each).
  std::vector<config_change> changes;
  /// `reload: 3 changed, 1 added, 1 removed, 17 unchanged`.
  std::string summary;
  /// Steps that failed although the file was valid (a component that did
  /// not start, a port that could not be bound, ...): each as
  /// `start pool/db: why`. The other steps were applied.
  std::vector<std::string> failures;
  /// The SHA-256 of the file applied (hex).
  std::string sha256;
};

} // namespace otpp::config
