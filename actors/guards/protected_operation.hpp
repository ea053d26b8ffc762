#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "otpp/actors/breaker/circuit_breaker.hpp"
#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/perf/registry.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/rate_limit/limiter.hpp"
#include "otpp/actors/wall_clock.hpp"

namespace otpp {

/// Which guard refused a protected operation (category `guard_errc_category`).
enum class guard_errc : uint8_t {
  memory_pressure = 1, ///< the memory manager refuses new work; the text names the level
  rate_limited,        ///< the limiter denied the hit; see `retry_after_ms`
  pool_timeout,        ///< no worker came within the checkout timeout
  pool_full,           ///< no idle worker and no room for one (a non-blocking checkout)
  circuit_open,        ///< the service's breaker rejected the call
  missing,             ///< a named limiter, pool or breaker is not running
};

constexpr caf::atom_value guard_errc_category = caf::atom("otpp_guard");

std::string to_string(guard_errc code);

/// The guard that refused, if `err` is such a refusal.
std::optional<guard_errc> refused_by(const caf::error& err);

/// A `memory_pressure` refusal's level.
std::optional<memory::pressure> memory_level(const caf::error& err);

/// A `rate_limited` refusal's retry-after in milliseconds (INT64_MAX: the cost never fits).
std::optional<int64_t> retry_after_ms(const caf::error& err);

/// What guards one operation. Empty names skip that guard; the memory
/// check applies whenever a memory manager runs.
struct protection {
  std::string ns;      ///< namespace of the metrics: "protected.<ns>.<service>"
  std::string service; ///< the protected service, named in errors and metrics
  std::string limiter; ///< a running limiter's name
  std::string key;     ///< the rate-limit key
  int64_t cost = 1;
  std::string pool; ///< a running pool's name: the operation receives a checked-out worker
  bool block = true; ///< wait for a worker, else `pool_full` at once
  std::chrono::milliseconds checkout_timeout{5000};
  std::string breaker; ///< a running circuit breaker's name
  /// Errors of the operation that the breaker does not count (Resilience4j's ignored exceptions).
  std::function<bool(const caf::error&)> ignore;
};

namespace detail {

/// The guards one call passed, holding what it took: the limiter's cost
/// (refunded unless the operation ran), the worker (checked in) and the
/// breaker's permit (returned as ignored unless an outcome was recorded).
class admission {
public:
  admission() = default;
  admission(admission&&) = default;
  admission& operator=(admission&&) = delete;
  ~admission();

  const caf::actor& worker() const;

  /// The operation is about to run: its cost is spent.
  void running() { refund_ = false; }

  /// Records the operation's outcome and releases everything.
  void finish(const caf::error* failure, const protection& p, std::chrono::nanoseconds took);

