#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/rate_limit/decision.hpp"

namespace otpp::rate_limit {

/// Hammer's four algorithms.
enum class algorithm { fixed_window, sliding_window, token_bucket, leaky_bucket };

std::string to_string(algorithm x);

/// One named limiter: its algorithm and parameters.
struct limiter_config {
  std::string name;
  rate_limit::algorithm algorithm = algorithm::fixed_window;
  millis scale_ms = 1000; ///< windows: > 0
  int64_t limit = 0;      ///< windows: >= 0
  int64_t capacity = 0;   ///< buckets: >= 0
  double rate_per_s = 0;  ///< buckets: refill (token) or leak (leaky) per second, >= 0
};

/// Rate-limit errors (category `limit_errc_category`), rendered by name.
enum class limit_errc : uint8_t {
  invalid_argument = 1, ///< a parameter or a cost out of range
};

constexpr caf::atom_value limit_errc_category = caf::atom("otpp_rl");

std::string to_string(limit_errc code);
caf::error make_error(limit_errc code, std::string text = {});

/// An `invalid_argument` error naming the limiter, field and value, or none.
caf::error validate(const limiter_config& config);

/// Milliseconds since the epoch from the system clock.
millis system_clock_ms();

/// A limiter's keys, checked and updated by any thread without a mailbox.
/// Limiters never share state; distinct keys (any bytes, empty, very long)
/// never collide.
class limiter {
public:
  using clock = std::function<millis()>;

  /// A limiter with an in-memory store; `now` is the injectable clock.
  static caf::expected<std::shared_ptr<limiter>> in_memory(limiter_config config, clock now = system_clock_ms);

  virtual ~limiter() = default;

  /// allow(count) or deny(retry_after_ms); a cost below 0 is `invalid_argument` and changes nothing.
  virtual caf::expected<decision> hit(const std::string& key, int64_t cost = 1) = 0;

  /// Token bucket: tokens (a full bucket for an unknown key); others: the
  /// current count, weight or level (0 when unknown).
  virtual double get(const std::string& key) = 0;

  /// Sets the count, weight, tokens or level of `key`.
  virtual void set(const std::string& key, uint64_t value) = 0;

  /// Adds to the count, weight, tokens or level without a decision; returns the new value.
  virtual double inc(const std::string& key, uint64_t by) = 0;

  /// When `key` stops mattering: its window ends, its hits expire, its bucket is full or drained.
  virtual millis expires_at(const std::string& key) = 0;

  /// Forgets `key`.
  virtual void reset(const std::string& key) = 0;

  /// Drops every key that no longer changes a decision; returns how many.
  virtual std::size_t sweep() = 0;

  /// Keys held.
  virtual std::size_t size() = 0;

  const limiter_config& config() const { return config_; }

protected:
  explicit limiter(limiter_config config) : config_(std::move(config)) {}

private:
  limiter_config config_;
};

} // namespace otpp::rate_limit
