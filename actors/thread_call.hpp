#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include <caf/duration.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/node_id.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

namespace otpp {

namespace detail {

/// Whether a `thread_call` of this thread has timed out: its reply may
/// still arrive at any time (one flag per thread, for every instantiation).
inline bool& late_replies_possible() {
  thread_local bool flag = false;
  return flag;
}

/// Installed by otpp's cluster: why an actor on the node with CAF id `node`
/// cannot answer now (its node is down), or no error.
using node_liveness = caf::error (*)(caf::actor_system& sys, const caf::node_id& node);

inline std::atomic<node_liveness>& node_liveness_check() {
  static std::atomic<node_liveness> check{nullptr};
  return check;
}

} // namespace detail

/// A request from a plain thread through `self` (keep one `scoped_actor` per
/// thread): sends `xs` to `dst` and returns the reply of type `T`, or the
/// error (`caf::sec::request_timeout` after `timeout`). It yields a few times
/// before it blocks, which saves the thread wake-up when the reply comes
/// within microseconds, and it keeps the timeout itself instead of arming a
/// CAF timer (each one wakes CAF's timer thread). A reply that arrives after
/// the timeout stays unread in `self`'s mailbox; since such a reply would
/// end a later wait early and leave it waiting for its own reply without a
/// deadline, a thread whose call timed out arms CAF's timer from then on.
/// A call to an actor of another node of the cluster fails with the
/// cluster's `node_down` when that node is down or goes down meanwhile
/// (CAF itself would let it wait for its whole timeout).
template <class T, class... Ts>
caf::expected<T> thread_call(caf::scoped_actor& self, const caf::actor& dst, std::chrono::milliseconds timeout,
                             Ts&&... xs) {
  constexpr int yields_before_blocking = 10;
  constexpr auto liveness_period = std::chrono::milliseconds{20};
  auto& late = detail::late_replies_possible();
  auto& sys = self->home_system();
  auto down = dst && dst.node() != sys.node() ? detail::node_liveness_check().load(std::memory_order_acquire) : nullptr;
  if (down)
    if (auto err = down(sys, dst.node()))
      return err;
  auto deadline = std::chrono::high_resolution_clock::now() + timeout;
  auto pending = self->request(dst, late ? caf::duration{timeout} : caf::duration{caf::infinite}, std::forward<Ts>(xs)...);
  for (int i = 0; i < yields_before_blocking && self->mailbox().empty(); ++i)
    std::this_thread::yield();
  while (self->mailbox().empty()) {
    auto until = down ? std::min(deadline, std::chrono::high_resolution_clock::now() + liveness_period) : deadline;
    if (self->await_data(until))
      break;
    if (std::chrono::high_resolution_clock::now() >= deadline) {
      late = true;
      return caf::sec::request_timeout;
    }
    if (!down)
      continue; // woken early (a clock step): wait again
    if (auto err = down(sys, dst.node())) {
      late = true;
      return err;
    }
  }
  caf::expected<T> result{caf::sec::request_timeout};
  pending.receive([&](T& value) { result = std::move(value); }, [&](caf::error& err) { result = std::move(err); });
  if (!result && result.error() == caf::sec::request_timeout)
    late = true;
  return result;
}

} // namespace otpp
