#include <doctest/doctest.h>

#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/exceptions.hpp"
#include "tests/actors/supervision/helpers.hpp"

using namespace otpp::supervision;
using namespace otpp::test;

namespace {

caf::error error_of(caf::expected<caf::ok_atom> x) {
  return x ? caf::error{} : x.error();
}

} // namespace

TEST_SUITE("supervision.supervisor.api") {

TEST_CASE("start_child adds a running child at the end, and a used id is already_started or already_present") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a"}));
  auto added = fx.ask<caf::actor>(sup, start_child_atom::value, worker_spec(log, "b"));
  REQUIRE(added);
  auto rows = children_of(fx, sup);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].id == "b");
  CHECK(rows[1].handle == *added);
  CHECK(rows[1].state == child_state::running);
  auto again = fx.ask<caf::actor>(sup, start_child_atom::value, worker_spec(log, "b"));
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), errc::already_started));
  CHECK_FALSE(error_of(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, std::string{"b"})));
  again = fx.ask<caf::actor>(sup, start_child_atom::value, worker_spec(log, "b"));
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), errc::already_present));
  fx.stop(sup);
}

TEST_CASE("start_child rejects an invalid spec and forgets a spec whose start fails") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a"}));
  child_spec bad;
  bad.id = "bad";
  auto invalid = fx.ask<caf::actor>(sup, start_child_atom::value, bad);
  REQUIRE_FALSE(invalid);
  CHECK(describe(invalid.error()) == "invalid_spec: child 'bad': start function is missing");
  child_spec failing;
  failing.id = "failing";
  failing.start = start_failing(log, "failing", 1);
  auto failed = fx.ask<caf::actor>(sup, start_child_atom::value, failing);
  REQUIRE_FALSE(failed);
  CHECK(is(failed.error(), errc::start_failed));
  CHECK(children_of(fx, sup).size() == 1);
  fx.stop(sup);
}

TEST_CASE("terminate_child stops a child and keeps its spec, and restart_child and delete_child need it terminated") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a", "b"}));
  std::string b = "b";
  auto running = fx.ask<caf::actor>(sup, restart_child_atom::value, b);
  REQUIRE_FALSE(running);
  CHECK(is(running.error(), errc::running));
  CHECK(is(error_of(fx.ask<caf::ok_atom>(sup, delete_child_atom::value, b)), errc::running));
  CHECK_FALSE(error_of(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, b)));
  CHECK(log->count("stop:b:shutdown") == 1);
  auto row = child_of(fx, sup, "b");
  CHECK(row.state == child_state::terminated);
  CHECK_FALSE(row.handle);
  auto restarted = fx.ask<caf::actor>(sup, restart_child_atom::value, b);
  REQUIRE(restarted);
  CHECK(child_of(fx, sup, "b").handle == *restarted);
  CHECK(log->count("start:b") == 2);
  CHECK_FALSE(error_of(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, b)));
  CHECK_FALSE(error_of(fx.ask<caf::ok_atom>(sup, delete_child_atom::value, b)));
  CHECK(children_of(fx, sup).size() == 1);
  fx.stop(sup);
}

TEST_CASE("unknown ids are not_found") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a"}));
  std::string ghost = "ghost";
  CHECK(is(error_of(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, ghost)), errc::not_found));
  CHECK(is(error_of(fx.ask<caf::ok_atom>(sup, delete_child_atom::value, ghost)), errc::not_found));
  auto restarted = fx.ask<caf::actor>(sup, restart_child_atom::value, ghost);
  REQUIRE_FALSE(restarted);
  CHECK(describe(restarted.error()) == "not_found: child 'ghost'");
  fx.stop(sup);
}

TEST_CASE("terminating a temporary child removes its spec") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.children = {worker_spec(log, "tmp", restart_type::temporary)};
  auto sup = start(fx, config);
  CHECK_FALSE(error_of(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, std::string{"tmp"})));
  CHECK(children_of(fx, sup).empty());
  fx.stop(sup);
}

TEST_CASE("count_children counts specs, running children, supervisors and workers") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto config = workers(log, flags_of(strategy::one_for_one), {"a", "b"});
  config.children.push_back(supervisor_child("nested", workers(log, flags_of(strategy::one_for_one), {"x"})));
  auto sup = start(fx, config);
  CHECK_FALSE(error_of(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, std::string{"a"})));
  auto counts = fx.ask<child_counts>(sup, count_children_atom::value);
  REQUIRE(counts);
  CHECK(counts->specs == 3);
  CHECK(counts->active == 2);
  CHECK(counts->supervisors == 1);
  CHECK(counts->workers == 2);
  auto rows = children_of(fx, sup);
  CHECK(rows[2].type == child_type::supervisor);
  fx.stop(sup);
  CHECK(log->count("stop:x:shutdown") == 1);
}

TEST_CASE("simple_one_for_one children are addressed by handle and id operations are not allowed") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::simple_one_for_one), {"conn"}));
  auto spec_start = fx.ask<caf::actor>(sup, start_child_atom::value, worker_spec(log, "other"));
  REQUIRE_FALSE(spec_start);
  CHECK(is(spec_start.error(), errc::not_allowed));
  auto restarted = fx.ask<caf::actor>(sup, restart_child_atom::value, std::string{"conn"});
  REQUIRE_FALSE(restarted);
  CHECK(is(restarted.error(), errc::not_allowed));
  auto child = fx.ask<caf::actor>(sup, start_child_atom::value, caf::make_message(std::string{"x"}));
  REQUIRE(child);
  CHECK_FALSE(error_of(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, *child)));
  CHECK(log->count("stop:conn:(\"x\"):shutdown") == 1);
  CHECK(children_of(fx, sup).empty());
  CHECK(is(error_of(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, *child)), errc::not_found));
  fx.stop(sup);
}

TEST_CASE("a one_for_one supervisor refuses start_child with extra arguments") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a"}));
  auto child = fx.ask<caf::actor>(sup, start_child_atom::value, caf::make_message(1));
  REQUIRE_FALSE(child);
  CHECK(is(child.error(), errc::not_allowed));
  fx.stop(sup);
}

}

TEST_SUITE("supervision.supervisor.api") {

TEST_CASE("an actor uses the API with asynchronous requests") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a", "b"}));
  auto seen = std::make_shared<child_counts>();
  auto client = spawn_keeping_exceptions(fx.sys, [sup, seen](caf::event_based_actor* self) -> caf::behavior {
    self->request(sup, std::chrono::seconds(1), terminate_child_atom::value, std::string{"a"})
      .then([self, sup, seen](caf::ok_atom) {
        self->request(sup, std::chrono::seconds(1), count_children_atom::value)
          .then([self, seen](child_counts counts) {
            *seen = counts;
            self->quit();
          });
      });
    return {[](int) {}};
  });
  fx.run();
  CHECK(seen->specs == 2);
  CHECK(seen->active == 1);
  fx.stop(sup);
}

}
