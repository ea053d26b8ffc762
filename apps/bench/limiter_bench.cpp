// otpp-bench: the rate limiter, every hit on the allow path (as the Hammer
// reference): in memory, its bytes per key, and on a private redis-server.
#include <malloc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <vector>

#include "actors/rate_limit/limiter.hpp"
#include "apps/bench/common.hpp"
#include "apps/bench/run_threads.hpp"
#include "supervision/errors.hpp"
#include "tests/support/redis_server.hpp"

namespace otpp::bench {

namespace {

rate_limit::limiter_config reference_config(rate_limit::algorithm a) {
  rate_limit::limiter_config c;
  c.name = "bench";
  c.algorithm = a;
  c.limit = 1'000'000'000;
  c.capacity = 1'000'000'000;
  c.rate_per_s = 1e9;
  c.scale_ms = a == rate_limit::algorithm::fixed_window ? 60000 : 1000;
  return c;
}

double hits_per_second(rate_limit::limiter& l, int threads, int keys, std::chrono::milliseconds duration) {
  std::vector<std::string> names;
  for (int i = 0; i < keys; ++i)
    names.push_back("key:" + std::to_string(i));
  constexpr std::size_t stride = 8; // one cache line per thread's cursor
  std::vector<std::size_t> cursor(static_cast<std::size_t>(threads) * stride);
  for (int t = 0; t < threads; ++t)
    cursor[static_cast<std::size_t>(t) * stride] = static_cast<std::size_t>(t); // threads start on different keys
  std::atomic<long long> denied{0};
  auto r = run_threads(threads, duration, [&](int t) {
    auto& k = cursor[static_cast<std::size_t>(t) * stride];
    if ((k += 7) >= names.size())
      k %= names.size();
    if (!l.hit(names[k])->allowed)
      ++denied;
  });
  if (denied > 0)
    throw std::runtime_error("a hit took the deny path");
  return r.ops_per_s;
}

constexpr std::array<rate_limit::algorithm, 4> algorithms{
  rate_limit::algorithm::fixed_window, rate_limit::algorithm::sliding_window, rate_limit::algorithm::token_bucket,
  rate_limit::algorithm::leaky_bucket};

std::shared_ptr<rate_limit::limiter> created(caf::expected<std::shared_ptr<rate_limit::limiter>> l) {
  if (!l)
    throw std::runtime_error("cannot create the limiter: " + supervision::describe(l.error()));
  return *l;
}

// The first line of `command`'s output.
std::string output_of(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe{popen(command.c_str(), "r"), pclose};
  char line[512] = {0};
  if (!pipe || fgets(line, sizeof line, pipe.get()) == nullptr)
    return {};
  return line;
}

} // namespace

void bench_limiter_memory(const options&) {
  constexpr int keys = 1'000'000;
  std::vector<std::string> names;
  names.reserve(keys);
  for (int i = 0; i < keys; ++i)
    names.push_back("key:" + std::to_string(i)); // short keys: stored inline by std::string
  for (auto a : algorithms) {
    auto before = mallinfo2().uordblks;
    auto l = created(rate_limit::limiter::in_memory(reference_config(a)));
    for (auto& key : names)
      l->hit(key);
    auto bytes = static_cast<double>(mallinfo2().uordblks - before) / keys;
    std::cout << json_line("limiter.memory", {{"algorithm", quoted(rate_limit::to_string(a))},
                                              {"keys", std::to_string(keys)},
                                              {"bytes_per_key", num(bytes)}})
              << std::endl;
  }
}

void bench_limiter_redis(const options& opts) {
  test::redis_server server;
  // The reference in the same run: the server's own ceiling for a trivial
  // command from 16 clients (redis-benchmark, shipped with redis-server).
  auto reference = output_of("redis-benchmark -p " + std::to_string(server.port())
                             + " -c 16 -n 200000 -t incr -q --csv 2>/dev/null | tail -n 1");
  double incr_per_s = 0;
  if (auto comma = reference.find("\",\""); comma != std::string::npos)
    incr_per_s = std::stod(reference.substr(comma + 3));
  std::cout << json_line("limiter.redis.reference", {{"command", quoted("INCR")},
                                                     {"clients", "16"},
                                                     {"ops_per_s", num(incr_per_s)},
                                                     {"tool", quoted("redis-benchmark")}})
            << std::endl;
  rate_limit::redis_options options;
  options.url = server.url();
  options.prefix = "bench";
  options.timeout = std::chrono::seconds(2);
  for (auto a : algorithms) {
    auto l = created(rate_limit::limiter::on_redis(reference_config(a), options));
    auto rate = hits_per_second(*l, 16, 1000, opts.duration);
    std::cout << json_line("limiter.redis." + rate_limit::to_string(a), {{"threads", "16"},
                                                                         {"keys", "1000"},
                                                                         {"ops_per_s", num(rate)},
                                                                         {"vs_incr", num(rate / incr_per_s)}})
              << std::endl;
  }
}

void bench_limiter(const options& opts) {
  using rate_limit::algorithm;
  for (auto a : algorithms) {
    for (auto [threads, keys] : {std::pair{1, 1}, std::pair{16, 1000}}) {
      // The median of three runs: a shared 2-core machine is noisy with 16 threads.
      std::vector<double> rates;
      for (int run = 0; run < 3; ++run) {
        auto l = created(rate_limit::limiter::in_memory(reference_config(a)));
        rates.push_back(hits_per_second(*l, threads, keys, opts.duration));
      }
      std::sort(rates.begin(), rates.end());
      std::cout << json_line("limiter." + rate_limit::to_string(a), {{"threads", std::to_string(threads)},
                                                                      {"keys", std::to_string(keys)},
                                                                      {"ops_per_s", num(rates[1])},
                                                                      {"runs", "3"},
                                                                      {"min", num(rates[0])},
                                                                      {"max", num(rates[2])},
                                                                      {"backend", quoted("memory")}})
                << std::endl;
    }
  }
}

} // namespace otpp::bench
