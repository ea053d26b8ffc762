#pragma once
// Shared pieces of otpp-bench: options, JSON lines, statistics, scheduler profiles.

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system_config.hpp>

namespace otpp::pool {
class pool_ref;
}

namespace otpp::bench {

using bench_clock = std::chrono::steady_clock;

struct options {
  std::string filter;
  int restarts = 1000;
  std::chrono::milliseconds duration{1000}; ///< per throughput run
};

/// {"bench":NAME,key:value,...}; values are JSON already (numbers, quoted strings).
std::string json_line(const std::string& bench, const std::vector<std::pair<std::string, std::string>>& fields);

/// A number with three decimals.
std::string num(double x);

/// A JSON string literal.
std::string quoted(const std::string& text);

/// The p-quantile (0..1) of `xs`.
double percentile(std::vector<double> xs, double p);

/// CPU seconds used by the process so far.
double cpu_seconds();

/// Scheduler settings a bench runs with: CAF's defaults, or otpp's profile.
struct scheduler_profile {
  const char* name;
  std::function<void(caf::actor_system_config&)> apply;
};

std::vector<scheduler_profile> profiles();

/// otpp's profile only.
scheduler_profile otpp_profile();

struct bench_config : caf::actor_system_config {
  explicit bench_config(const scheduler_profile& profile);
};

/// A pool "bench.pool" of 10 echo workers and 5 overflow.
pool::pool_ref start_bench_pool(caf::actor_system& sys);

void bench_supervisor_restart(const options& opts);
void bench_idle_cpu(const options& opts);
void bench_pool_checkout_checkin(const options& opts);
void bench_pool_checkout_checkin_actor(const options& opts);
void bench_pool_transaction(const options& opts);
void bench_protected_operation(const options& opts);
void bench_worker_sqlite_insert(const options& opts);
void bench_worker_postgres(const options& opts);
void bench_limiter(const options& opts);
void bench_breaker_closed_call(const options& opts);
void bench_memory_check(const options& opts);
void bench_limiter_memory(const options& opts);
void bench_limiter_redis(const options& opts);
void bench_events(const options& opts); ///< events.on.* and events.off.* lines, events.flood

} // namespace otpp::bench
