#include <doctest/doctest.h>

#include "otpp/supervision/restart_backoff.hpp"

using otpp::supervision::backoff_options;
using otpp::supervision::invalid_field;
using otpp::supervision::restart_backoff;
using namespace std::chrono_literals;

TEST_SUITE("supervision.restart_backoff") {

TEST_CASE("delays grow by the multiplier from min and stop at max") {
  restart_backoff backoff{backoff_options{100ms, 1000ms, 3.0, 0.0, 60000ms}};
  CHECK(backoff.next_delay(0.5) == 100ms);
  CHECK(backoff.next_delay(0.5) == 300ms);
  CHECK(backoff.next_delay(0.5) == 900ms);
  CHECK(backoff.next_delay(0.5) == 1000ms);
  CHECK(backoff.next_delay(0.5) == 1000ms);
  CHECK(backoff.attempts() == 5);
}

TEST_CASE("jitter scales the delay within plus or minus the fraction") {
  backoff_options options{1000ms, 10000ms, 1.0, 0.2, 60000ms};
  CHECK(restart_backoff{options}.next_delay(0.0) == 800ms);
  CHECK(restart_backoff{options}.next_delay(0.5) == 1000ms);
  CHECK(restart_backoff{options}.next_delay(0.9999) == 1200ms);
}

TEST_CASE("jitter never pushes the delay past max") {
  restart_backoff backoff{backoff_options{1000ms, 1000ms, 1.0, 0.5, 60000ms}};
  CHECK(backoff.next_delay(0.9999) == 1000ms);
}

TEST_CASE("a child that stayed up for reset_after starts the sequence over") {
  restart_backoff backoff{backoff_options{100ms, 10000ms, 2.0, 0.0, 5000ms}};
  backoff.next_delay(0.5);
  backoff.next_delay(0.5);
  backoff.child_stopped(4999ms);
  CHECK(backoff.next_delay(0.5) == 400ms);
  backoff.child_stopped(5000ms);
  CHECK(backoff.next_delay(0.5) == 100ms);
}

TEST_CASE("invalid backoff options are named with their value") {
  CHECK(invalid_field(backoff_options{}).empty());
  CHECK(invalid_field(backoff_options{0ms, 10ms, 2.0, 0.0, 0ms}).find("backoff.min") != std::string::npos);
  CHECK(invalid_field(backoff_options{10ms, 5ms, 2.0, 0.0, 0ms}).find("backoff.max") != std::string::npos);
  CHECK(invalid_field(backoff_options{10ms, 50ms, 0.5, 0.0, 0ms}).find("multiplier") != std::string::npos);
  CHECK(invalid_field(backoff_options{10ms, 50ms, 2.0, 1.5, 0ms}).find("jitter") != std::string::npos);
}

}
