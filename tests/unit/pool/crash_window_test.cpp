#include <doctest/doctest.h>

#include "otpp/actors/pool/crash_window.hpp"

using namespace otpp::pool;
using namespace std::chrono_literals;

namespace {

crash_window::time_point at(std::chrono::milliseconds t) {
  return crash_window::time_point{} + 1h + t; // any origin
}

} // namespace

TEST_SUITE("pool.crash_window") {

TEST_CASE("events count within the window and are forgotten once it has passed") {
  crash_window w{5000ms};
  CHECK(w.count(at(0ms)) == 0);
  w.add(at(0ms));
  w.add(at(0ms));
  w.add(at(1000ms));
  CHECK(w.count(at(1000ms)) == 3);
  CHECK(w.count(at(4700ms)) == 3); // within one step (250 ms) short of the window: always counted
  CHECK(w.count(at(5250ms)) == 1); // the two at 0 have left
  CHECK(w.count(at(6250ms)) == 0);
}

TEST_CASE("an event counts at most the window long, at least one step short of it") {
  crash_window w{1000ms, 10}; // steps of 100 ms
  w.add(at(1050ms));
  CHECK(w.count(at(1050ms + 899ms)) == 1);
  CHECK(w.count(at(1050ms + 1000ms)) == 0);
}

TEST_CASE("a long burst is counted whole with constant memory, and old steps are reused") {
  crash_window w{5000ms};
  for (int i = 0; i < 100000; ++i)
    w.add(at(std::chrono::milliseconds{i / 100})); // 100 per ms for 1 s
  CHECK(w.count(at(1000ms)) == 100000);
  w.add(at(60000ms)); // a minute later: the same slots, new steps
  CHECK(w.count(at(60000ms)) == 1);
}

}
