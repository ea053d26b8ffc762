#pragma once

#include <cstdint>

namespace otpp {

namespace detail {

/// The millisecond the calling thread read last, and the time-stamp counter
/// ticks it spans: [from, to). Empty (always missed) where the TSC is not used.
struct ms_span {
  uint64_t from = 0;
  uint64_t to = 0;
  int64_t ms = 0;
};

inline thread_local ms_span current_ms;

/// `wall_clock_ms` past the calling thread's current millisecond: reads the
/// clock and caches the millisecond `tsc` falls in.
int64_t wall_clock_ms_at(uint64_t tsc);

} // namespace detail

/// Milliseconds since the epoch, as std::chrono::system_clock gives them, for
/// hot paths: read from the CPU's invariant time-stamp counter and re-anchored
/// to the system clock every 50 ms per thread (one TSC read and a compare
/// while the thread stays in the same millisecond, instead of ~30 ns for
/// clock_gettime on a VM). Within a millisecond of the system clock; may
/// step back by that much when re-anchored, and follows a system clock that
/// was set within 50 ms. Where the kernel's clocksource is not the TSC, it
/// is the system clock itself.
[[gnu::always_inline]] inline int64_t wall_clock_ms() {
#if defined(__x86_64__) || defined(__i386__)
  auto t = __builtin_ia32_rdtsc();
  auto& span = detail::current_ms;
  if (t - span.from < span.to - span.from) // from <= t < to, one compare
    return span.ms;
  return detail::wall_clock_ms_at(t);
#else
  return detail::wall_clock_ms_at(0);
#endif
}

/// Nanoseconds of a monotonic clock for measuring durations on hot paths:
/// the time-stamp counter scaled once (about 10 ns a read), or
/// std::chrono::steady_clock where the kernel does not trust the TSC.
int64_t steady_ns();

} // namespace otpp
