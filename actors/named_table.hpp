#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>

namespace otpp {

/// Shared objects by name, one namespace per actor system. Entries are weak:
/// the table never keeps an object alive. Thread-safe. Owner actors put their
/// object when they start and erase it when they end, so that callers reach
/// the current incarnation without a mailbox.
template <class T>
class named_table {
public:
  void put(caf::actor_system& sys, const std::string& name, const std::shared_ptr<T>& object) {
    std::lock_guard<std::mutex> guard{mtx_};
    entries_[{&sys, name}] = object;
  }

  /// Erases `name` if it still maps to `object` (or to nothing alive): a
  /// successor that already took the name keeps it.
  void erase(caf::actor_system& sys, const std::string& name, const T* object) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = entries_.find({&sys, name});
    if (i == entries_.end())
      return;
    auto current = i->second.lock();
    if (!current || current.get() == object)
      entries_.erase(i);
  }

  /// The live object named `name`, or null.
  std::shared_ptr<T> find(caf::actor_system& sys, const std::string& name) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = entries_.find({&sys, name});
    return i == entries_.end() ? nullptr : i->second.lock();
  }

private:
  std::mutex mtx_;
  std::map<std::pair<caf::actor_system*, std::string>, std::weak_ptr<T>> entries_;
};

} // namespace otpp
