// otpp-bench: the guards on a call's hot path, against the same loop without
// them, from 1 and 16 threads: a no-op call through a CLOSED circuit breaker
// (the permit check alone, and with the outcome recorded), and the memory check.
#include <iostream>
#include <stdexcept>

#include "otpp/actors/breaker/circuit_breaker.hpp"
#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/wall_clock.hpp"
#include "apps/bench/common.hpp"
#include "apps/bench/run_threads.hpp"

namespace otpp::bench {

void bench_breaker_closed_call(const options& opts) {
  breaker::breaker_config config;
  config.name = "bench";
  auto created = breaker::circuit_breaker::make(config);
  if (!created)
    throw std::runtime_error("cannot create the breaker");
  auto& b = **created;
  auto noop = [] { asm volatile("" ::: "memory"); };
  for (int threads : {1, 16}) {
    // The caller's own work without a breaker: the no-op, timed as a call is.
    auto bare = run_threads(threads, opts.duration, [&](int) {
      auto start = steady_ns();
      noop();
      auto took = steady_ns() - start;
      asm volatile("" : : "r"(took) : "memory");
    });
    // Ask for a permit, run the no-op, record its outcome and duration.
    auto guarded = run_threads(threads, opts.duration, [&](int) {
      auto permit = b.try_acquire();
      auto start = steady_ns();
      noop();
      b.on_success(*permit, std::chrono::nanoseconds(steady_ns() - start));
    });
    // The check alone: a permit for the no-op, its outcome not recorded.
    auto checked = run_threads(threads, opts.duration, [&](int) {
      auto permit = b.try_acquire();
      auto start = steady_ns();
      noop();
      auto took = steady_ns() - start;
      asm volatile("" : : "r"(took), "r"(permit->phase) : "memory");
    });
    if (b.state() != breaker::breaker_state::closed)
      throw std::runtime_error("the breaker left CLOSED");
    auto added_ns = 1e9 / guarded.ops_per_s - 1e9 / bare.ops_per_s;
    auto check_ns = 1e9 / checked.ops_per_s - 1e9 / bare.ops_per_s;
    std::cout << json_line("breaker.closed_call", {{"threads", std::to_string(threads)},
                                                   {"ops_per_s", num(guarded.ops_per_s)},
                                                   {"p99_ns", num(percentile(guarded.latencies_ns, 0.99))},
                                                   {"bare_ops_per_s", num(bare.ops_per_s)},
                                                   {"added_ns_per_call", num(added_ns)},
                                                   {"check_only_added_ns", num(check_ns)}})
              << std::endl;
  }
}

void bench_memory_check(const options& opts) {
  memory::memory_config config;
  config.limit_mb = 1024 * 1024; // a terabyte: the level stays normal
  auto created = memory::memory_manager::make(config);
  if (!created)
    throw std::runtime_error("cannot create the memory manager");
  auto& m = **created;
  m.sample();
  for (int threads : {1, 16}) {
    auto bare = run_threads(threads, opts.duration, [](int) { asm volatile("" ::: "memory"); });
    auto checked = run_threads(threads, opts.duration, [&](int) {
      if (m.check())
        throw std::runtime_error("the memory check refused");
    });
    std::cout << json_line("memory.check", {{"threads", std::to_string(threads)},
                                            {"ops_per_s", num(checked.ops_per_s)},
                                            {"p99_ns", num(percentile(checked.latencies_ns, 0.99))},
                                            {"bare_ops_per_s", num(bare.ops_per_s)},
                                            {"added_ns_per_call", num(1e9 / checked.ops_per_s - 1e9 / bare.ops_per_s)}})
              << std::endl;
  }
}

} // namespace otpp::bench
