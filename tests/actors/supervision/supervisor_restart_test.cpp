#include <doctest/doctest.h>

#include "otpp/supervision/errors.hpp"
#include "tests/actors/supervision/helpers.hpp"
#include "tests/support/event_capture.hpp"

using namespace otpp::supervision;
namespace events = otpp::events;
using namespace otpp::test;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;

TEST_SUITE("supervision.supervisor.restart") {

TEST_CASE("one_for_one restarts only the crashed child") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a", "b", "c"}));
  log->clear();
  crash(fx, sup, "b");
  CHECK(log->events() == strings{"stop:b:exception: boom b", "start:b"});
  CHECK(child_of(fx, sup, "b").state == child_state::running);
  fx.stop(sup);
}

TEST_CASE("one_for_all stops the others in reverse order and restarts all in order") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_all), {"a", "b", "c"}));
  log->clear();
  crash(fx, sup, "b");
  CHECK(log->events()
        == strings{"stop:b:exception: boom b", "stop:c:shutdown", "stop:a:shutdown", "start:a",
                   "start:b", "start:c"});
  fx.stop(sup);
}

TEST_CASE("rest_for_one restarts the crashed child and the ones started after it") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::rest_for_one), {"a", "b", "c", "d"}));
  log->clear();
  crash(fx, sup, "b");
  CHECK(log->events()
        == strings{"stop:b:exception: boom b", "stop:d:shutdown", "stop:c:shutdown", "start:b",
                   "start:c", "start:d"});
  fx.stop(sup);
}

TEST_CASE("simple_one_for_one starts children from the template and restarts them with their arguments") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::simple_one_for_one, 5), {"conn"}));
  CHECK(log->events().empty());
  auto first = fx.ask<caf::actor>(sup, start_child_atom::value, caf::make_message(1));
  auto second = fx.ask<caf::actor>(sup, start_child_atom::value, caf::make_message(2));
  REQUIRE(first);
  REQUIRE(second);
  CHECK(log->events() == strings{"start:conn:(1)", "start:conn:(2)"});
  log->clear();
  caf::anon_send(*second, crash_atom::value);
  fx.run();
  CHECK(log->events() == strings{"stop:conn:(2):exception: boom conn:(2)", "start:conn:(2)"});
  auto counts = fx.ask<child_counts>(sup, count_children_atom::value);
  REQUIRE(counts);
  CHECK(counts->specs == 1);
  CHECK(counts->active == 2);
  CHECK(counts->workers == 2);
  fx.stop(sup);
}

TEST_CASE("a permanent child is restarted even after a normal exit") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a"}));
  caf::anon_send(child_of(fx, sup, "a").handle, finish_atom::value);
  fx.run();
  CHECK(log->events() == strings{"start:a", "stop:a:normal", "start:a"});
  fx.stop(sup);
}

TEST_CASE("a transient child is restarted only after an abnormal exit") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags.intensity = 5;
  config.children = {worker_spec(log, "normal", restart_type::transient),
                     worker_spec(log, "shutdown", restart_type::transient),
                     worker_spec(log, "crash", restart_type::transient)};
  auto sup = start(fx, config);
  log->clear();
  caf::anon_send(child_of(fx, sup, "normal").handle, finish_atom::value);
  caf::anon_send_exit(child_of(fx, sup, "shutdown").handle, caf::exit_reason::user_shutdown);
  fx.run();
  crash(fx, sup, "crash");
  CHECK(log->count("start:normal") == 0);
  CHECK(log->count("start:shutdown") == 0);
  CHECK(log->count("start:crash") == 1);
  CHECK(child_of(fx, sup, "normal").state == child_state::terminated);
  CHECK(child_of(fx, sup, "shutdown").state == child_state::terminated);
  fx.stop(sup);
}

TEST_CASE("a temporary child is never restarted and its spec is removed") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  event_capture capture;
  supervisor_config config;
  config.children = {worker_spec(log, "once", restart_type::temporary)};
  auto sup = start(fx, config);
  crash(fx, sup, "once");
  CHECK(log->count("start:once") == 1);
  CHECK(children_of(fx, sup).empty());
  CHECK(capture.of<events::child_terminated>().size() == 1);
  fx.stop(sup);
}

