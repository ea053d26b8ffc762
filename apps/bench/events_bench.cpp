// otpp-bench: what events cost on the hot paths (a pool checkout and checkin
// from one thread, a limiter hit, a breaker call), with events off (no process
// log, no subscriber) and on (the process log writing to a no-op writer, and
// one more subscriber), in the same run; and how much a flood of one kind of
// event writes per second through the burst limit.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "otpp/actors/breaker/circuit_breaker.hpp"
#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/events/log_sink.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/rate_limit/limiter.hpp"
#include "apps/bench/common.hpp"
#include "apps/bench/run_threads.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::bench {

using namespace std::chrono_literals;

namespace {

// Events on for as long as it lives: the process log and one more subscriber.
class events_on {
public:
  events_on() {
    events::log_options options;
    events::configure_log(options, [](std::string_view) {});
    extra_ = events::subscribe([](const events::record&) {});
  }
  ~events_on() {
    events::unsubscribe(extra_);
    events::disable_log();
  }
  events_on(const events_on&) = delete;
  events_on& operator=(const events_on&) = delete;

private:
  events::subscription extra_;
};

// Off and on in turn, three rounds (a shared machine is noisy): per setting
// the median run's figures, and the slowest and fastest rates.
template <class Op>
void off_and_on(const std::string& path, const options& opts, Op op) {
  std::vector<run_result> runs[2];
  run_threads(1, opts.duration / 5, op); // warm up: the first run would pay for it
  for (int round = 0; round < 3; ++round)
    for (bool on : {false, true}) {
      events::disable_log();
      std::optional<events_on> enabled;
      if (on)
        enabled.emplace();
      runs[on].push_back(run_threads(1, opts.duration, op));
    }
  for (bool on : {false, true}) {
    auto& r = runs[on];
    std::sort(r.begin(), r.end(), [](auto& a, auto& b) { return a.ops_per_s < b.ops_per_s; });
    std::cout << json_line(std::string{"events."} + (on ? "on." : "off.") + path,
                           {{"threads", "1"},
                            {"ops_per_s", num(r[1].ops_per_s)},
                            {"p50_ns", num(percentile(r[1].latencies_ns, 0.50))},
                            {"p99_ns", num(percentile(r[1].latencies_ns, 0.99))},
                            {"runs", "3"},
                            {"min", num(r[0].ops_per_s)},
                            {"max", num(r[2].ops_per_s)},
                            {"subscribers", on ? "2" : "0"}})
              << std::endl;
  }
}

void pool_checkout_checkin(const options& opts) {
  bench_config cfg{otpp_profile()};
  caf::actor_system sys{cfg};
  auto p = start_bench_pool(sys);
  off_and_on("pool.checkout_checkin", opts, [&](int) {
    auto held = p.checkout(true, 5s);
    if (!held)
      throw std::runtime_error(supervision::describe(held.error()));
  });
  caf::anon_send_exit(p.actor(), caf::exit_reason::user_shutdown);
}

void limiter_hit(const options& opts) {
  rate_limit::limiter_config config;
  config.name = "bench";
  config.algorithm = rate_limit::algorithm::token_bucket;
  config.capacity = 1'000'000'000;
  config.rate_per_s = 1e9;
  auto l = rate_limit::limiter::in_memory(config);
  if (!l)
    throw std::runtime_error("cannot create the limiter: " + supervision::describe(l.error()));
  const std::string key = "key:0";
  off_and_on("limiter.hit", opts, [&](int) {
    if (!(*l)->hit(key)->allowed)
      throw std::runtime_error("a hit took the deny path");
  });
}

void breaker_call(const options& opts) {
  breaker::breaker_config config;
  config.name = "bench";
  auto b = breaker::circuit_breaker::make(config);
  if (!b)
    throw std::runtime_error("cannot create the breaker");
  off_and_on("breaker.call", opts, [&](int) {
    auto permit = (*b)->try_acquire();
    if (!permit)
      throw std::runtime_error("the breaker refused a call");
    (*b)->on_success(*permit, std::chrono::nanoseconds{100});
  });
}

// One kind of event about one component as fast as one thread emits it,
// through the process log's default overload protection.
void flood(const options& opts) {
  for (auto format : {events::log_format::text, events::log_format::json}) {
    std::atomic<long long> lines{0}, bytes{0};
    events::log_options options;
    options.format = format;
    options.node = "bench-node";
    events::configure_log(options, [&](std::string_view line) {
      ++lines;
      bytes += static_cast<long long>(line.size()) + 1;
    });
    auto duration = 3 * opts.duration; // several windows: the rate settles
    long long emitted = 0;
    auto start = bench_clock::now();
    while (bench_clock::now() - start < duration) {
      for (int i = 0; i < 1000; ++i)
        events::emit(events::pool_worker_exited{"database", "sqlite#1", "crash", "exception: no such table: t"});
      emitted += 1000;
    }
    events::flush_log();
    auto secs = std::chrono::duration<double>(bench_clock::now() - start).count();
    events::disable_log();
    std::cout << json_line("events.flood", {{"format", quoted(format == events::log_format::json ? "json" : "text")},
                                            {"keys", "1"},
                                            {"events_per_s", num(static_cast<double>(emitted) / secs)},
                                            {"lines_per_s", num(static_cast<double>(lines) / secs)},
                                            {"bytes_per_s", num(static_cast<double>(bytes) / secs)},
                                            {"burst_limit_max_count", std::to_string(options.burst_limit_max_count)},
                                            {"window_ms", std::to_string(options.burst_limit_window.count())}})
              << std::endl;
  }
}

} // namespace

void bench_events(const options& opts) {
  pool_checkout_checkin(opts);
  limiter_hit(opts);
  breaker_call(opts);
  flood(opts);
  events::disable_log();
}

} // namespace otpp::bench
