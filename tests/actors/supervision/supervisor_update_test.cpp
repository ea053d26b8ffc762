#include <doctest/doctest.h>

#include <caf/actor_system.hpp>

#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor_api.hpp"
#include "tests/actors/supervision/helpers.hpp"
#include "tests/support/event_capture.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp::supervision;
namespace events = otpp::events;
using namespace otpp::test;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;

namespace {

caf::error update(deterministic& fx, const caf::actor& sup, const supervisor_flags& flags) {
  auto x = fx.ask<caf::ok_atom>(sup, update_flags_atom::value, flags);
  return x ? caf::error{} : x.error();
}

caf::error update(deterministic& fx, const caf::actor& sup, const child_spec& spec) {
  auto x = fx.ask<caf::ok_atom>(sup, update_child_atom::value, spec);
  return x ? caf::error{} : x.error();
}

/// `spec` with its start function replaced by one that tags its workers `tag`.
child_spec started_as(child_spec spec, std::shared_ptr<event_log> log, std::string tag) {
  spec.start = start_worker(std::move(log), std::move(tag));
  return spec;
}

} // namespace

TEST_SUITE("supervision.supervisor.update") {

TEST_CASE("a lowered intensity applies at the next restart and counts the restarts made before") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 3), {"a"}));
  fx.watch(sup);
  crash(fx, sup, "a");
  crash(fx, sup, "a");
  CHECK_FALSE(update(fx, sup, flags_of(strategy::one_for_one, 2)));
  CHECK_FALSE(fx.exit_reason());
  crash(fx, sup, "a"); // the third restart: within intensity 3, too many for 2
  auto reason = fx.exit_reason();
  REQUIRE(reason);
  CHECK(describe(*reason) == "shutdown: reached_max_restart_intensity: child 'a': exception: boom a");
}

TEST_CASE("a raised intensity lets more restarts through") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 1), {"a"}));
  fx.watch(sup);
  crash(fx, sup, "a");
  CHECK_FALSE(update(fx, sup, flags_of(strategy::one_for_one, 3)));
  crash(fx, sup, "a");
  crash(fx, sup, "a");
  CHECK_FALSE(fx.exit_reason());
  CHECK(child_of(fx, sup, "a").restarts == 3);
  crash(fx, sup, "a");
  CHECK(fx.exit_reason());
}

TEST_CASE("one_for_one changed to one_for_all restarts the siblings too, and events name the new strategy") {
  deterministic fx;
  event_capture capture;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 5), {"a", "b", "c"}));
  crash(fx, sup, "b");
  CHECK_FALSE(update(fx, sup, flags_of(strategy::one_for_all, 5)));
  log->clear();
  crash(fx, sup, "b");
  CHECK(log->events()
        == strings{"stop:b:exception: boom b", "stop:c:shutdown", "stop:a:shutdown", "start:a",
                   "start:b", "start:c"});
  auto terminated = capture.of<events::child_terminated>();
  REQUIRE(terminated.size() == 2);
  CHECK(terminated[0].strategy == "one_for_one");
  CHECK(terminated[1].strategy == "one_for_all");
  CHECK(capture.of<events::child_started>().back().strategy == "one_for_all");
  fx.stop(sup);
}

TEST_CASE("a delayed one_for_all restart still starts its whole group after a change to one_for_one") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags = flags_of(strategy::one_for_all, 5);
  auto slow = worker_spec(log, "slow");
  slow.backoff = backoff_options{1000ms, 1000ms, 1.0, 0.0, 60000ms};
  config.children = {worker_spec(log, "first"), slow, worker_spec(log, "last")};
  auto sup = start(fx, config);
  crash(fx, sup, "slow"); // the group is stopped; its restart is due at 1000 ms
  CHECK_FALSE(update(fx, sup, flags_of(strategy::one_for_one, 5)));
  fx.advance(1000ms);
  for (auto id : {"first", "slow", "last"}) {
    CAPTURE(id);
    CHECK(child_of(fx, sup, id).state == child_state::running);
  }
  log->clear();
  crash(fx, sup, "first");
  CHECK(log->events() == strings{"stop:first:exception: boom first", "start:first"});
  fx.stop(sup);
}

