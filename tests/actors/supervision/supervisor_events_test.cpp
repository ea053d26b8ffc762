#include <doctest/doctest.h>

#include "otpp/actors/perf/families.hpp"
#include "tests/actors/supervision/helpers.hpp"
#include "tests/support/event_capture.hpp"

using namespace otpp::supervision;
using namespace otpp::test;
using namespace std::chrono_literals;
namespace events = otpp::events;
namespace perf = otpp::perf;

namespace {

/// otpp_supervisor_child_exits_total{supervisor,child,reason}, or -1 without that series.
double child_exits(const std::string& supervisor, const std::string& child, const std::string& reason) {
  auto snap = perf::metrics().take_snapshot();
  auto* s = snap.find(perf::families::supervisor_child_exits.name, {supervisor, child, reason});
  return s ? s->value : -1;
}

supervisor_config named(supervisor_config config, std::string name) {
  config.name = std::move(name);
  return config;
}

} // namespace

TEST_SUITE("supervision.supervisor.events") {

TEST_CASE("a crash and its restart are child_terminated then child_started, and the end supervisor_shutdown") {
  deterministic fx;
  event_capture capture;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 3), {"a"}));
  crash(fx, sup, "a");
  fx.stop(sup);
  std::vector<std::string> seen;
  for (auto& r : capture.records())
    seen.push_back(events::name_of(r.value));
  CHECK(seen == std::vector<std::string>{"child_started", "child_terminated", "child_started", "supervisor_shutdown"});
  auto started = capture.of<events::child_started>();
  REQUIRE(started.size() == 2);
  CHECK(started[0].supervisor == "sup");
  CHECK(started[0].strategy == "one_for_one");
  CHECK(started[0].child == "a");
  CHECK(started[0].restarts == 0);
  CHECK(started[1].restarts == 1);
  auto terminated = capture.of<events::child_terminated>();
  REQUIRE(terminated.size() == 1);
  CHECK(terminated[0].supervisor == "sup");
  CHECK(terminated[0].strategy == "one_for_one");
  CHECK(terminated[0].child == "a");
  CHECK(terminated[0].reason == "exception: boom a");
  CHECK(terminated[0].restarts == 0);
  CHECK(capture.records()[1].severity == events::level::error);
  auto ended = capture.of<events::supervisor_shutdown>();
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].supervisor == "sup");
  CHECK(ended[0].reason == "shutdown");
  CHECK(ended[0].restarts == 1);
  CHECK(ended[0].normal);
  CHECK(capture.records()[3].severity == events::level::info);
}

TEST_CASE("a start function that fails is a start_error with its reason and the child's restarts") {
  deterministic fx;
  event_capture capture;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.name = "starts";
  config.flags.intensity = 5;
  child_spec flaky;
  flaky.id = "flaky";
  flaky.start = start_failing(log, "flaky", 1, 1);
  config.children = {flaky};
  auto sup = start(fx, config);
  crash(fx, sup, "flaky");
  auto errors = capture.of<events::start_error>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].supervisor == "starts");
  CHECK(errors[0].child == "flaky");
  CHECK(errors[0].reason == "start_failed: scripted failure flaky");
  CHECK(errors[0].restarts == 1);
  CHECK(child_of(fx, sup, "flaky").state == child_state::running);
  fx.stop(sup);
}

TEST_CASE("a supervisor whose start fails ends with an abnormal supervisor_shutdown, an error") {
  deterministic fx;
  event_capture capture;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.name = "doomed";
  child_spec broken;
  broken.id = "broken";
  broken.start = start_failing(log, "broken", 1);
  config.children = {worker_spec(log, "first"), broken};
  auto sup = start_supervisor(fx.sys, config);
  REQUIRE_FALSE(sup);
  fx.run();
  auto ended = capture.of<events::supervisor_shutdown>();
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].supervisor == "doomed");
  CHECK_FALSE(ended[0].normal);
  CHECK(ended[0].reason == "start_failed: child 'broken': start_failed: scripted failure broken");
  CHECK(capture.records().back().severity == events::level::error);
}

