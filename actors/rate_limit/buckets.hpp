#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "otpp/actors/rate_limit/decision.hpp"

namespace otpp::rate_limit {

/// Bucket arithmetic in exact integers: amounts in billionths of a token,
/// rates in billionths of a token per millisecond, 128 bits wide, so that
/// fractional refill is never lost and nothing overflows for any uint64
/// capacity or cost and any time span.
namespace bucket_math {

__extension__ typedef __int128 amount; // 128 bits: products of two 64-bit values fit
constexpr amount per_token = 1'000'000'000;

inline amount tokens(uint64_t n) { return static_cast<amount>(n) * per_token; }

/// A rate in tokens per second as billionths of a token per millisecond.
inline amount per_ms(double per_second) {
  return static_cast<amount>(std::llround(per_second * 1e6));
}

/// `elapsed` ms at `rate`, capped at `cap`. No overflow: elapsed < 2^63 and
/// rate <= per_ms(1e12) < 2^60 (the limiter's validation), so the product < 2^123.
inline amount flow(millis elapsed, amount rate, amount cap) {
  if (elapsed <= 0 || rate <= 0)
    return 0;
  auto f = static_cast<amount>(elapsed) * rate;
  return f < cap ? f : cap;
}

/// floor(a / per_token), in 64 bits when it fits (no 128-bit division call).
inline uint64_t whole_tokens(amount a) {
  if (a >= 0 && a <= static_cast<amount>(std::numeric_limits<uint64_t>::max()))
    return static_cast<uint64_t>(a) / static_cast<uint64_t>(per_token);
  return static_cast<uint64_t>(a / per_token);
}

/// ceil(a / per_token) for a >= 0.
inline uint64_t tokens_rounded_up(amount a) {
  auto whole = whole_tokens(a);
  return tokens(whole) < a ? whole + 1 : whole;
}

/// Milliseconds until `missing` has flowed in at `rate`: ceil(missing / rate), at least 1.
inline int64_t wait_ms(amount missing, amount rate) {
  auto ms = (missing + rate - 1) / rate;
  if (ms > std::numeric_limits<int64_t>::max())
    return std::numeric_limits<int64_t>::max();
  return ms < 1 ? 1 : static_cast<int64_t>(ms);
}

inline double to_tokens(amount a) {
  return static_cast<double>(a / per_token) + static_cast<double>(a % per_token) / 1e9;
}

} // namespace bucket_math

/// Token bucket: starts full, refills continuously at `refill_per_s`, capped
/// at `capacity`; allowed iff tokens >= cost. A rate above the capacity is
/// sustained (the refill is continuous, not per second). Pure. A new object
/// (another capacity or rate) goes on with the states of the old one: the
/// tokens stay, read as at most the new capacity.
class token_bucket {
public:
  /// Per-key state (32 bytes).
  struct state {
    bucket_math::amount tokens = 0;
    millis last = std::numeric_limits<millis>::min(); ///< min: unknown key, a full bucket
    millis latest_seen = std::numeric_limits<millis>::min();
  };

  token_bucket(uint64_t capacity, double refill_per_s)
    : cap_(bucket_math::tokens(capacity)), rate_(bucket_math::per_ms(refill_per_s)) {}

  decision hit(state& s, millis now, uint64_t cost) const {
    now = clamp_time(s.latest_seen, now);
    auto have = level(s, now);
    auto need = bucket_math::tokens(cost);
    if (have >= need) {
      s.tokens = have - need;
      s.last = now;
      return decision::allow(bucket_math::whole_tokens(s.tokens));
    }
    if (need > cap_ || rate_ <= 0)
      return decision::deny_forever();
    return decision::deny(bucket_math::wait_ms(need - have, rate_));
  }

  /// Tokens at `now`; a full bucket for an unknown key.
  double get(const state& s, millis now) const { return bucket_math::to_tokens(level(s, at(s, now))); }

  void set(state& s, millis now, uint64_t tokens) const {
    s.last = clamp_time(s.latest_seen, now);
    s.tokens = std::min(cap_, bucket_math::tokens(tokens));
  }

  /// Adds `tokens` (capped at capacity); returns the tokens now.
  double inc(state& s, millis now, uint64_t tokens) const {
    now = clamp_time(s.latest_seen, now);
    s.tokens = std::min(cap_, level(s, now) + bucket_math::tokens(tokens));
    s.last = now;
    return bucket_math::to_tokens(s.tokens);
  }

