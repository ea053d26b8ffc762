#pragma once

#include <atomic>
#include <memory>

#include "otpp/actors/rate_limit/limiter.hpp"

namespace otpp::test {

/// A clock the test moves by hand.
struct fake_clock {
  std::shared_ptr<std::atomic<rate_limit::millis>> now = std::make_shared<std::atomic<rate_limit::millis>>(0);
  rate_limit::limiter::clock fn() const {
    return [t = now] { return t->load(); };
  }
};

/// A fixed or sliding window limiter named "test".
inline rate_limit::limiter_config windowed(rate_limit::algorithm a, rate_limit::millis scale, int64_t limit) {
  rate_limit::limiter_config c;
  c.name = "test";
  c.algorithm = a;
  c.scale_ms = scale;
  c.limit = limit;
  return c;
}

/// A token or leaky bucket limiter named "test".
inline rate_limit::limiter_config bucket(rate_limit::algorithm a, int64_t capacity, double rate) {
  rate_limit::limiter_config c;
  c.name = "test";
  c.algorithm = a;
  c.capacity = capacity;
  c.rate_per_s = rate;
  return c;
}

} // namespace otpp::test
