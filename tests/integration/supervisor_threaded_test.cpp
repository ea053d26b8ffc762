#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/registry.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "otpp/supervision/supervisor_api.hpp"
#include "tests/support/threaded.hpp"
#include "tests/support/scripted_worker.hpp"

using namespace otpp::supervision;
using namespace otpp::test;
using namespace std::chrono_literals;

namespace {

constexpr auto patience = 10s; // a bound, not a sleep: waits end as soon as the event happens

} // namespace

TEST_SUITE("integration.supervisor") {

TEST_CASE("a plain thread drives a supervisor with blocking calls on the threaded scheduler") {
  threaded_config cfg;
  caf::actor_system sys{cfg};
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.name = "threaded";
  config.flags.intensity = 10;
  auto db = worker_spec(log, "db");
  db.name = "threaded.db";
  config.children = {db, worker_spec(log, "cache")};
  auto sup = start_supervisor(sys, config);
  REQUIRE(sup);
  REQUIRE(log->wait_for("start:db", 1, patience));
  auto rows = blocking::which_children(sys, *sup);
  REQUIRE(rows);
  REQUIRE(rows->size() == 2);
  auto old_db = registry::of(sys).whereis("threaded.db");
  REQUIRE(old_db);
  caf::anon_send_exit(old_db, caf::exit_reason::kill);
  REQUIRE(log->wait_for("start:db", 2, patience));
  caf::actor new_db;
  for (auto deadline = std::chrono::steady_clock::now() + patience;
       !new_db && std::chrono::steady_clock::now() < deadline;)
    if (auto found = whereis(sys, "threaded.db"); found && found != old_db)
      new_db = found;
  CHECK(new_db);
  CHECK_FALSE(blocking::terminate_child(sys, *sup, "cache"));
  auto counts = blocking::count_children(sys, *sup);
  REQUIRE(counts);
  CHECK(counts->active == 1);
  auto restarted = blocking::restart_child(sys, *sup, "cache");
  CHECK(restarted);
  auto dynamic = blocking::start_child(sys, *sup, caf::make_message(1));
  REQUIRE_FALSE(dynamic);
  CHECK(is(dynamic.error(), errc::not_allowed));
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  CHECK(log->wait_for("stop:db:shutdown", 1, patience));
}

TEST_CASE("a blocking call to a busy supervisor times out with request_timeout") {
  threaded_config cfg;
  caf::actor_system sys{cfg};
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  child_spec patient;
  patient.id = "patient";
  patient.start = start_worker(log, "patient", worker_script{true, false});
  patient.shutdown = shutdown_policy::infinity();
  config.children = {patient};
  auto sup = start_supervisor(sys, config);
  REQUIRE(sup);
  auto child = blocking::which_children(sys, *sup);
  REQUIRE(child);
  auto handle = child->front().handle;
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  REQUIRE(log->wait_for("ignored_exit:patient:shutdown", 1, patience));
  auto rows = blocking::which_children(sys, *sup, 100ms);
  REQUIRE_FALSE(rows);
  CHECK(rows.error() == caf::sec::request_timeout);
  caf::anon_send(handle, finish_atom::value);
  CHECK(log->wait_for("stop:patient:normal", 1, patience));
}

}
