#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace otpp::pool {

/// Counts events (a pool's worker crashes) in a sliding window of time,
/// without clocks or threads: the owner passes `now`. Time is cut into
/// `slots` steps of `window / slots`; an event counts from when it happens
/// until at most `window` later, and at least until one step short of it.
/// Memory is one counter per step, whatever the rate of events.
class crash_window {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit crash_window(std::chrono::milliseconds window, std::size_t slots = 20)
    : step_(std::max<int64_t>(1, std::chrono::nanoseconds{window}.count() / static_cast<int64_t>(slots))),
      slots_(slots, slot{-1, 0}) {}

  /// One event at `now` (times never go back).
  void add(time_point now) {
    auto i = index_of(now);
    auto& s = slots_[static_cast<std::size_t>(i) % slots_.size()];
    if (s.index != i)
      s = slot{i, 0};
    ++s.count;
  }

  /// The events of the window that ends at `now`.
  std::size_t count(time_point now) const {
    auto newest = index_of(now);
    auto oldest = newest - static_cast<int64_t>(slots_.size()) + 1;
    std::size_t n = 0;
    for (const auto& s : slots_)
      if (s.index >= oldest && s.index <= newest)
        n += s.count;
    return n;
  }

private:
  struct slot {
    int64_t index; ///< which step it counts; -1: none yet
    std::size_t count;
  };

  int64_t index_of(time_point t) const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count() / step_;
  }

  int64_t step_; ///< ns
  std::vector<slot> slots_;
};

} // namespace otpp::pool
