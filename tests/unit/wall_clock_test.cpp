#include <doctest/doctest.h>

#include <chrono>

#include "otpp/actors/wall_clock.hpp"

TEST_SUITE("wall_clock") {

TEST_CASE("the TSC wall clock stays within a millisecond of the system clock, across re-anchoring") {
  using namespace std::chrono;
  auto system_ms = [] { return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(); };
  auto end = steady_clock::now() + milliseconds(120); // spans two re-anchorings (every 50 ms)
  long checks = 0;
  while (steady_clock::now() < end) {
    auto before = system_ms();
    auto fast = otpp::wall_clock_ms();
    auto after = system_ms();
    REQUIRE(fast >= before - 1);
    REQUIRE(fast <= after + 1);
    ++checks;
  }
  CHECK(checks > 100);
}

TEST_CASE("the TSC steady clock never goes back and keeps pace with steady_clock") {
  using namespace std::chrono;
  auto start_fast = otpp::steady_ns();
  auto start = steady_clock::now();
  auto last = start_fast;
  while (steady_clock::now() - start < milliseconds(50)) {
    auto now = otpp::steady_ns();
    REQUIRE(now >= last);
    last = now;
  }
  auto real = duration_cast<nanoseconds>(steady_clock::now() - start).count();
  auto fast = otpp::steady_ns() - start_fast;
  CHECK(fast >= real * 99 / 100);
  CHECK(fast <= real * 101 / 100 + 100'000);
}

}
