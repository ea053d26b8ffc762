#pragma once

#include <caf/actor_system_config.hpp>

namespace otpp {

/// Makes the actor system built from `cfg` run CAF's scheduler (the one
/// `scheduler.policy` names, with every other scheduler setting as set) with
/// a timer clock that is told of an actor's end only when that actor ever set
/// a timeout (a request timeout or a behaviour's `after`). CAF 0.17 tells its
/// clock of every actor's end, and the clock's thread wakes each time (a
/// condition broadcast and a mutex hand-off, two context switches): on a
/// small machine that doubles the time from a child's crash to its
/// replacement running. Timeouts, delayed messages and their cancellation
/// behave exactly as in CAF. Call once before constructing the actor system;
/// `scheduler.policy = testing` keeps CAF's deterministic test coordinator.
void use_otpp_timer_clock(caf::actor_system_config& cfg);

} // namespace otpp