  /// Gives back `tokens` taken by an allowed hit whose call never ran.
  double refund(state& s, millis now, uint64_t tokens) const { return inc(s, now, tokens); }

  /// When the bucket is full again (a sweep may then drop the key).
  millis expires_at(const state& s) const {
    if (s.last == std::numeric_limits<millis>::min() || s.tokens >= cap_ || rate_ <= 0)
      return s.last;
    auto ms = bucket_math::wait_ms(cap_ - s.tokens, rate_);
    return later(s.last, ms);
  }

  bool expired(const state& s, millis now) const { return level(s, at(s, now)) >= cap_; }

private:
  static millis at(const state& s, millis now) { return now < s.latest_seen ? s.latest_seen : now; }

  bucket_math::amount level(const state& s, millis now) const {
    if (s.last == std::numeric_limits<millis>::min())
      return cap_;
    auto refill = bucket_math::flow(now - s.last, rate_, cap_);
    return std::min(cap_, s.tokens + refill);
  }

  bucket_math::amount cap_;
  bucket_math::amount rate_;
};

/// Leaky bucket: starts empty, drains continuously at `leak_per_s`; allowed
/// iff level + cost <= capacity (Hammer admits while level < capacity and
/// overfills). Pure. A new object (another capacity or rate) goes on with
/// the states of the old one: the level stays and drains as before, read as
/// at most the new capacity (full until it drained below it).
class leaky_bucket {
public:
  /// Per-key state (32 bytes).
  struct state {
    bucket_math::amount level = 0;
    millis last = std::numeric_limits<millis>::min();
    millis latest_seen = std::numeric_limits<millis>::min();
  };

  leaky_bucket(uint64_t capacity, double leak_per_s)
    : cap_(bucket_math::tokens(capacity)), rate_(bucket_math::per_ms(leak_per_s)) {}

  decision hit(state& s, millis now, uint64_t cost) const {
    now = clamp_time(s.latest_seen, now);
    auto current = level(s, now);
    auto add = bucket_math::tokens(cost);
    if (add > cap_)
      return decision::deny_forever();
    if (current + add <= cap_) {
      s.level = current + add;
      s.last = now;
      return decision::allow(bucket_math::tokens_rounded_up(s.level));
    }
    if (rate_ <= 0)
      return decision::deny_forever();
    return decision::deny(bucket_math::wait_ms(current + add - cap_, rate_));
  }

  /// The level at `now`; 0 for an unknown key.
  double get(const state& s, millis now) const { return bucket_math::to_tokens(level(s, at(s, now))); }

  void set(state& s, millis now, uint64_t level) const {
    s.last = clamp_time(s.latest_seen, now);
    s.level = std::min(cap_, bucket_math::tokens(level));
  }

  /// Adds `amount` to the level (capped at capacity); returns the level now.
  double inc(state& s, millis now, uint64_t amount) const {
    now = clamp_time(s.latest_seen, now);
    s.level = std::min(cap_, level(s, now) + bucket_math::tokens(amount));
    s.last = now;
    return bucket_math::to_tokens(s.level);
  }

  /// Takes `amount` out of the level again (an allowed hit whose call never ran).
  double refund(state& s, millis now, uint64_t amount) const {
    now = clamp_time(s.latest_seen, now);
    auto current = level(s, now);
    auto back = bucket_math::tokens(amount);
    s.level = current > back ? current - back : 0;
    s.last = now;
    return bucket_math::to_tokens(s.level);
  }

  /// When the bucket is drained (a sweep may then drop the key).
  millis expires_at(const state& s) const {
    if (s.level <= 0 || rate_ <= 0)
      return s.last;
    auto ms = bucket_math::wait_ms(s.level, rate_);
    return later(s.last, ms);
  }

  bool expired(const state& s, millis now) const { return level(s, at(s, now)) <= 0; }

private:
  static millis at(const state& s, millis now) { return now < s.latest_seen ? s.latest_seen : now; }

  bucket_math::amount level(const state& s, millis now) const {
    if (s.last == std::numeric_limits<millis>::min())
      return 0;
    auto current = s.level - bucket_math::flow(now - s.last, rate_, s.level);
    return current < cap_ ? current : cap_; // a level above a lowered capacity reads as full
  }

  bucket_math::amount cap_;
  bucket_math::amount rate_;
};

} // namespace otpp::rate_limit
