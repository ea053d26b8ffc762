#include <doctest/doctest.h>

#include "otpp/supervision/errors.hpp"
#include "tests/actors/supervision/helpers.hpp"

using namespace otpp::supervision;
using namespace otpp::test;

TEST_SUITE("supervision.supervisor.start") {

TEST_CASE("children start in list order and stop in reverse order") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a", "b", "c"}));
  CHECK(log->events() == std::vector<std::string>{"start:a", "start:b", "start:c"});
  log->clear();
  fx.watch(sup);
  fx.stop(sup);
  CHECK(log->events()
        == std::vector<std::string>{"stop:c:shutdown", "stop:b:shutdown", "stop:a:shutdown"});
  auto reason = fx.exit_reason();
  REQUIRE(reason);
  CHECK(describe(*reason) == "shutdown");
}

TEST_CASE("a child that fails to start stops the start with an error naming it and started ones stop") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto config = workers(log, flags_of(strategy::one_for_one), {"a"});
  child_spec failing;
  failing.id = "b";
  failing.start = start_failing(log, "b", 1);
  config.children.push_back(failing);
  config.children.push_back(worker_spec(log, "c"));
  auto sup = start_supervisor(fx.sys, config);
  REQUIRE_FALSE(sup);
  CHECK(is(sup.error(), errc::start_failed));
  CHECK(describe(sup.error()) == "start_failed: child 'b': start_failed: scripted failure b");
  fx.run();
  CHECK(log->events() == std::vector<std::string>{"start_failed:b", "start:a", "stop:a:shutdown"});
}

TEST_CASE("a start failure two levels down names every supervisor on the way") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config inner;
  child_spec failing;
  failing.id = "db";
  failing.start = start_failing(log, "db", 1);
  inner.children.push_back(failing);
  supervisor_config root;
  root.name = "root";
  root.children.push_back(worker_spec(log, "web"));
  root.children.push_back(supervisor_child("storage", inner));
  auto sup = start_supervisor(fx.sys, root);
  REQUIRE_FALSE(sup);
  CHECK(describe(sup.error())
        == "start_failed: child 'storage': start_failed: child 'db': start_failed: scripted failure db");
  fx.run();
  CHECK(log->count("stop:web:shutdown") == 1);
}

TEST_CASE("invalid flags or specs are rejected before anything starts") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto config = workers(log, flags_of(strategy::one_for_one), {"a", "a"});
  auto sup = start_supervisor(fx.sys, config);
  REQUIRE_FALSE(sup);
  CHECK(is(sup.error(), errc::duplicate_child));
  config = workers(log, flags_of(strategy::one_for_one, -2), {"a"});
  sup = start_supervisor(fx.sys, config);
  REQUIRE_FALSE(sup);
  CHECK(describe(sup.error()) == "invalid_flags: intensity must be >= 0, got -2");
  fx.run();
  CHECK(log->events().empty());
}

TEST_CASE("a start function that throws is a start error carrying the exception text") {
  deterministic fx;
  supervisor_config config;
  child_spec spec;
  spec.id = "thrower";
  spec.start = [](start_context&) -> caf::expected<caf::actor> {
    throw std::runtime_error("cannot open socket");
  };
  config.children.push_back(spec);
  auto sup = start_supervisor(fx.sys, config);
  REQUIRE_FALSE(sup);
  CHECK(describe(sup.error()) == "start_failed: child 'thrower': exception: cannot open socket");
  fx.run();
}

}
