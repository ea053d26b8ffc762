#pragma once

#include <type_traits>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduled_actor.hpp>

namespace otpp::supervision {

/// Makes an exception escaping one of `self`'s handlers end `self` with
/// `errc::exception` carrying the exception's what() text (CAF 0.17's
/// default handler drops it). The requester of the failing message, the
/// down/exit reason and the supervisor's report all carry the text.
void keep_exception_text(caf::scheduled_actor* self);

/// Spawns the function-based actor `fun(self, xs...)` (which must return a
/// `caf::behavior`) with `keep_exception_text` installed before `fun` runs.
template <class F, class... Ts>
caf::actor spawn_keeping_exceptions(caf::actor_system& sys, F fun, Ts&&... xs) {
  static_assert(std::is_same_v<std::invoke_result_t<F, caf::event_based_actor*, std::decay_t<Ts>&...>,
                               caf::behavior>,
                "an actor must return a behavior, else CAF ends it when idle");
  return sys.spawn(
    [fun](caf::event_based_actor* self, std::decay_t<Ts>... args) -> caf::behavior {
      keep_exception_text(self);
      return fun(self, args...);
    },
    std::forward<Ts>(xs)...);
}

} // namespace otpp::supervision
