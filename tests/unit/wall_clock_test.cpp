#include <doctest/doctest.h>

#include <chrono>

#include "actors/wall_clock.hpp"

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

}
