#pragma once

#include <pthread.h>

#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace otpp::supervision {

/// Names (any string) to live actors, one table per actor system. Unlike
/// CAF 0.17's registry, an entry disappears when its actor terminates, and a
/// lookup never returns a terminated actor. Thread-safe; lookups take a
/// shared lock only.
class registry {
public:
  /// The table of `sys`.
  static registry& of(caf::actor_system& sys);

  /// Registers `who` under `name`. Fails (returns false) if another live
  /// actor holds the name. The entry is erased when `who` terminates.
  bool put(const std::string& name, const caf::actor& who);

  /// The live actor registered under `name`, or an invalid handle.
  caf::actor whereis(const std::string& name) const;

  /// Erases `name` if it still maps to `who`.
  void erase(const std::string& name, const caf::actor_addr& who);

  /// All registered names, sorted.
  std::vector<std::string> names() const;

  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

private:
  /// A reader-writer lock that lets a waiting writer in before new readers:
  /// callers that look names up in a loop cannot starve a supervisor that
  /// registers a restarted child (glibc's default rwlock would).
  class writer_first_lock {
  public:
    writer_first_lock();
    ~writer_first_lock();
    void lock() { pthread_rwlock_wrlock(&lock_); }
    void unlock() { pthread_rwlock_unlock(&lock_); }
    void lock_shared() { pthread_rwlock_rdlock(&lock_); }
    void unlock_shared() { pthread_rwlock_unlock(&lock_); }

  private:
    pthread_rwlock_t lock_;
  };

  mutable writer_first_lock mtx_;
  std::unordered_map<std::string, caf::actor> entries_;
};

/// The live actor registered under `name` in `sys`, or an invalid handle.
caf::actor whereis(caf::actor_system& sys, const std::string& name);

} // namespace otpp::supervision
