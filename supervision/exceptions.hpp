#pragma once

#include <type_traits>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/unit.hpp>

namespace otpp::supervision {

/// Makes an exception escaping one of `self`'s handlers end `self` with
/// `errc::exception` carrying the exception's what() text (CAF 0.17's
/// default handler drops it). The requester of the failing message, the
/// down/exit reason and the supervisor's report all carry the text.
void keep_exception_text(caf::scheduled_actor* self);

/// Wraps the function-based actor body `fun(self, args...)` (which must
/// return a `caf::behavior`) so that `keep_exception_text` is installed before
/// `fun` runs. `Args` are the argument types the actor is spawned with; spawn
/// the result with `caf::unit` before the arguments (CAF 0.17 binds a
/// reference to null for an actor spawned without arguments, which UBSan flags).
template <class... Args, class F>
auto keeping_exceptions(F fun) {
  static_assert(std::is_same_v<std::invoke_result_t<F, caf::event_based_actor*, Args&...>, caf::behavior>,
                "an actor must return a behavior, else CAF ends it when idle");
  return [fun](caf::event_based_actor* self, caf::unit_t, Args... args) -> caf::behavior {
    keep_exception_text(self);
    return fun(self, args...);
  };
}

/// Spawns the function-based actor `fun(self, xs...)` with `keep_exception_text` installed.
template <class F, class... Ts>
caf::actor spawn_keeping_exceptions(caf::actor_system& sys, F fun, Ts&&... xs) {
  return sys.spawn(keeping_exceptions<std::decay_t<Ts>...>(fun), caf::unit, std::forward<Ts>(xs)...);
}

} // namespace otpp::supervision
