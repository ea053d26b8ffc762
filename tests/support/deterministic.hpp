#pragma once

#include <chrono>
#include <optional>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/expected.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include "otpp/supervision/system_setup.hpp"

namespace otpp::test {

/// An actor system on CAF's deterministic test coordinator: nothing runs
/// until `run()`, timers fire only on `advance()`.
class deterministic {
public:
  struct config : caf::actor_system_config {
    config() {
      set("scheduler.policy", caf::atom("testing"));
      set("logger.console", caf::atom("none"));
      otpp::add_otpp_types(*this);
    }
  };

  deterministic()
    : sys(cfg), sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())), self(sys) {}

  /// Runs what is left, so that actors that have ended get cleaned up.
  ~deterministic() { sched.run(); }

  /// Runs every pending message (never fires timers).
  void run() { sched.run(); }

  /// Moves the clock forward, firing due timers, then runs.
  void advance(std::chrono::milliseconds d) {
    sched.advance_time(d);
    sched.run();
  }

  /// Requests `xs` from `dst` as the test's scoped actor, runs, and returns
  /// the reply (or the error; `caf::sec::request_timeout` if nothing came back).
  template <class T, class... Ts>
  caf::expected<T> ask(const caf::actor& dst, Ts&&... xs) {
    auto pending = self->request(dst, caf::infinite, std::forward<Ts>(xs)...);
    run();
    caf::expected<T> result{caf::sec::request_timeout};
    if (!self->mailbox().empty())
      pending.receive([&](T& value) { result = std::move(value); },
                      [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Runs one job: one message of one actor.
  bool step() { return sched.try_run_once(); }

  /// Monitors `who`, so that `exit_reason()` can tell how it ended.
  void watch(const caf::actor& who) { self->monitor(who); }

  /// The reason a watched actor ended with, if it has ended.
  std::optional<caf::error> exit_reason() {
    std::optional<caf::error> result;
    self->receive([&](caf::down_msg& msg) { result = msg.reason; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return result;
  }

  /// Asks `dst` to stop politely and runs until it has.
  void stop(const caf::actor& dst) {
    caf::anon_send_exit(dst, caf::exit_reason::user_shutdown);
    run();
  }

  config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
};

} // namespace otpp::test