TEST_CASE("more than intensity restarts within the period stop the supervisor with shutdown") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  event_capture capture;
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 2), {"a", "b", "c"}));
  fx.watch(sup);
  crash(fx, sup, "b");
  crash(fx, sup, "b");
  CHECK_FALSE(fx.exit_reason());
  log->clear();
  crash(fx, sup, "b");
  CHECK(log->events() == strings{"stop:b:exception: boom b", "stop:c:shutdown", "stop:a:shutdown"});
  auto reason = fx.exit_reason();
  REQUIRE(reason);
  CHECK(is(*reason, errc::shutdown));
  CHECK(is_normal_exit(*reason));
  CHECK(describe(*reason) == "shutdown: reached_max_restart_intensity: child 'b': exception: boom b");
  auto max = capture.of<events::reached_max_restart_intensity>();
  REQUIRE(max.size() == 1);
  CHECK(max[0].supervisor == "sup");
  CHECK(max[0].strategy == "one_for_one");
  CHECK(max[0].child == "b");
  CHECK(max[0].reason == "exception: boom b");
  CHECK(max[0].restarts == 2);
  CHECK(capture.of<events::supervisor_shutdown>().size() == 1);
}

TEST_CASE("restarts that fall out of the period are forgotten") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 1), {"a"}));
  fx.watch(sup);
  crash(fx, sup, "a");
  fx.advance(5001ms);
  crash(fx, sup, "a");
  fx.advance(5001ms);
  crash(fx, sup, "a");
  CHECK_FALSE(fx.exit_reason());
  CHECK(log->count("start:a") == 4);
  fx.stop(sup);
}

TEST_CASE("intensity 0 means the first crash ends the supervisor") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 0), {"a"}));
  fx.watch(sup);
  crash(fx, sup, "a");
  CHECK(log->count("start:a") == 1);
  auto reason = fx.exit_reason();
  REQUIRE(reason);
  CHECK(is(*reason, errc::shutdown));
}

TEST_CASE("a supervisor that gives up is restarted by its parent, which escalates in turn") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  event_capture capture;
  supervisor_config mid = workers(log, flags_of(strategy::one_for_one, 0), {"leaf"});
  mid.name = "mid";
  supervisor_config root;
  root.name = "root";
  root.flags.intensity = 1;
  root.children = {worker_spec(log, "sibling"), supervisor_child("mid", mid)};
  auto sup = start(fx, root);
  fx.watch(sup);
  auto mid_handle = child_of(fx, sup, "mid").handle;
  auto leaf_of = [&](const caf::actor& mid_sup) {
    auto rows = fx.ask<std::vector<child_info>>(mid_sup, which_children_atom::value);
    REQUIRE(rows);
    REQUIRE(rows->size() == 1);
    return rows->front().handle;
  };
  // First leaf crash: mid gives up, root restarts mid (1 restart: allowed).
  caf::anon_send(leaf_of(mid_handle), crash_atom::value);
  fx.run();
  CHECK_FALSE(fx.exit_reason());
  auto new_mid = child_of(fx, sup, "mid").handle;
  CHECK(new_mid != mid_handle);
  CHECK(log->count("start:leaf") == 2);
  // Second leaf crash: mid gives up again, root exceeds intensity 1 and gives up.
  caf::anon_send(leaf_of(new_mid), crash_atom::value);
  fx.run();
  auto reason = fx.exit_reason();
  REQUIRE(reason);
  CHECK(describe(*reason)
        == "shutdown: reached_max_restart_intensity: child 'mid': shutdown: reached_max_restart_intensity: "
           "child 'leaf': exception: boom leaf");
  CHECK(log->count("stop:sibling:shutdown") == 1);
  CHECK(capture.of<events::reached_max_restart_intensity>().size() == 3);
}

TEST_CASE("a failed restart is retried through the mailbox and the API answers meanwhile") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  event_capture capture;
  supervisor_config config;
  config.flags.intensity = 10;
  child_spec flaky;
  flaky.id = "flaky";
  flaky.start = start_failing(log, "flaky", 2, 1);
  config.children = {flaky};
  auto sup = start(fx, config);
  caf::anon_send(child_of(fx, sup, "flaky").handle, crash_atom::value);
  for (int i = 0; i < 100 && log->count("start_failed:flaky") == 0; ++i)
    fx.step();
  REQUIRE(log->count("start_failed:flaky") == 1);
  // The retry is queued behind this request: the supervisor answers first.
  auto row = child_of(fx, sup, "flaky");
  CHECK(row.state == child_state::restarting);
  CHECK_FALSE(row.handle);
  fx.run();
  CHECK(log->count("start_failed:flaky") == 2);
  CHECK(child_of(fx, sup, "flaky").state == child_state::running);
  CHECK(capture.of<events::start_error>().size() == 2);
  fx.stop(sup);
}

TEST_CASE("a restart that keeps failing counts every attempt toward intensity") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags.intensity = 3;
  child_spec flaky;
  flaky.id = "flaky";
  flaky.start = start_failing(log, "flaky", 1000, 1);
  config.children = {flaky};
  auto sup = start(fx, config);
  fx.watch(sup);
  caf::anon_send(child_of(fx, sup, "flaky").handle, crash_atom::value);
  fx.run();
  CHECK(log->count("start_failed:flaky") == 3); // attempts 1..3 allowed, the 4th exceeds
  REQUIRE(fx.exit_reason());
}

