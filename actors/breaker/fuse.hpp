#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "otpp/actors/spin_lock.hpp"

namespace otpp::breaker {

/// Erlang fuse's `{{standard, MaxR, MaxT}, {reset, Reset}}`.
struct fuse_config {
  std::string name;
  uint32_t max_melts = 10;                     ///< MaxR: tolerated melts within `within`
  std::chrono::milliseconds within{10000};     ///< MaxT, >= 1 ms
  std::chrono::milliseconds heal_after{60000}; ///< Reset, >= 1 ms
};

/// An `invalid_argument` error (breaker_errc) naming the fuse, field and value, or none.
caf::error validate(const fuse_config& config);

/// The count mode, as Erlang's fuse: it blows when more than `max_melts`
/// melts happen within `within`, and heals `heal_after` later (melts while
/// blown do not extend it); no half-open. Thread-safe, without a mailbox.
class fuse {
public:
  using clock = std::function<int64_t()>; ///< monotonic milliseconds

  static caf::expected<std::shared_ptr<fuse>> make(fuse_config config, clock now);

  /// True when calls may go (fuse:ask/2 answering ok).
  bool ask();
  /// Records one failure.
  void melt();
  /// Heals now and forgets the melts.
  void reset();
  /// Blows it until `enable` (fuse:circuit_disable/1).
  void disable();
  /// Ends `disable`, healed and without melts (fuse:circuit_enable/1).
  void enable();

  const fuse_config& config() const { return config_; }

  fuse(fuse_config config, clock now) : config_(std::move(config)), now_(std::move(now)) {}

private:
  void heal_if_due(int64_t now);

  fuse_config config_;
  clock now_;
  spin_lock lock_;
  std::deque<int64_t> melts_; ///< times of the recent melts, oldest first
  bool blown_ = false;
  int64_t heals_at_ = 0;
  bool disabled_ = false;
};

} // namespace otpp::breaker