TEST_CASE("a change asked for while a restart stops children waits, and that restart keeps its group") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags = flags_of(strategy::one_for_all, 5);
  config.children = {worker_spec(log, "a"), stubborn_spec(log, "b", 1000ms), worker_spec(log, "c")};
  auto sup = start(fx, config);
  crash(fx, sup, "a"); // c has stopped, b ignores the request and is killed at 1000 ms
  auto pending = fx.self->request(sup, caf::infinite, update_flags_atom::value, flags_of(strategy::one_for_one, 5));
  fx.run();
  CHECK(fx.self->mailbox().empty());
  log->clear();
  fx.advance(1000ms);
  CHECK(log->events() == strings{"stop:b:killed", "start:a", "start:b", "start:c"});
  bool updated = false;
  pending.receive([&](caf::ok_atom) { updated = true; }, [](caf::error& err) { FAIL(describe(err)); });
  CHECK(updated);
  log->clear();
  crash(fx, sup, "a");
  CHECK(log->events() == strings{"stop:a:exception: boom a", "start:a"});
  fx.stop(sup);
  fx.advance(1000ms); // b ignores the shutdown request until the kill
}

TEST_CASE("a change to or from simple_one_for_one is not allowed and changes nothing") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 5), {"a", "b"}));
  auto refused = update(fx, sup, flags_of(strategy::simple_one_for_one, 5));
  CHECK(is(refused, errc::not_allowed));
  CHECK(describe(refused)
        == "not_allowed: strategy cannot change between simple_one_for_one and the others, got "
           "one_for_one -> simple_one_for_one");
  log->clear();
  crash(fx, sup, "a");
  CHECK(log->events() == strings{"stop:a:exception: boom a", "start:a"});
  fx.stop(sup);

  auto dynamic = start(fx, workers(log, flags_of(strategy::simple_one_for_one, 5), {"conn"}));
  CHECK(is(update(fx, dynamic, flags_of(strategy::one_for_all, 5)), errc::not_allowed));
  CHECK(fx.ask<caf::actor>(dynamic, start_child_atom::value, caf::make_message(1)));
  fx.stop(dynamic);
}

TEST_CASE("invalid flags are refused and the old ones stay in force") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 1), {"a"}));
  fx.watch(sup);
  auto flags = flags_of(strategy::one_for_one, 5);
  flags.period = 0ms;
  auto refused = update(fx, sup, flags);
  CHECK(describe(refused) == "invalid_flags: period must be in [1, 31622400000] ms, got 0");
  crash(fx, sup, "a");
  CHECK_FALSE(fx.exit_reason());
  crash(fx, sup, "a"); // intensity is still 1
  CHECK(fx.exit_reason());
}

TEST_CASE("auto_shutdown never is refused while a child is significant") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags.auto_shutdown = auto_shutdown::any_significant;
  auto job = significant_worker(log, "job");
  config.children = {job};
  auto sup = start(fx, config);
  fx.watch(sup);
  auto refused = update(fx, sup, flags_of(strategy::one_for_one));
  CHECK(is(refused, errc::invalid_spec));
  caf::anon_send(child_of(fx, sup, "job").handle, finish_atom::value);
  fx.run();
  CHECK(fx.exit_reason()); // any_significant still applies
}

TEST_CASE("all_significant changed to any_significant applies at the next significant exit") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags.auto_shutdown = auto_shutdown::all_significant;
  config.children = {worker_spec(log, "one", restart_type::transient),
                     worker_spec(log, "two", restart_type::transient)};
  for (auto& spec : config.children)
    spec.significant = true;
  auto sup = start(fx, config);
  fx.watch(sup);
  auto flags = config.flags;
  flags.auto_shutdown = auto_shutdown::any_significant;
  CHECK_FALSE(update(fx, sup, flags));
  caf::anon_send(child_of(fx, sup, "one").handle, finish_atom::value);
  fx.run();
  auto reason = fx.exit_reason();
  REQUIRE(reason);
  CHECK(describe(*reason) == "shutdown: auto_shutdown: significant child 'one' ended");
  CHECK(log->count("stop:two:shutdown") == 1);
}

