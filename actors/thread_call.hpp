#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/duration.hpp>
#include <caf/execution_unit.hpp>
#include <caf/expected.hpp>
#include <caf/node_id.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
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

/// The execution unit a `thread_call` sends its request through: when the
/// request wakes the idle local actor it is sent to, that actor is handed
/// to the calling thread (`take`) instead of CAF's scheduler; any other job
/// goes to the scheduler. One per actor system, never freed (an actor keeps
/// a pointer to the unit that ran it last); used by any number of threads.
class caller_unit final : public caf::execution_unit {
public:
  explicit caller_unit(caf::actor_system* sys) : caf::execution_unit(sys) {}

  void exec_later(caf::resumable* job) override {
    auto& mine = claim();
    if (mine.target != nullptr && mine.job == nullptr && job->subtype() == caf::resumable::scheduled_actor
        && static_cast<caf::abstract_actor*>(static_cast<caf::scheduled_actor*>(job)) == mine.target)
      mine.job = job; // the caller runs it, with the reference CAF took for the scheduler
    else
      system().scheduler().enqueue(job);
  }

  /// Arms the unit for this thread's next request to `target`.
  static void expect(caf::abstract_actor* target) { claim() = {target, nullptr}; }

  /// The armed target, if the request woke it (the caller must run it), and disarms.
  static caf::resumable* take() { return std::exchange(claim(), {}).job; }

  /// The unit of `sys`.
  static caller_unit& of(caf::actor_system& sys) {
    thread_local caf::actor_system* cached_sys = nullptr;
    thread_local caller_unit* cached = nullptr;
    if (cached_sys != &sys) {
      static std::mutex mtx;
      static auto* units = new std::map<caf::actor_system*, std::unique_ptr<caller_unit>>;
      std::lock_guard<std::mutex> guard{mtx};
      auto& unit = (*units)[&sys];
      if (!unit) // a system at the address of an ended one reuses its unit: same pointer, same system
        unit = std::make_unique<caller_unit>(&sys);
      cached_sys = &sys;
      cached = unit.get();
    }
    return *cached;
  }

  /// Runs `job` (a woken actor) on this thread for at most `max_throughput`
  /// messages, then gives it back as CAF's workers do.
  void run(caf::resumable* job, std::size_t max_throughput) {
    if (job->resume(this, max_throughput) == caf::resumable::resume_later)
      system().scheduler().enqueue(job);
    else
      caf::intrusive_ptr_release(job);
  }

private:
  struct armed {
    caf::abstract_actor* target = nullptr;
    caf::resumable* job = nullptr;
  };
  static armed& claim() {
    thread_local armed state;
    return state;
  }
};

/// `dst` if CAF's scheduler runs it (a local actor that is neither detached
/// nor blocking), else null.
inline caf::abstract_actor* scheduled_target(caf::actor_system& sys, const caf::actor& dst) {
  if (!dst || dst.node() != sys.node())
    return nullptr;
  auto* a = caf::actor_cast<caf::abstract_actor*>(dst);
  if (a->getf(caf::abstract_actor::is_detached_flag | caf::abstract_actor::is_blocking_flag))
    return nullptr;
  return a;
}

} // namespace detail

/// A request from a plain thread through `self` (keep one `scoped_actor` per
/// thread): sends `xs` to `dst` and returns the reply of type `T`, or the
/// error (`caf::sec::request_timeout` after `timeout`). When the request
/// wakes an idle local actor of CAF's scheduler (not detached), that actor
/// handles it at once on the calling thread, for one message, instead of
/// waiting for one of CAF's threads: the request still goes through its
/// mailbox and its behaviour, but no thread hand-off is paid. A handler run
/// this way is not cut short by `timeout` (as on CAF's threads); the reply it
/// gives is returned. Otherwise it yields a few times
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
  auto* target = detail::scheduled_target(sys, dst);
  auto* unit = target != nullptr ? &detail::caller_unit::of(sys) : nullptr;
  auto* home = self->context();
  if (unit != nullptr) {
    detail::caller_unit::expect(target);
    self->context(unit);
  }
  auto pending = self->request(dst, late ? caf::duration{timeout} : caf::duration{caf::infinite}, std::forward<Ts>(xs)...);
  if (unit != nullptr) {
    self->context(home);
    if (auto* woken = detail::caller_unit::take())
      unit->run(woken, 1);
  }
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