TEST_CASE("with backoff a crashed child is restarted after the delay, not before") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags.intensity = 5;
  auto spec = worker_spec(log, "slow");
  spec.backoff = backoff_options{1000ms, 8000ms, 2.0, 0.0, 60000ms};
  config.children = {spec};
  auto sup = start(fx, config);
  crash(fx, sup, "slow");
  fx.advance(999ms);
  CHECK(child_of(fx, sup, "slow").state == child_state::restarting);
  fx.advance(1ms);
  CHECK(child_of(fx, sup, "slow").state == child_state::running);
  crash(fx, sup, "slow");
  fx.advance(1999ms);
  CHECK(child_of(fx, sup, "slow").state == child_state::restarting);
  fx.advance(1ms);
  CHECK(child_of(fx, sup, "slow").state == child_state::running);
  CHECK(log->count("start:slow") == 3);
  fx.stop(sup);
}

TEST_CASE("a delayed restart cancelled by terminate_child does not cut a later backoff short") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags.intensity = 5;
  auto spec = worker_spec(log, "slow");
  spec.backoff = backoff_options{1000ms, 1000ms, 1.0, 0.0, 60000ms};
  config.children = {spec};
  auto sup = start(fx, config);
  crash(fx, sup, "slow"); // a restart is due at 1000 ms
  CHECK(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, std::string{"slow"}));
  CHECK(fx.ask<caf::actor>(sup, restart_child_atom::value, std::string{"slow"}));
  fx.advance(500ms);
  crash(fx, sup, "slow"); // a new restart is due at 1500 ms
  fx.advance(500ms);      // the cancelled one's timer fires at 1000 ms
  CHECK(child_of(fx, sup, "slow").state == child_state::restarting);
  fx.advance(500ms);
  CHECK(child_of(fx, sup, "slow").state == child_state::running);
  fx.stop(sup);
}

TEST_CASE("one_for_all: cancelling the crashed child's delayed restart leaves its group terminated, not restarting") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags.strategy = strategy::one_for_all;
  config.flags.intensity = 5;
  auto slow = worker_spec(log, "slow");
  slow.backoff = backoff_options{1000ms, 1000ms, 1.0, 0.0, 60000ms};
  config.children = {worker_spec(log, "first"), slow, worker_spec(log, "last")};
  auto sup = start(fx, config);
  crash(fx, sup, "slow"); // the group is stopped; its restart is due at 1000 ms
  CHECK(child_of(fx, sup, "first").state == child_state::restarting);
  CHECK(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, std::string{"slow"}));
  fx.advance(1000ms); // the cancelled restart's timer fires and does nothing
  for (auto id : {"first", "slow", "last"}) {
    CAPTURE(id);
    CHECK(child_of(fx, sup, id).state == child_state::terminated);
  }
  CHECK(fx.ask<caf::actor>(sup, restart_child_atom::value, std::string{"first"}));
  CHECK(child_of(fx, sup, "first").state == child_state::running);
  fx.stop(sup);
}

TEST_CASE("any_significant: a significant child ending normally shuts the supervisor down") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags.auto_shutdown = auto_shutdown::any_significant;
  auto job = significant_worker(log, "job");
  config.children = {worker_spec(log, "helper"), job};
  auto sup = start(fx, config);
  fx.watch(sup);
  caf::anon_send(child_of(fx, sup, "job").handle, finish_atom::value);
  fx.run();
  auto reason = fx.exit_reason();
  REQUIRE(reason);
  CHECK(is(*reason, errc::shutdown));
  CHECK(log->count("stop:helper:shutdown") == 1);
}

TEST_CASE("all_significant: the supervisor shuts down only when the last significant child ends") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags.auto_shutdown = auto_shutdown::all_significant;
  auto first = worker_spec(log, "first", restart_type::temporary);
  auto second = worker_spec(log, "second", restart_type::temporary);
  first.significant = second.significant = true;
  config.children = {first, second};
  auto sup = start(fx, config);
  fx.watch(sup);
  caf::anon_send(child_of(fx, sup, "first").handle, crash_atom::value);
  fx.run();
  CHECK_FALSE(fx.exit_reason());
  caf::anon_send(child_of(fx, sup, "second").handle, finish_atom::value);
  fx.run();
  REQUIRE(fx.exit_reason());
}

TEST_CASE("a significant child stopped through terminate_child does not shut the supervisor down") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags.auto_shutdown = auto_shutdown::any_significant;
  auto job = significant_worker(log, "job");
  config.children = {job};
  auto sup = start(fx, config);
  fx.watch(sup);
  CHECK(fx.ask<caf::ok_atom>(sup, terminate_child_atom::value, std::string{"job"}));
  CHECK_FALSE(fx.exit_reason());
  fx.stop(sup);
}

}
