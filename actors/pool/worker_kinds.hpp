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

#include "otpp/supervision/kinds.hpp"

namespace otpp::pool {

/// A worker's arguments, validated against its kind's declaration.
using worker_args = supervision::arguments;

/// Starts one worker of a kind from its arguments (usually `ctx.spawn(...)`).
using worker_factory = supervision::kind_factory;

/// Registers the worker kind `kind` (process-wide; a later registration
/// replaces it) with the arguments it accepts. The node's loader checks
/// `worker_args` against them (unknown names, types, ranges, required
/// arguments) before anything starts; the factory gets the checked values
/// with defaults filled in.
void register_worker_kind(const std::string& kind, std::vector<supervision::argument_spec> arguments,
                          worker_factory factory);

/// The worker kind `kind`, or an error naming it and the registered kinds.
caf::expected<supervision::kind> find_worker_kind(const std::string& kind);

/// Registered worker kind names, sorted. `echo` and `sleep` are always there.
std::vector<std::string> worker_kinds();

using sleep_atom = caf::atom_constant<caf::atom("sleep")>;

/// `echo`: answers any message with the same content. No arguments.
/// `sleep`: answers `sleep_atom` with `sleep_atom` after `delay_ms` (default 10),
/// without blocking its thread; answers anything else like echo.

} // namespace otpp::pool
