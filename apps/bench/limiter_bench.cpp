// otpp-bench: the in-memory rate limiter, every hit on the allow path (as the
// Hammer reference), and its bytes per key.
#include <malloc.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "apps/bench/common.hpp"
#include "apps/bench/limiter_shapes.hpp"

namespace otpp::bench {

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
