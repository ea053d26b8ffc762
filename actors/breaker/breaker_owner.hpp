#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "otpp/actors/breaker/circuit_breaker.hpp"
#include "otpp/actors/breaker/fuse.hpp"
#include "otpp/supervision/child_spec.hpp"

namespace otpp::breaker {

/// A child spec for the actor that owns a circuit breaker: it creates the
/// breaker (CLOSED) when it starts, runs its timers (`automatic_half_open`,
/// `max_wait_in_half_open`), emits its state changes (`events::breaker_state_changed`),
/// exports its metrics while it lives (`otpp_breaker_state`,
/// `otpp_breaker_calls_total`, `otpp_breaker_failure_ratio`,
/// `otpp_breaker_slow_call_ratio`) and ends with its supervisor. Callers
/// reach the breaker with `find_breaker`, never through the mailbox. Id and
/// registered name: `config.name`.
supervision::child_spec breaker_child(breaker_config config, circuit_breaker::clock now = steady_ms);

/// The breaker of the running owner named `name`, or `supervision::errc::not_found`.
caf::expected<std::shared_ptr<circuit_breaker>> find_breaker(caf::actor_system& sys, const std::string& name);

/// Applies `config` to the running breaker of that name (see
/// `circuit_breaker::reconfigure`: the state is kept) and re-arms its
/// owner's timers for the new waits; `not_found` without such a breaker,
/// `invalid_argument` for invalid settings.
caf::error reconfigure_breaker(caf::actor_system& sys, const breaker_config& config);

/// A child spec for the actor that owns a fuse (the count mode); callers
/// reach it with `find_fuse`. Id and registered name: `config.name`.
supervision::child_spec fuse_child(fuse_config config, fuse::clock now = steady_ms);

/// The fuse of the running owner named `name`, or `supervision::errc::not_found`.
caf::expected<std::shared_ptr<fuse>> find_fuse(caf::actor_system& sys, const std::string& name);

} // namespace otpp::breaker
