#pragma once

#include <chrono>
#include <string>

namespace otpp::supervision {

/// Per-child restart backoff, beyond OTP (off unless a child spec sets it).
struct backoff_options {
  std::chrono::milliseconds min{100};         ///< delay before the first restart
  std::chrono::milliseconds max{30000};       ///< the delay never grows past this
  double multiplier = 2.0;                    ///< growth per consecutive restart, >= 1
  double jitter = 0.0;                        ///< +- fraction of the delay, in [0, 1]
  std::chrono::milliseconds reset_after{60000}; ///< an up-time this long resets the delay to min
};

/// Why `options` is invalid (the field and its value), or empty when valid.
std::string invalid_field(const backoff_options& options);

/// The delay sequence of one child: min, min*m, min*m^2, ... capped at max,
/// each scaled by a jitter factor; starts over once the child stayed up long
/// enough. Pure: randomness and time are passed in.
class restart_backoff {
public:
  explicit restart_backoff(backoff_options options);

  /// Call when the child stopped after running for `up_for`: a long enough
  /// run starts the sequence over.
  void child_stopped(std::chrono::milliseconds up_for);

  /// The delay before the next restart attempt; `unit_random` in [0, 1)
  /// picks the jitter (0.5 means none). Advances the sequence.
  std::chrono::milliseconds next_delay(double unit_random);

  /// Restart attempts since the sequence last started over.
  unsigned attempts() const { return attempts_; }

private:
  backoff_options options_;
  unsigned attempts_ = 0;
};

} // namespace otpp::supervision