TEST_CASE("a running child's new spec leaves it running and starts it at its next restart") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 5), {"a"}));
  auto before = child_of(fx, sup, "a");
  log->clear();
  CHECK_FALSE(update(fx, sup, started_as(worker_spec(log, "a"), log, "a2")));
  auto after = child_of(fx, sup, "a");
  CHECK(after.handle == before.handle);
  CHECK(after.restarts == 0);
  CHECK(log->events().empty());
  crash(fx, sup, "a");
  CHECK(log->events() == strings{"stop:a:exception: boom a", "start:a2"});
  auto tag = fx.ask<std::string>(child_of(fx, sup, "a").handle, tag_atom::value);
  REQUIRE(tag);
  CHECK(*tag == "a2");
  fx.stop(sup);
}

TEST_CASE("a permanent child updated to temporary is not restarted after its next exit") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 5), {"a", "b"}));
  CHECK_FALSE(update(fx, sup, worker_spec(log, "a", restart_type::temporary)));
  CHECK(child_of(fx, sup, "a").state == child_state::running);
  crash(fx, sup, "a");
  CHECK(log->count("start:a") == 1);
  auto rows = children_of(fx, sup);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == "b");
  fx.stop(sup);
}

TEST_CASE("update_child with an unknown id is not_found and an invalid spec is refused") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 5), {"a"}));
  auto unknown = update(fx, sup, worker_spec(log, "ghost"));
  CHECK(describe(unknown) == "not_found: child 'ghost'");
  child_spec no_start;
  no_start.id = "a";
  CHECK(describe(update(fx, sup, no_start)) == "invalid_spec: child 'a': start function is missing");
  auto significant = worker_spec(log, "a", restart_type::transient);
  significant.significant = true; // the supervisor's auto_shutdown is never
  CHECK(is(update(fx, sup, significant), errc::invalid_spec));
  log->clear();
  crash(fx, sup, "a");
  CHECK(log->events() == strings{"stop:a:exception: boom a", "start:a"});
  fx.stop(sup);
}

TEST_CASE("simple_one_for_one: a new template starts later children and running ones keep theirs") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::simple_one_for_one, 5), {"conn"}));
  auto old_child = fx.ask<caf::actor>(sup, start_child_atom::value, caf::make_message(1));
  REQUIRE(old_child);
  CHECK_FALSE(update(fx, sup, started_as(worker_spec(log, "conn"), log, "conn2")));
  CHECK(describe(update(fx, sup, worker_spec(log, "other")))
        == "not_found: child 'other': the template's id is 'conn'");
  auto new_child = fx.ask<caf::actor>(sup, start_child_atom::value, caf::make_message(2));
  REQUIRE(new_child);
  CHECK(log->count("start:conn2:(2)") == 1);
  log->clear();
  caf::anon_send(*old_child, crash_atom::value);
  fx.run();
  CHECK(log->events() == strings{"stop:conn:(1):exception: boom conn:(1)", "start:conn:(1)"});
  fx.stop(sup);
}

TEST_CASE("the blocking calls update a supervisor from a plain thread") {
  constexpr auto patience = 10s; // a bound, not a sleep
  threaded_config cfg;
  caf::actor_system sys{cfg};
  auto log = std::make_shared<event_log>();
  auto sup = start_supervisor(sys, workers(log, flags_of(strategy::one_for_one, 1), {"a"}));
  REQUIRE(sup);
  CHECK_FALSE(blocking::update_flags(sys, *sup, flags_of(strategy::one_for_one, 5)));
  CHECK(is(blocking::update_flags(sys, *sup, flags_of(strategy::simple_one_for_one)), errc::not_allowed));
  CHECK_FALSE(blocking::update_child(sys, *sup, started_as(worker_spec(log, "a"), log, "a2")));
  CHECK(is(blocking::update_child(sys, *sup, worker_spec(log, "ghost")), errc::not_found));
  for (int i = 0; i < 2; ++i) { // two restarts: more than the old intensity allowed
    auto rows = blocking::which_children(sys, *sup);
    REQUIRE(rows);
    REQUIRE(rows->size() == 1);
    caf::anon_send_exit((*rows)[0].handle, caf::exit_reason::kill);
    REQUIRE(log->wait_for("start:a2", static_cast<std::size_t>(i + 1), patience));
  }
  auto counts = blocking::count_children(sys, *sup);
  REQUIRE(counts);
  CHECK(counts->active == 1);
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
}

}
