#pragma once

#include <cstdint>
#include <limits>

#include "otpp/actors/rate_limit/decision.hpp"

namespace otpp::rate_limit {

/// Hammer's fixed window: windows aligned to the epoch (floor(now / scale));
/// the cost is added first, then compared; denied costs stay counted. Pure.
///
/// The limiter's settings are the object itself: a new object (another limit
/// or scale) goes on with the states of the old one. The count of a running
/// window stays; the new limit decides from the next hit; a running window
/// keeps the end it began with, later windows are cut by the new scale.
class fixed_window {
public:
  static constexpr millis none = std::numeric_limits<millis>::min();

  /// Per-key state (24 bytes).
  struct state {
    millis ends = none; ///< the first instant after the key's window (none: no window)
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
    return decision::deny(s.ends - now);
  }

  /// The current window's count (0 once it ended).
  uint64_t get(const state& s, millis now) const { return running(s, now) ? s.count : 0; }

  /// The first instant at which the current window no longer counts (the key was hit).
  millis expires_at(const state& s) const {
    return s.ends == none ? s.latest_seen : s.ends; // none: never hit (a refund or a read created it)
  }

  /// True when a sweep may drop the key: its window has ended.
  bool expired(const state& s, millis now) const { return !running(s, now); }

  void set(state& s, millis now, uint64_t count) const {
    now = clamp_time(s.latest_seen, now);
    roll(s, now);
    s.count = count;
  }

  /// Takes back `cost` of an allowed hit whose call never ran, while its window lasts.
  uint64_t refund(state& s, millis now, uint64_t cost) const {
    now = clamp_time(s.latest_seen, now);
    if (now < s.ends)
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
  // Per key, time never goes back: a window that began is running until it ends.
  static bool running(const state& s, millis now) { return (now < s.latest_seen ? s.latest_seen : now) < s.ends; }

  void roll(state& s, millis now) const {
    if (now < s.ends)
      return; // still the same window: no division on the hot path
    auto into = now % scale_;
    if (into < 0)
      into += scale_; // floor, also before the epoch
    millis start;
    if (__builtin_sub_overflow(now, into, &start))
      start = std::numeric_limits<millis>::min();
    s.ends = later(start, scale_);
    s.count = 0;
  }

  millis scale_;
  uint64_t limit_;
};

} // namespace otpp::rate_limit
