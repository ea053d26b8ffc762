#include <doctest/doctest.h>

#include "otpp/supervision/errors.hpp"
#include "tests/actors/supervision/helpers.hpp"
#include "tests/support/event_capture.hpp"

using namespace otpp::supervision;
namespace events = otpp::events;
using namespace otpp::test;
using namespace std::chrono_literals;

namespace {

child_spec stubborn(std::shared_ptr<event_log> log, std::string id, shutdown_policy policy) {
  child_spec spec;
  spec.id = id;
  spec.start = start_worker(log, id, worker_script{true, false});
  spec.shutdown = policy;
  return spec;
}

} // namespace

TEST_SUITE("supervision.supervisor.shutdown") {

TEST_CASE("a child that ignores the shutdown request is killed after its timeout, reported as shutdown_error") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  event_capture capture;
  supervisor_config config;
  config.children = {stubborn(log, "stubborn", shutdown_policy::after(1000ms))};
  auto sup = start(fx, config);
  fx.watch(sup);
  fx.stop(sup);
  CHECK(log->count("ignored_exit:stubborn:shutdown") == 1);
  CHECK(log->count("stop:stubborn:killed") == 0);
  fx.advance(999ms);
  CHECK(log->count("stop:stubborn:killed") == 0);
  CHECK_FALSE(fx.exit_reason());
  fx.advance(1ms);
  CHECK(log->count("stop:stubborn:killed") == 1);
  auto errors = capture.of<events::shutdown_error>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].supervisor == "supervisor");
  CHECK(errors[0].strategy == "one_for_one");
  CHECK(errors[0].child == "stubborn");
  CHECK(errors[0].reason == "killed");
  CHECK(errors[0].restarts == 0);
  REQUIRE(fx.exit_reason());
}

TEST_CASE("children die with a supervisor that is killed outright") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a", "b"}));
  caf::anon_send_exit(sup, caf::exit_reason::kill);
  fx.run();
  CHECK(log->count("stop:a:killed") == 1);
  CHECK(log->count("stop:b:killed") == 1);
}

TEST_CASE("a child that stops within its timeout is not reported") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  event_capture capture;
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one), {"a"}));
  fx.stop(sup);
  CHECK(log->count("stop:a:shutdown") == 1);
  CHECK(capture.of<events::shutdown_error>().empty());
}

TEST_CASE("brutal_kill kills at once, even a child that traps exits") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  event_capture capture;
  supervisor_config config;
  config.children = {stubborn(log, "victim", shutdown_policy::brutal_kill())};
  auto sup = start(fx, config);
  fx.watch(sup);
  fx.stop(sup);
  CHECK(log->count("ignored_exit:victim:shutdown") == 0);
  CHECK(log->count("stop:victim:killed") == 1);
  CHECK(capture.of<events::shutdown_error>().empty());
  REQUIRE(fx.exit_reason());
}

TEST_CASE("infinity waits for the child however long it takes") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.children = {stubborn(log, "patient", shutdown_policy::infinity())};
  auto sup = start(fx, config);
  fx.watch(sup);
  auto child = child_of(fx, sup, "patient").handle;
  fx.stop(sup);
  fx.advance(std::chrono::hours(1));
  CHECK_FALSE(fx.exit_reason());
  caf::anon_send(child, finish_atom::value);
  fx.run();
  CHECK(log->count("stop:patient:normal") == 1);
  REQUIRE(fx.exit_reason());
}

TEST_CASE("the stop timer of one child never kills the next child being stopped") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  auto quick = worker_spec(log, "quick");
  quick.shutdown = shutdown_policy::after(100ms);
  config.children = {stubborn(log, "patient", shutdown_policy::infinity()), quick};
  auto sup = start(fx, config);
  fx.watch(sup);
  auto patient = child_of(fx, sup, "patient").handle;
  fx.stop(sup); // quick stops at once; patient is asked next and ignores it
  CHECK(log->count("stop:quick:shutdown") == 1);
  fx.advance(100ms); // quick's stop timer fires now
  CHECK(log->count("stop:patient:killed") == 0);
  caf::anon_send(patient, finish_atom::value);
  fx.run();
  CHECK(log->count("stop:patient:normal") == 1);
  REQUIRE(fx.exit_reason());
}

TEST_CASE("a child that crashes while another is being stopped is not waited for later") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.flags.intensity = 5;
  config.children = {stubborn(log, "slow", shutdown_policy::after(1000ms)), worker_spec(log, "other")};
  auto sup = start(fx, config);
  fx.watch(sup);
  auto other = child_of(fx, sup, "other").handle;
  fx.self->send(sup, terminate_child_atom::value, std::string{"slow"});
  fx.run(); // the supervisor now waits for "slow"
  caf::anon_send(other, crash_atom::value);
  fx.run(); // "other" dies meanwhile: its exit is handled after the stop
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  fx.advance(1000ms); // "slow" is killed; then the restart and the shutdown run
  fx.run();
  REQUIRE(fx.exit_reason());
  CHECK(log->count("stop:slow:killed") == 1);
}

TEST_CASE("requests still waiting when a supervisor is killed are answered with an error") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.children = {stubborn(log, "slow", shutdown_policy::after(1000ms))};
  auto sup = start(fx, config);
  auto stopping = fx.self->request(sup, caf::infinite, terminate_child_atom::value, std::string{"slow"});
  auto waiting = fx.self->request(sup, caf::infinite, which_children_atom::value);
  fx.run(); // the first waits for "slow", the second waits behind it
  caf::anon_send_exit(sup, caf::exit_reason::kill);
  fx.run();
  std::vector<std::string> errors;
  stopping.receive([](caf::ok_atom) {}, [&](caf::error& e) { errors.push_back(describe(e)); });
  waiting.receive([](std::vector<child_info>&) {}, [&](caf::error& e) { errors.push_back(describe(e)); });
  CHECK(errors == std::vector<std::string>{"shutdown: supervisor 'supervisor' has ended",
                                           "shutdown: supervisor 'supervisor' has ended"});
}

TEST_CASE("requests that arrive while children are being stopped are answered afterwards") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  supervisor_config config;
  config.children = {stubborn(log, "slow", shutdown_policy::after(1000ms)), worker_spec(log, "quick")};
  auto sup = start(fx, config);
  fx.self->send(sup, terminate_child_atom::value, std::string{"slow"});
  fx.run();
  fx.self->send(sup, which_children_atom::value);
  fx.run();
  CHECK(fx.self->mailbox().empty()); // no answer yet: the supervisor is busy stopping "slow"
  fx.advance(1000ms);
  bool terminated = false;
  std::vector<child_info> answered;
  for (int i = 0; i < 2; ++i)
    fx.self->receive([&](caf::ok_atom) { terminated = true; },
                     [&](std::vector<child_info>& xs) { answered = xs; },
                     caf::after(std::chrono::seconds(0)) >> [] {});
  CHECK(terminated);
  REQUIRE(answered.size() == 2);
  CHECK(answered[0].state == child_state::terminated);
  CHECK(answered[1].state == child_state::running);
  fx.stop(sup);
}

}
