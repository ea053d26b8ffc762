#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "otpp/actors/events/log_sink.hpp"

namespace otpp::test {

/// The lines a log sink wrote, through `writer()`; safe to read while it writes.
class collected_lines {
public:
  /// A writer that appends to these lines.
  events::line_writer writer() {
    return [st = state_](std::string_view line) {
      {
        std::lock_guard<std::mutex> guard{st->mutex};
        st->lines.emplace_back(line);
      }
      st->changed.notify_all();
    };
  }

  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> guard{state_->mutex};
    return state_->lines;
  }

  /// Waits up to `timeout` until some line satisfies `pred`.
  bool wait_for(const std::function<bool(const std::string&)>& pred,
                std::chrono::milliseconds timeout = std::chrono::milliseconds{5000}) const {
    std::unique_lock<std::mutex> lock{state_->mutex};
    return state_->changed.wait_for(lock, timeout, [&] {
      for (auto& line : state_->lines)
        if (pred(line))
          return true;
      return false;
    });
  }

private:
  struct state {
    mutable std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> lines;
  };
  std::shared_ptr<state> state_ = std::make_shared<state>();
};

} // namespace otpp::test
