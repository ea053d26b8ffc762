#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <variant>
#include <vector>

#include "otpp/actors/events/bus.hpp"

namespace otpp::test {

/// Keeps every event emitted while it lives. Reading is safe while other
/// threads emit.
class event_capture {
public:
  event_capture();
  ~event_capture();
  event_capture(const event_capture&) = delete;
  event_capture& operator=(const event_capture&) = delete;

  std::vector<events::record> records() const;

  /// The captured events of type T, in the order they were emitted.
  template <class T>
  std::vector<T> of() const {
    std::vector<T> out;
    for (auto& r : records())
      if (auto* x = std::get_if<T>(&r.value))
        out.push_back(*x);
    return out;
  }

  /// Waits up to `timeout` until at least `n` events of type T were captured.
  template <class T>
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::milliseconds{5000}) const {
    std::unique_lock<std::mutex> lock{state_->mutex};
    return state_->changed.wait_for(lock, timeout, [&] {
      std::size_t seen = 0;
      for (auto& r : state_->records)
        seen += std::holds_alternative<T>(r.value) ? 1 : 0;
      return seen >= n;
    });
  }

  struct state {
    mutable std::mutex mutex;
    std::condition_variable changed;
    std::vector<events::record> records;
  };

private:
  std::shared_ptr<state> state_;
  events::subscription id_;
};

} // namespace otpp::test
