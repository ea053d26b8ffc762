#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace otpp::perf {

/// A latency histogram with log-linear buckets: exact below 16 ns, then 16
/// buckets per power of two (at most 6.25 % off). Recording is a few relaxed
/// atomic adds: any thread, no lock, no mailbox.
class histogram {
public:
  void record(int64_t ns) {
    auto v = static_cast<uint64_t>(ns < 0 ? 0 : ns);
    counts_[index_of(v)].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
    auto seen = max_.load(std::memory_order_relaxed);
    while (v > seen && !max_.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
    }
  }

  struct summary {
    uint64_t count = 0;
    double mean_ns = 0;
    uint64_t p50_ns = 0; ///< percentiles: the upper bound of their bucket, at most `max_ns`
    uint64_t p90_ns = 0;
    uint64_t p99_ns = 0;
    uint64_t max_ns = 0;
  };

  summary summarize() const;

  /// The bucket of `v` and the largest value it holds (for tests).
  static std::size_t index_of(uint64_t v) {
    if (v < 16)
      return v;
    auto e = 63 - __builtin_clzll(v); // >= 4
    return static_cast<std::size_t>(e - 3) * 16 + ((v >> (e - 4)) & 15);
  }
  static uint64_t upper_bound_of(std::size_t index);

private:
  static constexpr std::size_t bucket_count = 61 * 16;
  std::array<std::atomic<uint64_t>, bucket_count> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> max_{0};
};

/// A monotonic counter.
class counter {
public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> value_{0};
};

/// Everything the registry held at one moment, by name.
struct snapshot {
  std::map<std::string, histogram::summary> histograms;
  std::map<std::string, uint64_t> counters;
  std::map<std::string, double> gauges;

  /// One JSON object: {"histograms":{name:{count,mean_ns,p50_ns,...}},"counters":{...},"gauges":{...}}.
  std::string to_json() const;
};

/// The performance registry: histograms and counters by name, created on
/// first use and kept for the process's lifetime (hold the reference, look
/// it up once), and gauges that components read on request. Thread-safe.
class registry {
public:
  histogram& histogram_of(const std::string& name);
  counter& counter_of(const std::string& name);

  /// Adds a gauge read at each snapshot; returns an id for `remove_gauge`.
  uint64_t add_gauge(const std::string& name, std::function<double()> read);
  void remove_gauge(uint64_t id);

  snapshot take_snapshot();

private:
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<histogram>> histograms_;
  std::map<std::string, std::unique_ptr<counter>> counters_;
  std::map<uint64_t, std::pair<std::string, std::function<double()>>> gauges_;
  uint64_t next_gauge_ = 1;
};

/// The process's registry.
registry& metrics();

/// Gauges in `metrics()` that go together, at the latest when this object
/// goes: an owner actor keeps its component's gauges in one.
class gauge_set {
public:
  gauge_set() = default;
  gauge_set(const gauge_set&) = delete;
  gauge_set& operator=(const gauge_set&) = delete;
  ~gauge_set() { clear(); }

  void add(const std::string& name, std::function<double()> read) {
    ids_.push_back(metrics().add_gauge(name, std::move(read)));
  }

  void clear() {
    for (auto id : ids_)
      metrics().remove_gauge(id);
    ids_.clear();
  }

private:
  std::vector<uint64_t> ids_;
};

} // namespace otpp::perf
