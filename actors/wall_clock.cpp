#include "otpp/actors/wall_clock.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define OTPP_HAVE_TSC 1
#else
#define OTPP_HAVE_TSC 0
#endif

namespace otpp {

namespace {

int64_t system_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t floor_ms(int64_t ns) {
  return ns >= 0 ? ns / 1'000'000 : -((-ns + 999'999) / 1'000'000);
}

#if OTPP_HAVE_TSC

// Nanoseconds per TSC tick, measured once over 1 ms; 0 when the kernel does
// not trust the TSC (then neither do we).
double ns_per_tick() {
  static const double rate = [] {
    std::ifstream source_file{"/sys/devices/system/clocksource/clocksource0/current_clocksource"};
    std::string source;
    source_file >> source;
    if (source != "tsc")
      return 0.0;
    auto t0 = __rdtsc();
    auto n0 = system_ns();
    int64_t n1;
    while ((n1 = system_ns()) - n0 < 1'000'000) {
    }
    auto t1 = __rdtsc();
    return t1 > t0 ? static_cast<double>(n1 - n0) / static_cast<double>(t1 - t0) : 0.0;
  }();
  return rate;
}

struct anchor {
  uint64_t tsc = 0;
  int64_t ns = 0;
  uint64_t until = 0; ///< re-anchor from this tick on
};

thread_local anchor here;

#endif

int64_t steady_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

} // namespace

int64_t steady_ns() {
#if OTPP_HAVE_TSC
  if (auto rate = ns_per_tick(); rate > 0) {
    static const uint64_t base_tsc = __rdtsc();
    static const int64_t base_ns = steady_clock_ns();
    auto t = __rdtsc();
    return t <= base_tsc ? base_ns : base_ns + static_cast<int64_t>(static_cast<double>(t - base_tsc) * rate);
  }
#endif
  return steady_clock_ns();
}

namespace detail {

int64_t wall_clock_ms_at([[maybe_unused]] uint64_t t) {
#if OTPP_HAVE_TSC
  auto rate = ns_per_tick();
  if (rate > 0) {
    if (t >= here.until || t < here.tsc) {
      // The system clock between two TSC reads a few microseconds apart at
      // most: a thread that lost its core in between would set the clock
      // ahead by as long as it waited.
      uint64_t before, after;
      int64_t ns;
      int tries = 0;
      do {
        before = __rdtsc();
        ns = system_ns();
        after = __rdtsc();
      } while (static_cast<double>(after - before) * rate > 20'000 && ++tries < 10);
      t = before + (after - before) / 2;
      here = {t, ns, t + static_cast<uint64_t>(50'000'000 / rate)};
    }
    auto ns = here.ns + static_cast<int64_t>(static_cast<double>(t - here.tsc) * rate);
    auto ms = floor_ms(ns);
    // The ticks of this millisecond, within this anchor: up to the tick before
    // the next millisecond starts (rounded down: a tick too early is read
    // again here), never past the next re-anchoring.
    auto ticks_left = static_cast<uint64_t>(static_cast<double>((ms + 1) * 1'000'000 - ns) / rate);
    current_ms = {t, std::min(t + ticks_left, here.until), ms};
    return ms;
  }
#endif
  return floor_ms(system_ns());
}

} // namespace detail

} // namespace otpp
