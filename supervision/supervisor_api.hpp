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

/// Changes the running supervisor's flags in place: `validate`d as at start
/// (an invalid value, or an auto_shutdown its children's specs do not fit, is
/// refused and changes nothing). Intensity and period judge the restarts
/// already recorded from the next restart on; a new strategy (among
/// one_for_one, one_for_all and rest_for_one) applies to the next restart, a
/// pending one keeps its group; auto_shutdown applies from the next exit of a
/// significant child. To or from simple_one_for_one: `errc::not_allowed`.
caf::error update_flags(caf::actor_system& sys, const caf::actor& sup, supervisor_flags flags, timeout_type timeout = default_timeout);

/// Replaces the spec of the child with `spec.id` (simple_one_for_one: the template)
/// once `validate(spec, flags)` accepts it; `errc::not_found` if there is no
/// such child (or the template has another id). A running child keeps
/// running; its new spec (restart type, shutdown, significant, backoff, start
/// function, registered name) applies from its next stop or restart on, and a
/// backoff starts its delay sequence over. Under simple_one_for_one the new template
/// starts the children added afterwards; running ones keep their spec.
caf::error update_child(caf::actor_system& sys, const caf::actor& sup, child_spec spec, timeout_type timeout = default_timeout);

} // namespace otpp::supervision::blocking
