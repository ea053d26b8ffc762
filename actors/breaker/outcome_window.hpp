#pragma once

#include <cstdint>
#include <vector>

namespace otpp::breaker {

/// Calls, failures and slow calls in a window.
struct window_totals {
  uint32_t calls = 0;
  uint32_t failed = 0;
  uint32_t slow = 0;

  /// Percentages of all calls (0 without calls).
  double failure_rate() const { return calls == 0 ? 0.0 : 100.0 * failed / calls; }
  double slow_rate() const { return calls == 0 ? 0.0 : 100.0 * slow / calls; }
};

/// How a window keeps outcomes: the last N calls, or the calls of the last N
/// seconds (in one-second buckets aligned to the clock, as Resilience4j).
enum class window_kind { count, time };

/// The recorded outcomes of a circuit breaker, in O(1) per call. Pure.
class outcome_window {
public:
  /// `size` >= 1: calls (count) or seconds (time).
  outcome_window(window_kind kind, uint32_t size)
    : kind_(kind), size_(size), buckets_(size) {}

  void record(bool failed, bool slow, int64_t now_ms) {
    auto& b = current(now_ms);
    if (kind_ == window_kind::count)
      remove(b); // the oldest call leaves
    add(b, failed, slow);
  }

  /// Totals at `now_ms` (time windows drop the seconds that left).
  window_totals totals(int64_t now_ms) {
    if (kind_ == window_kind::time)
      advance(second_of(now_ms));
    return totals_;
  }

  void clear() {
    buckets_.assign(size_, bucket{});
    totals_ = {};
    next_ = 0;
    latest_second_ = none;
  }

private:
  struct bucket {
    uint32_t calls = 0;
    uint32_t failed = 0;
    uint32_t slow = 0;
  };
  static constexpr int64_t none = INT64_MIN;

  static int64_t second_of(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

  bucket& current(int64_t now_ms) {
    if (kind_ == window_kind::count) {
      auto& b = buckets_[next_];
      next_ = (next_ + 1) % size_;
      return b;
    }
    auto s = second_of(now_ms);
    advance(s);
    return bucket_of(latest_second_);
  }

  // Moves a time window to second `s`, emptying the buckets of the seconds
  // that left; a clock going back stays in the latest second.
  void advance(int64_t s) {
    if (latest_second_ != none && s <= latest_second_)
      return;
    if (latest_second_ == none || s - latest_second_ >= static_cast<int64_t>(size_)) {
      clear();
    } else {
      for (auto t = latest_second_ + 1; t <= s; ++t)
        remove(bucket_of(t));
    }
    latest_second_ = s;
  }

  bucket& bucket_of(int64_t second) {
    auto n = static_cast<int64_t>(size_);
    return buckets_[static_cast<std::size_t>((second % n + n) % n)];
  }

  void add(bucket& b, bool failed, bool slow) {
    b.calls += 1;
    b.failed += failed;
    b.slow += slow;
    totals_.calls += 1;
    totals_.failed += failed;
    totals_.slow += slow;
  }

  void remove(bucket& b) {
    totals_.calls -= b.calls;
    totals_.failed -= b.failed;
    totals_.slow -= b.slow;
    b = bucket{};
  }

  window_kind kind_;
  uint32_t size_;
  std::vector<bucket> buckets_;
  window_totals totals_;
  uint32_t next_ = 0;              ///< count: the slot of the next call
  int64_t latest_second_ = none;   ///< time: the second of the newest bucket
};

} // namespace otpp::breaker