  std::shared_ptr<rate_limit::limiter> limiter;
  std::string key;
  int64_t cost = 0;
  bool refund_ = false;
  std::optional<pool::lease> lease; ///< a thread's worker
  pool::pool_ref pool;              ///< an actor's worker: checked in by `finish`, else reclaimed
  caf::actor borrowed;              ///< by the pool when the actor dies
  std::shared_ptr<breaker::circuit_breaker> breaker;
  std::optional<breaker::permit> permit;
  perf::histogram* latency = nullptr;
  perf::counter* ok = nullptr;
  perf::counter* failed = nullptr;
};

/// Runs the guards in order: memory, rate limit, pool, breaker. On a
/// refusal, whatever an earlier guard took is given back.
caf::expected<admission> admit(caf::actor_system& sys, const protection& p);

/// The guards before the pool: memory and rate limit.
caf::expected<admission> admit_until_pool(caf::actor_system& sys, const protection& p);

/// The breaker's permit, or the refusal.
caf::error admit_breaker(caf::actor_system& sys, const protection& p, admission& a);

/// The refusal for a failed checkout (`pool_full` or `pool_timeout`).
caf::error pool_refusal(const protection& p, const caf::error& checkout_error);

/// The refusal for a pool that is not running.
caf::error missing_pool(const protection& p);

template <class T>
struct unwrap {
  using type = T;
};
template <class T>
struct unwrap<caf::expected<T>> {
  using type = T;
};

} // namespace detail

/// One call through every guard, from a plain thread (blocking): the memory
/// check, the rate limit, a pooled worker, the service's circuit breaker,
/// then `op` (`op(worker)` when a pool is given, else `op()`), whose outcome
/// and latency are recorded. Returns `op`'s value (or its error; a
/// `request_receiver_down` from a worker that died meanwhile becomes the
/// worker's exit reason), or the refusal (`guard_errc`). Nothing stays held afterwards: the worker is
/// checked in, the breaker's permit returned, and a rate-limit cost refunded
/// when a later guard refused. An exception from `op` counts as a failure
/// and propagates unchanged.
template <class F>
auto protected_operation(caf::actor_system& sys, const protection& p, F&& op) {
  auto call = [&](detail::admission& a) -> decltype(auto) {
    if constexpr (std::is_invocable_v<F, const caf::actor&>)
      return std::forward<F>(op)(a.worker());
    else
      return std::forward<F>(op)();
  };
  using raw = std::decay_t<decltype(call(std::declval<detail::admission&>()))>;
  using value = typename detail::unwrap<raw>::type;
  using result = caf::expected<value>;
  auto admitted = detail::admit(sys, p);
  if (!admitted)
    return result{admitted.error()};
  auto& a = *admitted;
  a.running();
  auto start = steady_ns();
  auto took = [&] { return std::chrono::nanoseconds(steady_ns() - start); };
  try {
    result r = call(a);
    if (!r && a.worker())
      r = result{pool::worker_error(r.error(), a.worker())};
    a.finish(r ? nullptr : &r.error(), p, took());
    return r;
  } catch (...) {
    caf::error thrown = caf::make_error(caf::sec::runtime_error);
    a.finish(&thrown, p, took());
    throw;
  }
}

/// The same guards from an actor, without blocking it: the memory check,
/// the rate limit, a worker of `p.pool` (taken at once when one is idle,
/// else asked of the pool's checkout actor), the breaker, then `request` is
/// sent to the worker; `done` runs in `self` with the worker's reply of type
/// `Reply`, its error (`caf::sec::request_timeout` after `timeout`; the
/// worker's exit reason if it died before answering), or the refusal. The worker is checked in when the reply or error came; if `self`
/// dies first, the pool takes the worker back, the breaker's permit is
/// returned and an unspent rate-limit cost refunded. Needs `p.pool`.
template <class Reply, class... Ts>
void protected_request(caf::event_based_actor* self, const protection& p, std::chrono::milliseconds timeout,
                       std::function<void(caf::expected<Reply>)> done, Ts... request) {
  auto& sys = self->system();
  auto first = detail::admit_until_pool(sys, p);
  if (!first)
    return done(first.error());
  auto call = std::make_shared<detail::admission>(std::move(*first));
  auto pool = p.pool.empty() ? caf::expected<pool::pool_ref>{caf::sec::invalid_argument} : pool::find_pool(sys, p.pool);
  if (!pool)
    return done(detail::missing_pool(p));
  call->pool = *pool;
  // With a worker: the breaker, then the request.
  auto proceed = [self, p, timeout, done, call, request...](caf::actor worker) mutable {
    call->borrowed = worker;
    if (auto refused = detail::admit_breaker(self->system(), p, *call)) {
      call->pool.checkin(worker);
      call->borrowed = nullptr;
      return done(refused);
    }
    call->running();
    auto start = steady_ns();
    self->request(worker, timeout, request...)
      .then(
        [p, done, call, start](Reply& reply) {
          call->finish(nullptr, p, std::chrono::nanoseconds(steady_ns() - start));
          done(std::move(reply));
        },
        [p, done, call, start, worker](caf::error& failure) {
          auto err = pool::worker_error(std::move(failure), worker);
          call->finish(&err, p, std::chrono::nanoseconds(steady_ns() - start));
          done(err);
        });
  };
  auto me = caf::actor_cast<caf::actor>(self);
  if (auto idle = call->pool.try_checkout(me))
    return proceed(*idle);
  // No timeout of our own: the pool answers every checkout once, with a
  // worker or its own timeout, or `closed` when it ends. A timeout here could
  // fire while the pool grants a worker, whose late reply CAF would drop,
  // leaving the worker checked out to us.
  self->request(call->pool.actor(), caf::infinite, pool::checkout_atom::value, p.block, p.checkout_timeout)
    .then([proceed](caf::actor& worker) mutable { proceed(worker); },
          [p, done, call](caf::error& err) { done(detail::pool_refusal(p, err)); });
}

} // namespace otpp
