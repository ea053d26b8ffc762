// otpp-bench: the in-memory rate limiter, every hit on the allow path (as the Hammer reference).
#include <atomic>
#include <iostream>
#include <stdexcept>
#include <vector>

#include "actors/rate_limit/limiter.hpp"
#include "apps/bench/common.hpp"
#include "apps/bench/run_threads.hpp"

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
    if (!l.hit(names[(k += 7) % names.size()])->allowed)
      ++denied;
  });
  if (denied > 0)
    throw std::runtime_error("a hit took the deny path");
  return r.ops_per_s;
}

} // namespace

void bench_limiter(const options& opts) {
  using rate_limit::algorithm;
  for (auto a : {algorithm::fixed_window, algorithm::sliding_window, algorithm::token_bucket, algorithm::leaky_bucket}) {
    for (auto [threads, keys] : {std::pair{1, 1}, std::pair{16, 1000}}) {
      auto l = rate_limit::limiter::in_memory(reference_config(a));
      if (!l)
        throw std::runtime_error("cannot create the limiter");
      auto rate = hits_per_second(**l, threads, keys, opts.duration);
      std::cout << json_line("limiter." + rate_limit::to_string(a), {{"threads", std::to_string(threads)},
                                                                      {"keys", std::to_string(keys)},
                                                                      {"ops_per_s", num(rate)},
                                                                      {"backend", quoted("memory")}})
                << std::endl;
    }
  }
}

} // namespace otpp::bench
