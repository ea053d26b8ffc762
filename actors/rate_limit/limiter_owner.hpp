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

/// Moves the running limiter named `next.name` to `next` without losing its
/// counts (`limiter::reconfigure`): the new limits decide from its next hit;
/// a fixed window keeps its running window's count and end, a sliding window
/// its recorded hits, a bucket its tokens or level (read as at most a lowered
/// capacity); with Redis the keys stay and the next block a hit takes
/// follows `next`. Its owner sweeps every `cleanup_interval` from its next
/// sweep on (a changed interval re-arms the timer now). Metrics and keys
/// stay. Errors, after
/// which nothing changed: `supervision::errc::not_found` (no such running
/// limiter), `supervision::errc::not_allowed` (another algorithm or, with
/// Redis, a capacity whose keys use other units: restart the limiter, its
/// keys start over), `invalid_argument` (values refused as at start, or
/// `cleanup_interval` <= 0).
caf::error reconfigure_limiter(caf::actor_system& sys, const limiter_config& next,
                               std::chrono::milliseconds cleanup_interval);

/// The limiter of the running owner named `name`, or `supervision::errc::not_found`.
caf::expected<std::shared_ptr<limiter>> find_limiter(caf::actor_system& sys, const std::string& name);

} // namespace otpp::rate_limit
