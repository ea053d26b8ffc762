#include "otpp/actors/rate_limit/limiter.hpp"

#include <algorithm>
#include <chrono>
#include <type_traits>

#include "otpp/actors/rate_limit/buckets.hpp"
#include "otpp/actors/rate_limit/fixed_window.hpp"
#include "otpp/actors/rate_limit/memory_store.hpp"
#include "otpp/actors/rate_limit/sliding_window.hpp"
#include "otpp/actors/wall_clock.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::rate_limit {

std::string to_string(algorithm x) {
  switch (x) {
    case algorithm::fixed_window: return "fixed_window";
    case algorithm::sliding_window: return "sliding_window";
    case algorithm::token_bucket: return "token_bucket";
    case algorithm::leaky_bucket: return "leaky_bucket";
  }
  return "?";
}

std::string to_string(failure_policy x) {
  return x == failure_policy::fail_open ? "fail_open" : "fail_closed";
}

std::string to_string(limit_errc code) {
  return code == limit_errc::invalid_argument ? "invalid_argument" : "unknown_limit_errc";
}

caf::error make_error(limit_errc code, std::string text) {
  return supervision::make_categorized_error(limit_errc_category, static_cast<uint8_t>(code), std::move(text));
}

namespace {

const bool limit_errors_named = [] {
  supervision::add_error_names(limit_errc_category,
                               [](uint8_t code) { return to_string(static_cast<limit_errc>(code)); });
  return true;
}();

bool windowed(algorithm x) {
  return x == algorithm::fixed_window || x == algorithm::sliding_window;
}

[[gnu::cold]] caf::error negative_cost(int64_t cost) {
  return make_error(limit_errc::invalid_argument, "cost must be >= 0, got " + std::to_string(cost));
}

// The clock a limiter was given.
struct injected_clock {
  limiter::clock fn;
  millis operator()() const { return fn(); }
};

// `system_clock_ms`, inlined: one TSC read and a compare per hit.
struct system_clock {
  explicit system_clock(const limiter::clock&) {}
  millis operator()() const { return wall_clock_ms(); }
};

bool is_system_clock(const limiter::clock& now) {
  auto* fn = now.target<millis (*)()>();
  return fn != nullptr && *fn == &system_clock_ms;
}

// The algorithm object of `c` (valid).
template <class Algorithm>
Algorithm algorithm_of(const limiter_config& c) {
  auto limit = static_cast<uint64_t>(c.limit);
  auto capacity = static_cast<uint64_t>(c.capacity);
  if constexpr (std::is_same_v<Algorithm, fixed_window> || std::is_same_v<Algorithm, sliding_window>)
    return Algorithm{c.scale_ms, limit};
  else
    return Algorithm{capacity, c.rate_per_s};
}

// Adapts one algorithm and its in-memory store to the limiter interface.
template <class Algorithm, class Clock>
class memory_limiter final : public limiter {
public:
  memory_limiter(limiter_config config, Algorithm algorithm, clock now)
    : limiter(std::move(config)), store_(std::move(algorithm)), now_{std::move(now)} {}

  caf::expected<decision> hit(const std::string& key, int64_t cost) override {
    if (cost < 0)
      return negative_cost(cost);
    return store_.hit(key, now_(), static_cast<uint64_t>(cost));
  }

  caf::expected<double> get(const std::string& key) override {
    auto now = now_();
    return store_.peek(key, [&](const Algorithm& a, typename Algorithm::state* s) {
      typename Algorithm::state fresh;
      return static_cast<double>(a.get(s ? *s : fresh, now));
    });
  }

  caf::error set(const std::string& key, uint64_t value) override {
    auto now = now_();
    store_.update(key, [&](const Algorithm& a, typename Algorithm::state& s) { a.set(s, now, value); });
    return {};
  }

  caf::expected<double> inc(const std::string& key, uint64_t by) override {
    auto now = now_();
    return store_.update(key, [&](const Algorithm& a, typename Algorithm::state& s) {
      return static_cast<double>(a.inc(s, now, by));
    });
  }

