#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "otpp/actors/rate_limit/limiter.hpp"
#include "otpp/supervision/child_spec.hpp"

namespace otpp::rate_limit {

/// A child spec for the actor that owns a limiter's store: it creates the
/// limiter when it starts (an in-memory store starts empty, as Hammer's ETS
/// table does), sweeps expired keys every `cleanup_interval` (and at once
/// when a running memory manager reaches `high`), exports its metrics while
/// it lives (`otpp_limiter_hits_total`, `otpp_limiter_keys`,
/// `otpp_limiter_degraded_hits_total`) and ends with its supervisor. Callers reach the limiter with `find_limiter`, never
/// through the actor's mailbox. Id and registered name: `config.name`.
supervision::child_spec limiter_child(limiter_config config, std::chrono::milliseconds cleanup_interval,
                                      limiter::clock now = system_clock_ms);

/// As above, with the keys in Redis (`limiter::on_redis`): the actor owns the
/// connections; Redis expires the keys by itself. `now` empty: Redis's clock.
supervision::child_spec limiter_child(limiter_config config, redis_options redis,
                                      std::chrono::milliseconds cleanup_interval, limiter::clock now = nullptr);

/// The limiter of the running owner named `name`, or `supervision::errc::not_found`.
caf::expected<std::shared_ptr<limiter>> find_limiter(caf::actor_system& sys, const std::string& name);

} // namespace otpp::rate_limit
