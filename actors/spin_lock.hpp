#pragma once

// Detail header: installed because public headers include it; not part of
// otpp's API (it may change in any release). Do not include it yourself.

#include <atomic>
#include <thread>

namespace otpp {

/// A lock for critical sections of a few dozen nanoseconds: spins briefly,
/// then yields. With many more threads than cores, a futex-based mutex hands
/// over in tens of microseconds; this one in a few hundred nanoseconds once
/// the holder runs again.
class spin_lock {
public:
  void lock() {
    for (int i = 0; !try_lock(); ++i) {
      while (held_.load(std::memory_order_relaxed)) {
        if (++i < 64)
          relax();
        else
          std::this_thread::yield();
      }
    }
  }
  bool try_lock() { return !held_.exchange(true, std::memory_order_acquire); }
  void unlock() { held_.store(false, std::memory_order_release); }

private:
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  std::atomic<bool> held_{false};
};

} // namespace otpp
