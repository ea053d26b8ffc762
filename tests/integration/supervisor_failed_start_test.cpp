#include <doctest/doctest.h>

#include <caf/actor_system.hpp>

#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "otpp/supervision/supervisor_api.hpp"
#include "tests/support/scripted_worker.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp::supervision;
using namespace otpp::test;
using namespace std::chrono_literals;

namespace {

constexpr auto patience = 10s; // a bound, not a sleep: waits end as soon as the event happens

} // namespace

TEST_SUITE("integration.supervisor.failed_start") {

TEST_CASE("start_supervisor returns a failed start only once every child it started has stopped") {
  threaded_config cfg;
  caf::actor_system sys{cfg};
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.name = "failing";
  config.children = {stubborn_spec(log, "a", 200ms), failing_spec(log, "b")};
  auto sup = start_supervisor(sys, config);
  REQUIRE_FALSE(sup);
  CHECK(describe(sup.error()) == "start_failed: child 'b': start_failed: scripted failure b");
  CHECK(log->count("stop:a:killed") == 1); // at the moment of return, without waiting
}

TEST_CASE("a start failure inside a nested supervisor returns once both levels' started children have stopped") {
  threaded_config cfg;
  caf::actor_system sys{cfg};
  auto log = std::make_shared<event_log>();
  supervisor_config inner;
  inner.children = {stubborn_spec(log, "cache", 200ms), failing_spec(log, "db")};
  supervisor_config root;
  root.name = "root";
  root.children = {stubborn_spec(log, "web", 200ms), supervisor_child("storage", inner)};
  auto sup = start_supervisor(sys, root);
  REQUIRE_FALSE(sup);
  CHECK(log->starting_with("stop:") == std::vector<std::string>{"stop:cache:killed", "stop:web:killed"});
}

TEST_CASE("blocking start_child of a running id is already_started with the running child's handle") {
  threaded_config cfg;
  caf::actor_system sys{cfg};
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.name = "running";
  config.children = {worker_spec(log, "a")};
  auto sup = start_supervisor(sys, config);
  REQUIRE(sup);
  auto rows = blocking::which_children(sys, *sup);
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);
  auto again = blocking::start_child(sys, *sup, worker_spec(log, "a"));
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), errc::already_started));
  CHECK(already_started_child(again.error()) == (*rows)[0].handle);
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  CHECK(log->wait_for("stop:a:shutdown", 1, patience));
}

}
