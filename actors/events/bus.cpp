#include "otpp/actors/events/bus.hpp"

#include "otpp/actors/events/log_sink.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace otpp::events {

namespace {

struct subscriber {
  subscription id;
  std::shared_ptr<const handler> call;
};

using subscriber_list = std::vector<subscriber>;

// Copy on write: emit takes the current list under the lock and calls it
// outside, so that a handler may subscribe or unsubscribe.
std::mutex list_mutex;
std::shared_ptr<const subscriber_list> current = std::make_shared<subscriber_list>(); // guarded by list_mutex
subscription last_id = 0;                                                              // guarded by list_mutex
std::atomic<bool> any{false};

} // namespace

subscription subscribe(handler h) {
  std::lock_guard<std::mutex> guard{list_mutex};
  auto next = std::make_shared<subscriber_list>(*current);
  next->push_back({++last_id, std::make_shared<const handler>(std::move(h))});
  current = std::move(next);
  any.store(true, std::memory_order_release);
  return last_id;
}

bool unsubscribe(subscription id) {
  std::lock_guard<std::mutex> guard{list_mutex};
  auto next = std::make_shared<subscriber_list>();
  for (auto& s : *current)
    if (s.id != id)
      next->push_back(s);
  if (next->size() == current->size())
    return false;
  any.store(!next->empty(), std::memory_order_release);
  current = std::move(next);
  return true;
}

bool has_subscribers() {
  return any.load(std::memory_order_acquire);
}

void emit(event value) {
  detail::ensure_process_log();
  if (!has_subscribers())
    return;
  std::shared_ptr<const subscriber_list> list;
  {
    std::lock_guard<std::mutex> guard{list_mutex};
    list = current;
  }
  record r{std::chrono::system_clock::now(), level_of(value), std::move(value)};
  for (auto& s : *list) {
    try {
      (*s.call)(r);
    } catch (...) { // a handler's failure must not reach the component that emits
    }
  }
}

} // namespace otpp::events
