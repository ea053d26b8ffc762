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

TEST_CASE("new limits judge the restarts already recorded from the next restart on") {
  restart_intensity::time_point t{};
  restart_intensity lowered{3, 5000ms};
  CHECK(lowered.add_restart(t));
  CHECK(lowered.add_restart(t + 1000ms));
  lowered.set_limits(2, 5000ms);
  CHECK(lowered.restarts_in_window() == 2);
  CHECK_FALSE(lowered.add_restart(t + 2000ms));
  restart_intensity raised{1, 5000ms};
  CHECK(raised.add_restart(t));
  raised.set_limits(3, 5000ms);
  CHECK(raised.add_restart(t + 1000ms));
  CHECK(raised.add_restart(t + 2000ms));
  CHECK_FALSE(raised.add_restart(t + 3000ms));
}

TEST_CASE("a shorter period set in place lets earlier restarts fall out of the window") {
  restart_intensity window{1, 5000ms};
  restart_intensity::time_point t{};
  CHECK(window.add_restart(t));
  window.set_limits(1, 1000ms);
  CHECK(window.add_restart(t + 1500ms));
  CHECK(window.restarts_in_window() == 1);
}

}
