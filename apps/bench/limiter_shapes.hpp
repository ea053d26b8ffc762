#pragma once
// The limiter benches' shared shapes: the reference configuration (every hit
// allowed, as in Hammer's figures) and the throughput loop over keys.

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "otpp/actors/rate_limit/limiter.hpp"
#include "apps/bench/run_threads.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::bench {

inline rate_limit::limiter_config reference_config(rate_limit::algorithm a) {
  rate_limit::limiter_config c;
  c.name = "bench";
  c.algorithm = a;
  c.limit = 1'000'000'000;
  c.capacity = 1'000'000'000;
  c.rate_per_s = 1e9;
  c.scale_ms = a == rate_limit::algorithm::fixed_window ? 60000 : 1000;
  return c;
}

inline double hits_per_second(rate_limit::limiter& l, int threads, int keys, std::chrono::milliseconds duration) {
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

inline std::shared_ptr<rate_limit::limiter> created(caf::expected<std::shared_ptr<rate_limit::limiter>> l) {
  if (!l)
    throw std::runtime_error("cannot create the limiter: " + supervision::describe(l.error()));
  return *l;
}

} // namespace otpp::bench
