#pragma once

// Detail header: installed because public headers include it; not part of
// otpp's API (it may change in any release). Do not include it yourself.

#include <atomic>
#include <chrono>
#include <thread>

namespace otpp {

/// A lock for critical sections of a few dozen nanoseconds: spins about a
/// microsecond, then sleeps 20 us at a time. A holder that lost its core
/// while holding the lock (more threads than cores) gets it back at once, as
/// the waiters sleep instead of yielding to each other (a yielding waiter
/// stays runnable and takes its turn before a holder that used up its time
/// slice: every thread then waits for a whole scheduling round). A
/// futex-based mutex hands over in tens of microseconds.
class spin_lock {
public:
  void lock() {
    if (!try_lock())
      wait();
  }
  bool try_lock() { return !held_.exchange(true, std::memory_order_acquire); }
  void unlock() { held_.store(false, std::memory_order_release); }

private:
  [[gnu::noinline]] void wait() {
    for (int spins = 0; !try_lock();) {
      while (held_.load(std::memory_order_relaxed)) {
        if (spins < 64) {
          ++spins;
          relax();
        } else {
          std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
      }
    }
  }
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  std::atomic<bool> held_{false};
};

} // namespace otpp
