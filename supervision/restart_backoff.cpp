#include "otpp/supervision/restart_backoff.hpp"

#include <algorithm>
#include <cmath>

namespace otpp::supervision {

std::string invalid_field(const backoff_options& o) {
  if (o.min.count() <= 0)
    return "backoff.min must be > 0 ms, got " + std::to_string(o.min.count());
  if (o.max < o.min)
    return "backoff.max must be >= backoff.min, got " + std::to_string(o.max.count());
  if (!(o.multiplier >= 1.0))
    return "backoff.multiplier must be >= 1, got " + std::to_string(o.multiplier);
  if (!(o.jitter >= 0.0 && o.jitter <= 1.0))
    return "backoff.jitter must be in [0, 1], got " + std::to_string(o.jitter);
  if (o.reset_after.count() < 0)
    return "backoff.reset_after must be >= 0 ms, got " + std::to_string(o.reset_after.count());
  return {};
}

restart_backoff::restart_backoff(backoff_options options) : options_(options) {}

void restart_backoff::child_stopped(std::chrono::milliseconds up_for) {
  if (up_for >= options_.reset_after)
    attempts_ = 0;
}

std::chrono::milliseconds restart_backoff::next_delay(double unit_random) {
  auto max = static_cast<double>(options_.max.count());
  auto base = std::min(max, static_cast<double>(options_.min.count())
                              * std::pow(options_.multiplier, attempts_));
  ++attempts_;
  auto factor = 1.0 + options_.jitter * (2.0 * unit_random - 1.0);
  auto delay = std::clamp(base * factor, 0.0, max);
  return std::chrono::milliseconds{static_cast<long long>(std::llround(delay))};
}

} // namespace otpp::supervision
