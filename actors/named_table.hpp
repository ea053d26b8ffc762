#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
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
    generation().fetch_add(1, std::memory_order_release);
  }

  /// Puts `object` under `name` and erases it when `owner` ends (at once if
  /// it already has), so that the name never outlives its owner.
  void put_while(caf::actor_system& sys, const std::string& name, const std::shared_ptr<T>& object,
                 const caf::actor& owner) {
    put(sys, name, object);
    caf::actor_cast<caf::abstract_actor*>(owner)->attach_functor(
      [this, sys = &sys, name, raw = object.get()] { erase(*sys, name, raw); });
  }

  /// Erases `name` if it still maps to `object` (or to nothing alive): a
  /// successor that already took the name keeps it.
  void erase(caf::actor_system& sys, const std::string& name, const T* object) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = entries_.find({&sys, name});
    if (i == entries_.end())
      return;
    auto current = i->second.lock();
    if (!current || current.get() == object) {
      entries_.erase(i);
      generation().fetch_add(1, std::memory_order_release);
    }
  }

  /// The live object named `name`, or null.
  std::shared_ptr<T> find(caf::actor_system& sys, const std::string& name) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = entries_.find({&sys, name});
    return i == entries_.end() ? nullptr : i->second.lock();
  }

  /// As `find`, for hot paths: each thread remembers its answers (weakly)
  /// until any table changes, so a lookup takes no lock.
  std::shared_ptr<T> find_fast(caf::actor_system& sys, const std::string& name) {
    struct remembered {
      uint64_t generation = 0;
      std::weak_ptr<T> object;
    };
    thread_local std::map<std::pair<const named_table*, std::pair<caf::actor_system*, std::string>>, remembered> seen;
    auto now = generation().load(std::memory_order_acquire);
    auto& r = seen[{this, {&sys, name}}];
    if (r.generation == now)
      if (auto object = r.object.lock())
        return object;
    auto object = find(sys, name);
    r.object = object;
    r.generation = now;
    return object;
  }

private:
  /// Changes with every put and erase of any table (one counter for all, so
  /// that a new table at an old one's address is never taken for it).
  static std::atomic<uint64_t>& generation() {
    static std::atomic<uint64_t> counter{1};
    return counter;
  }

  std::mutex mtx_;
  std::map<std::pair<caf::actor_system*, std::string>, std::weak_ptr<T>> entries_;
};

} // namespace otpp
