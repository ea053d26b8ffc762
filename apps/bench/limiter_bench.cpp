// otpp-bench: the in-memory rate limiter, every hit on the allow path (as the Hammer reference).
#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

#include "actors/rate_limit/limiter.hpp"
#include "apps/bench/common.hpp"

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
  std::atomic<bool> stop{false};
  std::atomic<long long> total{0};
  std::atomic<long long> denied{0};
  std::vector<std::thread> pool;
  auto start = bench_clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      long long n = 0;
      long long no = 0;
      auto k = static_cast<std::size_t>(t);
      while (!stop.load(std::memory_order_relaxed)) {
        if (!l.hit(names[k % names.size()])->allowed)
          ++no;
        k += 7;
        ++n;
      }
      total += n;
      denied += no;
    });
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& t : pool)
    t.join();
  if (denied > 0)
    throw std::runtime_error("a hit took the deny path");
  return static_cast<double>(total.load()) / std::chrono::duration<double>(bench_clock::now() - start).count();
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
