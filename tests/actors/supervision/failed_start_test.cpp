#include <doctest/doctest.h>

#include "otpp/supervision/errors.hpp"
#include "tests/actors/supervision/helpers.hpp"

using namespace otpp::supervision;
using namespace otpp::test;
using namespace std::chrono_literals;

namespace {

/// A nested supervisor whose first child starts and ignores shutdown
/// requests for 500 ms, and whose second child fails to start.
child_spec failing_storage(std::shared_ptr<event_log> log) {
  supervisor_config inner;
  inner.children = {stubborn_spec(log, "cache", 500ms), failing_spec(log, "db")};
  return supervisor_child("storage", inner);
}

} // namespace

TEST_SUITE("supervision.supervisor.failed_start") {

TEST_CASE("start_child of a nested supervisor that fails to start answers only once its started children stopped") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a"}));
  auto pending = fx.self->request(sup, caf::infinite, start_child_atom::value, failing_storage(log));
  fx.run();
  CHECK(log->count("ignored_exit:cache:shutdown") == 1);
  CHECK(fx.self->mailbox().empty()); // the cache still runs: no answer yet
  fx.advance(500ms);
  REQUIRE_FALSE(fx.self->mailbox().empty());
  caf::error answer;
  pending.receive([](caf::actor&) { FAIL("the start should fail"); }, [&](caf::error& err) { answer = err; });
  CHECK(describe(answer)
        == "start_failed: child 'storage': start_failed: child 'db': start_failed: scripted failure db");
  CHECK(log->count("stop:cache:killed") == 1);
  CHECK(children_of(fx, sup).size() == 1);
  fx.stop(sup);
}

TEST_CASE("a supervisor whose nested supervisor failed to start stops its own children after the nested one stopped") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config root;
  root.name = "root";
  root.children = {worker_spec(log, "web"), failing_storage(log)};
  auto sup = start_supervisor(fx.sys, root);
  REQUIRE_FALSE(sup);
  fx.run();
  CHECK(log->count("stop:web:shutdown") == 0); // waits for the nested supervisor
  fx.advance(500ms);
  auto stops = log->starting_with("stop:");
  CHECK(stops == std::vector<std::string>{"stop:cache:killed", "stop:web:shutdown"});
}

}
