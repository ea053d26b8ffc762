#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>

#include "supervision/child_spec.hpp"

namespace otpp::pool {

/// A worker's arguments from configuration: a key/value table.
using worker_args = std::map<std::string, std::string>;

/// Starts one worker of a kind with its arguments (usually `ctx.spawn(...)`).
using worker_factory =
  std::function<caf::expected<caf::actor>(supervision::start_context& ctx, const worker_args& args)>;

/// Registers `factory` under `kind` (process-wide; a later registration
/// replaces it). With `arguments`, the names of the arguments the kind
/// accepts, the node's loader reports any other key (a typo) as an error.
void register_worker_kind(const std::string& kind, worker_factory factory,
                          std::optional<std::vector<std::string>> arguments = std::nullopt);

/// The argument names `kind` accepts, if it declared them.
std::optional<std::vector<std::string>> worker_kind_arguments(const std::string& kind);

/// The factory of `kind`, or an error naming the kind and the known kinds.
caf::expected<worker_factory> find_worker_kind(const std::string& kind);

/// Registered kind names, sorted. `echo` and `sleep` are always there.
std::vector<std::string> worker_kinds();

/// Reads a required, non-empty argument of a worker of `kind`; an error
/// naming both when it is missing.
caf::expected<std::string> required_arg(const worker_args& args, const std::string& key, const std::string& kind);

/// Reads a non-negative integer argument, `fallback` when absent; an error
/// naming the key and value when it is not one.
caf::expected<long long> int_arg(const worker_args& args, const std::string& key, long long fallback);

using sleep_atom = caf::atom_constant<caf::atom("sleep")>;

/// `echo`: answers any message with the same content. No arguments.
/// `sleep`: answers `sleep_atom` with `sleep_atom` after `delay_ms` (default 10),
/// without blocking its thread; answers anything else like echo.

} // namespace otpp::pool
