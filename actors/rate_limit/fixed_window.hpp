#pragma once

#include <cstdint>
#include <limits>

#include "otpp/actors/rate_limit/decision.hpp"

namespace otpp::rate_limit {

/// Hammer's fixed window: windows aligned to the epoch (floor(now / scale));
/// the cost is added first, then compared; denied costs stay counted. Pure.
class fixed_window {
public:
  /// Per-key state (24 bytes).
  static constexpr int64_t none = std::numeric_limits<int64_t>::min();

  struct state {
    int64_t window = none;
    uint64_t count = 0;
    millis latest_seen = std::numeric_limits<millis>::min();
  };

  /// `scale_ms` > 0; `limit` >= 0 (checked by the limiter's validation).
  fixed_window(millis scale_ms, uint64_t limit) : scale_(scale_ms), limit_(limit) {}

  decision hit(state& s, millis now, uint64_t cost) const {
    now = clamp_time(s.latest_seen, now);
    roll(s, now);
    s.count = saturating_add(s.count, cost);
    if (s.count <= limit_)
      return decision::allow(s.count);
    return decision::deny(retry_after(now));
  }

  /// The current window's count (0 once it ended).
  uint64_t get(const state& s, millis now) const {
    return window_of(now < s.latest_seen ? s.latest_seen : now) == s.window ? s.count : 0;
  }

  /// The first instant at which the current window no longer counts (the key was hit).
  millis expires_at(const state& s) const {
    if (s.window == none)
      return s.latest_seen; // never hit (a refund or a read created it)
    auto start = s.window * scale_; // the window's start <= the latest time seen: no overflow
    return later(start, scale_);
  }

  /// True when a sweep may drop the key: its window has ended.
  bool expired(const state& s, millis now) const {
    return window_of(now < s.latest_seen ? s.latest_seen : now) != s.window;
  }

  void set(state& s, millis now, uint64_t count) const {
    now = clamp_time(s.latest_seen, now);
    roll(s, now);
    s.count = count;
  }

  /// Takes back `cost` of an allowed hit whose call never ran, while its window lasts.
  uint64_t refund(state& s, millis now, uint64_t cost) const {
    now = clamp_time(s.latest_seen, now);
    if (window_of(now) == s.window)
      s.count = s.count > cost ? s.count - cost : 0;
    return get(s, now);
  }

  uint64_t inc(state& s, millis now, uint64_t by) const {
    now = clamp_time(s.latest_seen, now);
    roll(s, now);
    s.count = saturating_add(s.count, by);
    return s.count;
  }

private:
  int64_t window_of(millis now) const {
    auto w = now / scale_;
    return (now % scale_ != 0 && now < 0) ? w - 1 : w; // floor, also before the epoch
  }

  void roll(state& s, millis now) const {
    int64_t start;
    if (s.window != none && !__builtin_mul_overflow(s.window, scale_, &start) && now >= start && now - start < scale_)
      return; // still the same window: no division on the hot path
    auto w = window_of(now);
    if (w != s.window) {
      s.window = w;
      s.count = 0;
    }
  }

  int64_t retry_after(millis now) const {
    auto into = now - window_of(now) * scale_;
    return scale_ - into;
  }

  millis scale_;
  uint64_t limit_;
};

} // namespace otpp::rate_limit
