#pragma once
// A throughput loop shared by the benches.

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "apps/bench/common.hpp"

namespace otpp::bench {

constexpr int sample_every = 64; ///< latency of one op in 64: the clock costs as much as an op

/// Throughput and sampled latencies of one run.
struct run_result {
  double ops_per_s;
  std::vector<double> latencies_ns;
};

/// Runs `op(thread_index)` in a loop on `threads` threads for `duration`;
/// ops per second over all threads, and the latency of one op in `sample_every`.
template <class Op>
run_result run_threads(int threads, std::chrono::milliseconds duration, Op op) {
  std::atomic<bool> stop{false};
  std::atomic<long long> total{0};
  std::vector<std::vector<double>> samples(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  auto start = bench_clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      long long n = 0;
      auto& mine = samples[static_cast<std::size_t>(t)];
      while (!stop.load(std::memory_order_relaxed)) {
        if (n % sample_every == 0) {
          auto t0 = bench_clock::now();
          op(t);
          mine.push_back(std::chrono::duration<double, std::nano>(bench_clock::now() - t0).count());
        } else {
          op(t);
        }
        ++n;
      }
      total += n;
    });
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& t : pool)
    t.join();
  auto secs = std::chrono::duration<double>(bench_clock::now() - start).count();
  run_result result{static_cast<double>(total.load()) / secs, {}};
  for (auto& s : samples)
    result.latencies_ns.insert(result.latencies_ns.end(), s.begin(), s.end());
  return result;
}

} // namespace otpp::bench
