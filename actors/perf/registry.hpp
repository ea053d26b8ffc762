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

  /// For each bound (ascending, in ns), how many recorded values fall in a
  /// bucket whose upper bound is at most it: the count "less than or equal
  /// to the bound", never more than the true one and at most 6.25 % of the
  /// bound short of it; `total` is the count of all values, read in the same
  /// pass (so it is never below the last cumulative count).
  std::vector<uint64_t> cumulative_counts(const std::vector<uint64_t>& bounds_ns, uint64_t& total) const;

  uint64_t sum_ns() const { return sum_.load(std::memory_order_relaxed); }

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

/// A monotonic counter that many threads may add to at once: each thread
/// adds to one of a few cache-line-sized stripes, so that a counter on a hot
/// path (a limiter hit, a breaker call) does not make the threads that share
/// it contend on one cache line.
class counter {
public:
  void add(uint64_t n = 1) { stripes_[stripe()].value.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const;

private:
  static constexpr std::size_t stripe_count = 8;
  struct alignas(64) padded {
    std::atomic<uint64_t> value{0};
  };
  static std::size_t stripe() { // the calling thread's
    thread_local const std::size_t mine = next_stripe();
    return mine;
  }
  static std::size_t next_stripe();
  std::array<padded, stripe_count> stripes_{};
};

/// A value read when metrics are taken (a pool's idle workers, a breaker's state).
class gauge {
public:
  explicit gauge(std::function<double()> read) : read_(std::move(read)) {}
  double value() const { return read_(); }

private:
  std::function<double()> read_;
};

enum class metric_type { counter, gauge, histogram };

/// "counter", "gauge", "histogram".
const char* to_string(metric_type x);

/// A metric family: one Prometheus metric name, what it means, its type and
/// its label names. otpp's own are in families.hpp.
struct family {
  std::string name; ///< e.g. "otpp_pool_worker_exits_total"; counters end in _total, latencies are _seconds
  std::string help;
  metric_type type = metric_type::counter;
  std::vector<std::string> label_names;
};

/// The values of a family's labels, in the order of its `label_names`.
using label_values = std::vector<std::string>;

/// One series of a family at the moment of a snapshot.
struct series_snapshot {
  label_values labels;
  double value = 0; ///< counters and gauges
  /// Histograms: cumulative counts for each bound of `histogram_bounds_seconds`
  /// (then +Inf is `count`), the sum in seconds and the count.
  std::vector<uint64_t> buckets;
  double sum_seconds = 0;
  uint64_t count = 0;
};

/// The `le` bounds otpp exports its latency histograms with, in seconds.
const std::vector<double>& histogram_bounds_seconds();

/// One family and its series, sorted by label values.
struct family_snapshot {
  family info;
  std::vector<series_snapshot> series;
};

/// Everything the registry held at one moment: families sorted by name, only
/// those with at least one series.
struct snapshot {
  std::vector<family_snapshot> families;

  /// The Prometheus text exposition format (version 0.0.4): `# HELP` and
  /// `# TYPE` for each family, label values passed through
  /// events::printable then escaped (valid UTF-8, no injected series),
  /// histograms as `_bucket{le=...}` (cumulative, `+Inf` last), `_sum` and
  /// `_count`; NaN and infinities as `NaN`, `+Inf`, `-Inf`.
  std::string to_prometheus() const;

  /// {"NAME":{"type":..,"help":..,"series":[{"labels":{..},"value":..}
  /// or, for histograms, {"labels":{..},"count":..,"sum_seconds":..,"buckets":{"0.001":..,..}}]},..}
  /// Whole values are integers, NaN and infinities null; bucket keys are the
  /// bounds as `to_prometheus` writes them, counts cumulative (+Inf is
  /// `count`); label values and help pass through events::printable.
  std::string to_json() const;

  /// The value of one counter or gauge series, or nullptr (tests, status tables).
  const series_snapshot* find(const std::string& family_name, const label_values& labels) const;
  /// The sum of a family's series whose labels match the given ones (empty matches any).
  double sum(const std::string& family_name, const label_values& match = {}) const;
};

/// The performance registry: metric families and their series. A series
/// lives as long as someone holds the pointer `counter_of`, `histogram_of`
/// or `gauge_of` returned, and disappears from snapshots after the last
/// holder let go (a component that ends takes its series with it). Asking
/// twice for the same family and labels gives the same series while it
/// lives (for gauges, the newest `gauge_of` replaces an older live one of the
/// same labels: its reader is the one of the latest owner). Thread-safe.
class registry {
public:
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Throws std::invalid_argument when `labels` does not match the family's
  /// label names, when a family of that name exists with another type or
  /// labels, when the family's names break Prometheus's rules (metric
  /// `[a-zA-Z_:][a-zA-Z0-9_:]*`; labels `[a-zA-Z_][a-zA-Z0-9_]*`, not `__...`,
  /// not twice, no `le` on a histogram), or when a counter series is asked
  /// of `counter_of` while `counter_from` reads it (or the other way round).
  /// A gauge's `read` runs on the thread that takes a snapshot, possibly
  /// just after its holder let go: it must only use state it shares.
  std::shared_ptr<counter> counter_of(const family& f, label_values labels = {});
  std::shared_ptr<histogram> histogram_of(const family& f, label_values labels = {});
  std::shared_ptr<gauge> gauge_of(const family& f, label_values labels, std::function<double()> read);
  /// A counter series whose value the component keeps itself (`read` must
  /// return a count that never decreases while the series lives): no second
  /// count on a hot path that already counts. Replaced like a gauge.
  std::shared_ptr<gauge> counter_from(const family& f, label_values labels, std::function<double()> read);

  snapshot take_snapshot();

  struct entry; ///< one family's series
private:
  template <class Metric, class Make>
  std::shared_ptr<Metric> series_of(const family& f, label_values labels, metric_type type, Make make);

  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<entry>> families_;
};

/// The process's registry.
registry& metrics();

} // namespace otpp::perf
