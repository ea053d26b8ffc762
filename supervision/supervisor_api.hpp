#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

#include "otpp/supervision/supervisor.hpp"

/// Blocking calls to a supervisor from plain threads (not from inside an
/// actor: there, send the request messages of supervisor.hpp). Each waits at
/// most `timeout` and then fails with `caf::sec::request_timeout`.
namespace otpp::supervision::blocking {

using timeout_type = std::chrono::milliseconds;
constexpr timeout_type default_timeout{5000};

/// Adds and starts a child; `errc::already_started` (with the running child's
/// handle: `already_started_child(err)`) / `already_present` if the id exists.
caf::expected<caf::actor> start_child(caf::actor_system& sys, const caf::actor& sup, child_spec spec,
                                      timeout_type timeout = default_timeout);

/// simple_one_for_one: starts a child from the template with `extra_args`.
caf::expected<caf::actor> start_child(caf::actor_system& sys, const caf::actor& sup,
                                      caf::message extra_args, timeout_type timeout = default_timeout);

/// Stops a child with its shutdown policy and keeps its spec (unless temporary).
caf::error terminate_child(caf::actor_system& sys, const caf::actor& sup, const std::string& id,
                           timeout_type timeout = default_timeout);

/// simple_one_for_one: stops the child `child` and forgets it.
caf::error terminate_child(caf::actor_system& sys, const caf::actor& sup, const caf::actor& child,
                           timeout_type timeout = default_timeout);

/// Starts a terminated child again; `errc::running` / `restarting` otherwise.
caf::expected<caf::actor> restart_child(caf::actor_system& sys, const caf::actor& sup,
                                        const std::string& id, timeout_type timeout = default_timeout);

/// Forgets a terminated child's spec; `errc::running` / `restarting` otherwise.
caf::error delete_child(caf::actor_system& sys, const caf::actor& sup, const std::string& id,
                        timeout_type timeout = default_timeout);

/// Every child in start order with its handle, type, state, restarts and last exit reason.
caf::expected<std::vector<child_info>> which_children(caf::actor_system& sys, const caf::actor& sup,
                                                      timeout_type timeout = default_timeout);

/// OTP's count_children.
caf::expected<child_counts> count_children(caf::actor_system& sys, const caf::actor& sup,
                                           timeout_type timeout = default_timeout);

} // namespace otpp::supervision::blocking