TEST_CASE("child exits are counted by reason: normal, shutdown and crash") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.name = "exits.sup";
  config.flags.intensity = 10;
  config.children = {worker_spec(log, "done", restart_type::transient), worker_spec(log, "crashy"),
                     worker_spec(log, "stopped")};
  auto sup = start(fx, config);
  CHECK(child_exits("exits.sup", "crashy", "crash") == -1); // no exit yet: no series
  caf::anon_send(child_of(fx, sup, "done").handle, finish_atom::value);
  fx.run();
  crash(fx, sup, "crashy");
  crash(fx, sup, "crashy");
  CHECK(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, std::string{"stopped"}));
  CHECK(child_exits("exits.sup", "done", "normal") == 1);
  CHECK(child_exits("exits.sup", "crashy", "crash") == 2);
  CHECK(child_exits("exits.sup", "stopped", "shutdown") == 1);
  CHECK(child_exits("exits.sup", "crashy", "shutdown") == -1);
  SUBCASE("a deleted child takes its series with it") {
    CHECK(fx.ask<caf::ok_atom>(sup, delete_child_atom::value, std::string{"stopped"}));
    CHECK(child_exits("exits.sup", "stopped", "shutdown") == -1);
    CHECK(child_exits("exits.sup", "crashy", "crash") == 2);
  }
  SUBCASE("the series end with the supervisor") {
    fx.stop(sup);
    CHECK(child_exits("exits.sup", "crashy", "crash") == -1);
    CHECK(child_exits("exits.sup", "crashy", "shutdown") == -1);
  }
  fx.stop(sup);
}

TEST_CASE("a child killed after its shutdown timeout counts as a crash, a brutal kill as a shutdown") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.name = "kills.sup";
  auto brutal = stubborn_spec(log, "brutal", 1000ms);
  brutal.shutdown = shutdown_policy::brutal_kill();
  config.children = {stubborn_spec(log, "stubborn", 1000ms), brutal};
  auto sup = start(fx, config);
  CHECK(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, std::string{"brutal"}));
  CHECK(child_exits("kills.sup", "brutal", "shutdown") == 1);
  auto stopping = fx.self->request(sup, caf::infinite, terminate_child_atom::value, std::string{"stubborn"});
  fx.run();
  fx.advance(1000ms);
  stopping.receive([](caf::ok_atom) {}, [](caf::error& err) { FAIL(describe(err)); });
  CHECK(child_exits("kills.sup", "stubborn", "crash") == 1);
  CHECK(child_of(fx, sup, "stubborn").last_reason == "killed");
  fx.stop(sup);
}

TEST_CASE("which_children tells each child's restarts and how it last ended") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 5), {"a", "b"}));
  auto fresh = child_of(fx, sup, "a");
  CHECK(fresh.restarts == 0);
  CHECK(fresh.last_reason.empty());
  crash(fx, sup, "a");
  crash(fx, sup, "a");
  auto a = child_of(fx, sup, "a");
  CHECK(a.restarts == 2);
  CHECK(a.last_reason == "exception: boom a");
  CHECK(a.state == child_state::running);
  CHECK(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, std::string{"b"}));
  auto b = child_of(fx, sup, "b");
  CHECK(b.restarts == 0);
  CHECK(b.last_reason == "shutdown");
  CHECK(b.state == child_state::terminated);
  fx.stop(sup);
}

TEST_CASE("a nested supervisor's row counts the restarts its parent made of it") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config root;
  root.name = "root";
  root.flags.intensity = 5;
  root.children = {supervisor_child("mid", named(workers(log, flags_of(strategy::one_for_one, 0), {"leaf"}), "mid"))};
  auto sup = start(fx, root);
  auto mid = child_of(fx, sup, "mid").handle;
  crash(fx, mid, "leaf"); // mid gives up; root restarts it
  auto row = child_of(fx, sup, "mid");
  CHECK(row.restarts == 1);
  CHECK(row.last_reason == "shutdown: reached_max_restart_intensity: child 'leaf': exception: boom leaf");
  fx.stop(sup);
}

}
