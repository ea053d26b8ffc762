#include <doctest/doctest.h>

#include "otpp/supervision/errors.hpp"
#include "tests/actors/supervision/helpers.hpp"

using namespace otpp::supervision;
using namespace otpp::test;

TEST_SUITE("supervision.supervisor.already_started") {

TEST_CASE("start_child with the id of a running child is already_started carrying that child's handle") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a"}));
  auto running = child_of(fx, sup, "a").handle;
  REQUIRE(running);
  auto again = fx.ask<caf::actor>(sup, start_child_atom::value, worker_spec(log, "a"));
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), errc::already_started));
  CHECK(already_started_child(again.error()) == running);
  CHECK(describe(again.error()) == "already_started: child 'a'");
  fx.stop(sup);
}

TEST_CASE("already_started_child is an invalid handle for any other error") {
  CHECK_FALSE(already_started_child(caf::error{}));
  CHECK_FALSE(already_started_child(make_error(errc::already_present, "child 'a'")));
  CHECK_FALSE(already_started_child(make_error(errc::already_started, "child 'a'")));
}

}
