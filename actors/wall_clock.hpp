#pragma once

#include <cstdint>

namespace otpp {

/// Milliseconds since the epoch, as std::chrono::system_clock gives them, for
/// hot paths: read from the CPU's invariant time-stamp counter and re-anchored
/// to the system clock every 50 ms per thread (about 10 ns instead of ~30 ns
/// for clock_gettime on a VM). Within a millisecond of the system clock; may
/// step back by that much when re-anchored, and follows a system clock that
/// was set within 50 ms. Where the kernel's clocksource is not the TSC, it
/// is the system clock itself.
int64_t wall_clock_ms();

/// Nanoseconds of a monotonic clock for measuring durations on hot paths:
/// the time-stamp counter scaled once (about 10 ns a read), or
/// std::chrono::steady_clock where the kernel does not trust the TSC.
int64_t steady_ns();

} // namespace otpp
