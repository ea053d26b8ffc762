#pragma once

#include <chrono>
#include <thread>
#include <utility>

#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>

namespace otpp {

/// A request from a plain thread through `self` (keep one `scoped_actor` per
/// thread): sends `xs` to `dst` and returns the reply of type `T`, or the
/// error (`caf::sec::request_timeout` after `timeout`). It yields a few times
/// before it blocks, which saves the thread wake-up when the reply comes
/// within microseconds, and it keeps the timeout itself instead of arming a
/// CAF timer (each one wakes CAF's timer thread). A reply that arrives after
/// the timeout stays unread in `self`'s mailbox.
template <class T, class... Ts>
caf::expected<T> thread_call(caf::scoped_actor& self, const caf::actor& dst, std::chrono::milliseconds timeout,
                             Ts&&... xs) {
  constexpr int yields_before_blocking = 10;
  auto deadline = std::chrono::high_resolution_clock::now() + timeout;
  auto pending = self->request(dst, caf::infinite, std::forward<Ts>(xs)...);
  for (int i = 0; i < yields_before_blocking && self->mailbox().empty(); ++i)
    std::this_thread::yield();
  if (self->mailbox().empty() && !self->await_data(deadline))
    return caf::sec::request_timeout;
  caf::expected<T> result{caf::sec::request_timeout};
  pending.receive([&](T& value) { result = std::move(value); }, [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace otpp
