#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "otpp/actors/rate_limit/decision.hpp"

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

/// How a limiter answers hits while its backend fails or is slower than its timeout.
enum class failure_policy {
  fail_closed, ///< deny, retry after the next attempt to reach the backend (the default)
  fail_open,   ///< allow (count 0)
};

std::string to_string(failure_policy x);

/// A limiter's Redis backend.
struct redis_options {
  std::string url = "redis://127.0.0.1:6379"; ///< redis://[[user]:password@]host[:port][/db]; unused with `sentinels`
  std::vector<std::string> sentinels;         ///< host:port of Redis Sentinels; when given, the master comes from them
  std::string master_name;                    ///< the master the sentinels monitor (required with `sentinels`)
  std::string prefix = "otpp";                ///< namespaces the keys of this application
  std::chrono::milliseconds timeout{200};     ///< bound on one hit, connecting included; > 0
  int connections = 4;                        ///< connections per limiter, each pipelining concurrent hits; >= 1
  failure_policy on_error = failure_policy::fail_closed;
  /// Blocks (docs/redis.md): while a key is hot, one hit takes up to this
  /// many units at once (the cost included) and keeps the rest for this
  /// node's later hits; 0 (the default) sends every hit to Redis. Fixed
  /// window and buckets; the sliding window ignores it. In [0, 2^53).
  int64_t block = 0;
  /// How long a node uses a block before giving its unused part back; the
  /// server keeps it reserved twice as long at most (a node that died). > 0.
  std::chrono::milliseconds block_lease{100};
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

/// Milliseconds since the epoch from the system clock (`wall_clock_ms`).
millis system_clock_ms();

/// A limiter's keys, checked and updated by any thread without a mailbox.
/// Limiters never share state; distinct keys (any bytes, empty, very long)
/// never collide.
class limiter {
public:
  using clock = std::function<millis()>;

  /// A limiter with an in-memory store; `now` is the injectable clock.
  static caf::expected<std::shared_ptr<limiter>> in_memory(limiter_config config, clock now = system_clock_ms);

  /// A limiter whose keys live in Redis (>= 7), shared by every process
  /// that uses the same server, prefix, limiter name and algorithm. Each
  /// operation is one atomic Lua script; time is Redis's `TIME` unless `now`
  /// is given (tests). Counts, limits and capacities are exact up to 2^53.
  /// Concurrent hits share `connections` pipelined connections. Fails with
  /// `invalid_argument` for bad options; never connects here.
  static caf::expected<std::shared_ptr<limiter>> on_redis(limiter_config config, redis_options options,
                                                          clock now = nullptr);

  virtual ~limiter() = default;

  /// allow(count) or deny(retry_after_ms); a cost below 0 is `invalid_argument`
  /// and changes nothing. A backend failure is answered by the failure
  /// policy (`decision::degraded`), never as an error. Every decision is
  /// counted (`allowed_hits`, `denied_hits`).
  virtual caf::expected<decision> hit(const std::string& key, int64_t cost = 1) = 0;

  /// Hits allowed since the limiter was created (degraded ones included).
  virtual uint64_t allowed_hits() const = 0;

  /// Hits denied since the limiter was created (degraded ones included).
  virtual uint64_t denied_hits() const = 0;

  /// Token bucket: tokens (a full bucket for an unknown key); others: the
  /// current count, weight or level (0 when unknown).
  virtual caf::expected<double> get(const std::string& key) = 0;

  /// Sets the count, weight, tokens or level of `key`.
  virtual caf::error set(const std::string& key, uint64_t value) = 0;

  /// Adds to the count, weight, tokens or level without a decision; returns the new value.
  virtual caf::expected<double> inc(const std::string& key, uint64_t by) = 0;

  /// Takes back `cost` of an allowed hit whose call never ran (a later
  /// guard refused it): the fixed window's count while the window lasts, the
  /// sliding window's newest unexpired weight, the token bucket's tokens, the
  /// leaky bucket's level. Returns the new value, as `get`.
  virtual caf::expected<double> refund(const std::string& key, uint64_t cost) = 0;

  /// When `key` stops mattering: its window ends, its hits expire, its bucket
  /// is full or drained; never before now (now: it no longer matters).
  virtual caf::expected<millis> expires_at(const std::string& key) = 0;

  /// Forgets `key`.
  virtual caf::error reset(const std::string& key) = 0;

  /// Drops every key that no longer changes a decision; returns how many.
  /// Redis drops them by itself (every key has a TTL): 0.
  virtual std::size_t sweep() = 0;

  /// Keys held.
  virtual caf::expected<std::size_t> size() = 0;

  /// Hits answered by the failure policy since the limiter was created.
  virtual uint64_t degraded_hits() const { return 0; }

  /// True while the backend fails (hits are answered by the failure policy).
  virtual bool degraded() const { return false; }

  /// Moves this limiter to the limits of `next` from its next hit, keeping
  /// what its keys spent: a fixed window's count in the running window (a
  /// limit lowered below it denies until the window ends, a raised one
  /// allows more in the same window), a sliding window's recorded hits, a
  /// bucket's tokens or level (read as at most a lowered capacity). A
  /// running fixed window keeps the end it began with; later windows and
  /// recorded sliding hits use the new scale. Safe while other threads hit.
  /// Name and algorithm cannot change (`supervision::errc::not_allowed`);
  /// invalid values fail as at creation (`invalid_argument`); on an error
  /// nothing changes. Redis: the next block a hit takes follows `next`
  /// (blocks held are given back), docs/redis.md.
  caf::error reconfigure(const limiter_config& next);

  /// The configuration: name and algorithm are fixed; the limits are those
  /// of creation or of the last `reconfigure` (read them where no
  /// `reconfigure` runs at the same time).
  const limiter_config& config() const { return config_; }

protected:
  explicit limiter(limiter_config config) : config_(std::move(config)) {}

  /// The backend's part of `reconfigure`: checks what the backend bounds
  /// further, then decides with `next` (valid, same name and algorithm).
  virtual caf::error apply(const limiter_config& next) = 0;

private:
  limiter_config config_;
  std::mutex reconfiguring_; ///< one `reconfigure` at a time
};

} // namespace otpp::rate_limit
