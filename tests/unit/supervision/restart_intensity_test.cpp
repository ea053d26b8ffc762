#include <doctest/doctest.h>

#include "otpp/supervision/restart_intensity.hpp"

using otpp::supervision::restart_intensity;
using namespace std::chrono_literals;

TEST_SUITE("supervision.restart_intensity") {

TEST_CASE("intensity restarts within the period are allowed and one more is not") {
  restart_intensity window{3, 5000ms};
  restart_intensity::time_point t{};
  CHECK(window.add_restart(t));
  CHECK(window.add_restart(t + 1000ms));
  CHECK(window.add_restart(t + 2000ms));
  CHECK_FALSE(window.add_restart(t + 3000ms));
}

TEST_CASE("intensity 0 means the first restart is already too many") {
  restart_intensity window{0, 5000ms};
  CHECK_FALSE(window.add_restart(restart_intensity::time_point{}));
}

TEST_CASE("restarts older than the period no longer count") {
  restart_intensity window{1, 5000ms};
  restart_intensity::time_point t{};
  CHECK(window.add_restart(t));
  CHECK(window.add_restart(t + 5001ms));
  CHECK(window.restarts_in_window() == 1);
  CHECK(window.add_restart(t + 10002ms));
}

TEST_CASE("a restart exactly one period ago still counts, as in OTP") {
  restart_intensity window{1, 5000ms};
  restart_intensity::time_point t{};
  CHECK(window.add_restart(t));
  CHECK_FALSE(window.add_restart(t + 5000ms));
}

}
