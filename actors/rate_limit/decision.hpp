#pragma once

#include <cstdint>
#include <limits>

namespace otpp::rate_limit {

/// Milliseconds since the epoch, from an injectable clock.
using millis = int64_t;

/// The answer to a hit: allow(count) or deny(retry_after_ms).
struct decision {
  bool allowed = false;
  uint64_t count = 0;        ///< allow: the count, weight or level after the hit
  int64_t retry_after_ms = 0; ///< deny: >= 1; meaningless when `never`
  bool never = false;         ///< deny: the cost can never fit (sliding window, buckets)
  bool degraded = false;      ///< the backend failed: this answer is the limiter's failure policy

  static decision allow(uint64_t count) { return {true, count, 0, false, false}; }
  static decision deny(int64_t retry_after_ms) {
    return {false, 0, retry_after_ms < 1 ? 1 : retry_after_ms, false, false};
  }
  static decision deny_forever() { return {false, 0, std::numeric_limits<int64_t>::max(), true, false}; }
};

/// a + b, saturating at the maximum.
inline uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
}

/// t + d for d >= 0, saturating at the end of time.
inline millis later(millis t, int64_t d) {
  return t > std::numeric_limits<millis>::max() - d ? std::numeric_limits<millis>::max() : t + d;
}

/// Per key, time never goes back: the latest time seen wins.
inline millis clamp_time(millis& latest_seen, millis now) {
  if (now > latest_seen)
    latest_seen = now;
  return latest_seen;
}

} // namespace otpp::rate_limit