  caf::expected<double> refund(const std::string& key, uint64_t cost) override {
    auto now = now_();
    return store_.update(key, [&](const Algorithm& a, typename Algorithm::state& s) {
      return static_cast<double>(a.refund(s, now, cost));
    });
  }

  caf::expected<millis> expires_at(const std::string& key) override {
    auto now = now_();
    return store_.peek(key, [&](const Algorithm& a, typename Algorithm::state* s) {
      return s ? std::max({a.expires_at(*s), now, s->latest_seen}) : now; // never in the past
    });
  }

  caf::error reset(const std::string& key) override {
    store_.reset(key);
    return {};
  }

  std::size_t sweep() override { return store_.sweep(now_()); }

  caf::expected<std::size_t> size() override { return store_.size(); }

  uint64_t allowed_hits() const override { return store_.allowed_hits(); }

  uint64_t denied_hits() const override { return store_.denied_hits(); }

protected:
  caf::error apply(const limiter_config& next) override {
    store_.reconfigure(algorithm_of<Algorithm>(next));
    return {};
  }

private:
  memory_store<Algorithm> store_;
  Clock now_;
};

template <class Algorithm>
std::shared_ptr<limiter> memory_limiter_of(const limiter_config& c, limiter::clock now) {
  auto algorithm = algorithm_of<Algorithm>(c);
  if (is_system_clock(now))
    return std::make_shared<memory_limiter<Algorithm, system_clock>>(c, std::move(algorithm), std::move(now));
  return std::make_shared<memory_limiter<Algorithm, injected_clock>>(c, std::move(algorithm), std::move(now));
}

} // namespace

caf::error validate(const limiter_config& c) {
  auto invalid = [&](const std::string& what) {
    return make_error(limit_errc::invalid_argument, "limiter '" + c.name + "': " + what);
  };
  if (c.name.empty())
    return invalid("name must not be empty");
  if (windowed(c.algorithm)) {
    if (c.scale_ms <= 0)
      return invalid("scale_ms must be > 0, got " + std::to_string(c.scale_ms));
    if (c.limit < 0)
      return invalid("limit must be >= 0, got " + std::to_string(c.limit));
  } else {
    if (c.capacity < 0)
      return invalid("capacity must be >= 0, got " + std::to_string(c.capacity));
    if (!(c.rate_per_s >= 0) || c.rate_per_s > 1e12)
      return invalid(std::string{c.algorithm == algorithm::token_bucket ? "refill_per_s" : "leak_per_s"}
                     + " must be in [0, 1e12], got " + std::to_string(c.rate_per_s));
  }
  return {};
}

millis system_clock_ms() {
  return wall_clock_ms();
}

caf::expected<std::shared_ptr<limiter>> limiter::in_memory(limiter_config c, clock now) {
  if (auto err = validate(c))
    return err;
  switch (c.algorithm) {
    case algorithm::fixed_window: return memory_limiter_of<fixed_window>(c, std::move(now));
    case algorithm::sliding_window: return memory_limiter_of<sliding_window>(c, std::move(now));
    case algorithm::token_bucket: return memory_limiter_of<token_bucket>(c, std::move(now));
    case algorithm::leaky_bucket: return memory_limiter_of<leaky_bucket>(c, std::move(now));
  }
  return make_error(limit_errc::invalid_argument, "unknown algorithm");
}

caf::error limiter::reconfigure(const limiter_config& next) {
  auto refused = [&](const std::string& what) {
    return supervision::make_error(supervision::errc::not_allowed,
                                   "limiter '" + config_.name + "': " + what
                                     + " cannot change in a running limiter (restart it: its keys start over)");
  };
  if (next.name != config_.name)
    return refused("the name ('" + next.name + "')");
  if (next.algorithm != config_.algorithm)
    return refused("the algorithm (" + to_string(config_.algorithm) + " -> " + to_string(next.algorithm) + ")");
  if (auto err = validate(next))
    return err;
  std::lock_guard<std::mutex> guard{reconfiguring_};
  if (auto err = apply(next))
    return err;
  config_.scale_ms = next.scale_ms;
  config_.limit = next.limit;
  config_.capacity = next.capacity;
  config_.rate_per_s = next.rate_per_s;
  return {};
}

} // namespace otpp::rate_limit
