#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/threaded.hpp"

namespace otpp::test {

/// Threads that check workers of a pool out (blocking, `timeout`), use them
/// and check them in, until stopped; they count checkouts, failures and the
/// longest wait. `use` (optional) calls the worker through the thread's own
/// scoped actor and returns an error if the call failed.
class checkout_load {
public:
  using use_fn = std::function<caf::error(caf::scoped_actor&, const caf::actor&)>;

  checkout_load(caf::actor_system& sys, pool::pool_ref p, int threads, std::chrono::milliseconds timeout,
                use_fn use = {})
    : pool_(std::move(p)), timeout_(timeout), use_(std::move(use)) {
    for (int t = 0; t < threads; ++t)
      threads_.threads.emplace_back([this, &sys] { run(sys); });
  }

  ~checkout_load() { stop(); }

  /// Stops and joins the threads.
  void stop() { threads_.join(); }

  /// Checkouts that got a worker (and used it) so far.
  long done() const { return done_.load(); }

  /// Checkouts or uses that failed.
  long failed() const { return failed_.load(); }

  /// The longest a checkout took, in milliseconds.
  long longest_wait_ms() const { return longest_.load(); }

  /// The first failure, for the test's message.
  std::string first_failure() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return first_failure_;
  }

private:
  void run(caf::actor_system& sys) {
    caf::scoped_actor self{sys};
    while (!threads_.stop) {
      auto began = std::chrono::steady_clock::now();
      auto held = pool_.checkout(true, timeout_);
      auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
      long ms = waited.count();
      for (long seen = longest_.load(); ms > seen && !longest_.compare_exchange_weak(seen, ms);) {
      }
      caf::error err = held ? (use_ ? use_(self, held->worker()) : caf::error{}) : held.error();
      if (err) {
        note(err);
        continue;
      }
      ++done_;
    }
  }

  void note(const caf::error& err) {
    ++failed_;
    std::lock_guard<std::mutex> guard{mtx_};
    if (first_failure_.empty())
      first_failure_ = supervision::describe(err);
  }

  pool::pool_ref pool_;
  std::chrono::milliseconds timeout_;
  use_fn use_;
  std::atomic<long> done_{0};
  std::atomic<long> failed_{0};
  std::atomic<long> longest_{0};
  mutable std::mutex mtx_;
  std::string first_failure_;
  stopping_threads threads_; ///< last: joined before the fields its threads use go
};

} // namespace otpp::test
