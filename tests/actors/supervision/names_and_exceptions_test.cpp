#include <doctest/doctest.h>

#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/exceptions.hpp"
#include "otpp/supervision/registry.hpp"
#include "tests/actors/supervision/helpers.hpp"
#include "tests/support/event_capture.hpp"

using namespace otpp::supervision;
using namespace otpp::test;

TEST_SUITE("supervision.names") {

TEST_CASE("a registered name resolves to the current incarnation after a restart") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  auto spec = worker_spec(log, "db");
  spec.name = "database.connection.primary"; // longer than CAF's 10-character atoms
  config.children = {spec};
  auto sup = start(fx, config);
  auto first = whereis(fx.sys, "database.connection.primary");
  REQUIRE(first);
  CHECK(first == child_of(fx, sup, "db").handle);
  CHECK(registry::of(fx.sys).names() == std::vector<std::string>{"database.connection.primary"});
  crash(fx, sup, "db");
  auto second = whereis(fx.sys, "database.connection.primary");
  REQUIRE(second);
  CHECK(second != first);
  CHECK(second == child_of(fx, sup, "db").handle);
  fx.stop(sup);
  CHECK_FALSE(whereis(fx.sys, "database.connection.primary"));
  CHECK(registry::of(fx.sys).names().empty());
}

TEST_CASE("a name never resolves to a dead actor, even before its supervisor hears of the death") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  auto spec = worker_spec(log, "job", restart_type::transient);
  spec.name = "the-job";
  config.children = {spec};
  auto sup = start(fx, config);
  auto job = whereis(fx.sys, "the-job");
  REQUIRE(job);
  caf::anon_send(job, finish_atom::value);
  fx.step(); // only the job runs: it ends; its supervisor has not processed the exit yet
  CHECK_FALSE(whereis(fx.sys, "the-job"));
  fx.run();
  CHECK_FALSE(whereis(fx.sys, "the-job"));
  fx.stop(sup);
}

TEST_CASE("a name held by another live actor makes the start fail with name_taken") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto squatter = fx.sys.spawn(scripted_worker, log, std::string{"squatter"}, worker_script{});
  REQUIRE(registry::of(fx.sys).put("shared-name", squatter));
  supervisor_config config;
  auto spec = worker_spec(log, "w");
  spec.name = "shared-name";
  config.children = {spec};
  auto sup = start_supervisor(fx.sys, config);
  REQUIRE_FALSE(sup);
  CHECK(describe(sup.error())
        == "start_failed: child 'w': name_taken: name 'shared-name' belongs to another live actor");
  fx.run();
  CHECK(whereis(fx.sys, "shared-name") == squatter);
  fx.stop(squatter);
}

}

TEST_SUITE("supervision.exceptions") {

TEST_CASE("an exception kills the child with its text, seen by the requester and in the child_terminated event") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  event_capture capture;
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"parser"}));
  auto reply = fx.ask<std::string>(child_of(fx, sup, "parser").handle, crash_atom::value);
  REQUIRE_FALSE(reply);
  CHECK(describe(reply.error()) == "exception: boom parser");
  CHECK(log->count("stop:parser:exception: boom parser") == 1);
  auto reports = capture.of<otpp::events::child_terminated>();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].child == "parser");
  CHECK(reports[0].reason == "exception: boom parser");
  CHECK(fx.sys.render(reply.error()) == "exception: boom parser");
  fx.stop(sup);
}

TEST_CASE("an exception in an actor's initialisation ends it with the text") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto actor = spawn_keeping_exceptions(fx.sys, scripted_worker, log, std::string{"init"},
                                        worker_script{false, true});
  fx.run();
  CHECK(log->count("stop:init:exception: init failed init") == 1);
}

}
