#pragma once

#include <chrono>
#include <cstddef>
#include <deque>

namespace otpp::supervision {

/// OTP's restart intensity: a supervisor may restart at most `intensity`
/// children within any `period`; the restart that makes it more gives up.
/// Pure: time is passed in.
class restart_intensity {
public:
  using time_point = std::chrono::steady_clock::time_point;

  restart_intensity(int intensity, std::chrono::milliseconds period);

  /// Records a restart at `now`. Returns false when more than `intensity`
  /// restarts now fall within [now - period, now] (the supervisor must give up).
  bool add_restart(time_point now);

  /// Changes the limits in place: the restarts recorded so far are kept and
  /// judged by the new `intensity` and `period` from the next `add_restart`
  /// (those an earlier, shorter period already dropped do not come back).
  void set_limits(int intensity, std::chrono::milliseconds period);

  /// Restarts recorded in the window that ended at the last `add_restart`.
  std::size_t restarts_in_window() const;

private:
  int intensity_;
  std::chrono::milliseconds period_;
  std::deque<time_point> restarts_; // newest at the back
};

} // namespace otpp::supervision
