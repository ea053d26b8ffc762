#include <doctest/doctest.h>

#include <atomic>

#include <caf/event_based_actor.hpp>

#include "otpp/actors/breaker/breaker_owner.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/registry.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "tests/support/deterministic.hpp"
#include "tests/support/event_capture.hpp"

using namespace otpp;
using namespace otpp::breaker;
using namespace std::chrono_literals;

namespace {

struct fake_clock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(1'000'000);
  circuit_breaker::clock fn() const {
    return [t = now] { return t->load(); };
  }
};

breaker_config config_named(const std::string& name) {
  breaker_config c;
  c.name = name;
  c.window_size = 2;
  c.minimum_calls = 2;
  c.wait_in_open = 1000ms;
  c.half_open_permits = 1;
  return c;
}

void trip(circuit_breaker& b) {
  for (int i = 0; i < 2; ++i)
    if (auto p = b.try_acquire())
      b.on_error(*p, 1ms);
  REQUIRE(b.state() == breaker_state::open);
}

// Moves the breaker's clock and CAF's test clock together.
void advance(test::deterministic& fx, const fake_clock& clock, std::chrono::milliseconds d) {
  *clock.now += d.count();
  fx.advance(d);
}

} // namespace

TEST_SUITE("breaker.owner") {

TEST_CASE("the owner moves OPEN to HALF_OPEN on its timer with automatic_half_open, and emits state changes") {
  test::deterministic fx;
  test::event_capture events;
  fake_clock clock;
  auto config = config_named("payments");
  config.automatic_half_open = true;
  supervision::supervisor_config root;
  root.children = {breaker_child(config, clock.fn())};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto b = find_breaker(fx.sys, "payments");
  REQUIRE(b);
  trip(**b);
  fx.run(); // the owner hears of the transition and arms its timer
  advance(fx, clock, 999ms);
  CHECK((*b)->state() == breaker_state::open);
  advance(fx, clock, 1ms);
  CHECK((*b)->state() == breaker_state::half_open); // no call was needed
  auto changes = events.of<events::breaker_state_changed>();
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].breaker == "payments");
  CHECK(changes[0].from == "closed");
  CHECK(changes[0].to == "open");
  CHECK(changes[1].breaker == "payments");
  CHECK(changes[1].from == "open");
  CHECK(changes[1].to == "half_open");
  fx.stop(*sup);
  CHECK_FALSE(find_breaker(fx.sys, "payments"));
}

TEST_CASE("reconfigure_breaker keeps the state and re-arms the owner's timer for a shorter wait") {
  test::deterministic fx;
  fake_clock clock;
  auto config = config_named("ledger");
  config.automatic_half_open = true;
  supervision::supervisor_config root;
  root.children = {breaker_child(config, clock.fn())};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto b = *find_breaker(fx.sys, "ledger");
  trip(*b);
  fx.run(); // the timer is armed for 1000 ms
  advance(fx, clock, 100ms);
  config.wait_in_open = 300ms;
  REQUIRE_FALSE(reconfigure_breaker(fx.sys, config));
  fx.run();
  CHECK(b->state() == breaker_state::open);
  advance(fx, clock, 199ms);
  CHECK(b->state() == breaker_state::open);
  advance(fx, clock, 1ms); // 300 ms since it opened, long before the old 1000 ms
  CHECK(b->state() == breaker_state::half_open);
  config.name = "nobody";
  CHECK(supervision::describe(reconfigure_breaker(fx.sys, config)).find("no running breaker 'nobody'") != std::string::npos);
  fx.stop(*sup);
}

TEST_CASE("the owner sends a HALF_OPEN breaker back to OPEN after max_wait_in_half_open") {
  test::deterministic fx;
  fake_clock clock;
  auto config = config_named("search");
  config.max_wait_in_half_open = 500ms;
  supervision::supervisor_config root;
  root.children = {breaker_child(config, clock.fn())};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto b = *find_breaker(fx.sys, "search");
  trip(*b);
  *clock.now += 1001;
  auto p = b->try_acquire(); // HALF_OPEN; this caller never reports
  REQUIRE(p);
  fx.run();
  advance(fx, clock, 500ms);
  CHECK(b->state() == breaker_state::open);
  fx.stop(*sup);
}

TEST_CASE("the owner exports the breaker's state, its calls by outcome and its rates, and they end with it") {
  test::deterministic fx;
  fake_clock clock;
  auto config = config_named("metered");
  config.window_size = 4;
  config.minimum_calls = 4;
  supervision::supervisor_config root;
  root.children = {breaker_child(config, clock.fn())};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto b = *find_breaker(fx.sys, "metered");
  auto value = [](const std::string& family, const perf::label_values& labels) {
    auto s = perf::metrics().take_snapshot();
    auto* x = s.find(family, labels);
    return x ? x->value : -1.0;
  };
  const std::string state = perf::families::breaker_state.name;
  const std::string calls = perf::families::breaker_calls.name;
  CHECK(value(state, {"metered", "closed"}) == 1);
  CHECK(value(state, {"metered", "open"}) == 0);
  CHECK(value(state, {"metered", "half_open"}) == 0);
  b->on_success(*b->try_acquire(), 1ms);
  b->on_success(*b->try_acquire(), 1ms);
  b->on_error(*b->try_acquire(), 1ms);
  CHECK(value(perf::families::breaker_failure_ratio.name, {"metered"}) == doctest::Approx(1.0 / 3));
  CHECK(value(perf::families::breaker_slow_call_ratio.name, {"metered"}) == 0);
  b->on_error(*b->try_acquire(), 1ms); // 2 of 4 failed: 50 %, the threshold
  REQUIRE(b->state() == breaker_state::open);
  CHECK_FALSE(b->try_acquire());
  CHECK_FALSE(b->try_acquire());
  CHECK_FALSE(b->try_acquire());
  CHECK(value(state, {"metered", "closed"}) == 0);
  CHECK(value(state, {"metered", "open"}) == 1);
  CHECK(value(state, {"metered", "half_open"}) == 0);
  CHECK(value(calls, {"metered", "success"}) == 2);
  CHECK(value(calls, {"metered", "failure"}) == 2);
  CHECK(value(calls, {"metered", "rejected"}) == 3);
  *clock.now += 1001;
  auto trial = b->try_acquire(); // HALF_OPEN
  REQUIRE(trial);
  CHECK(value(state, {"metered", "open"}) == 0);
  CHECK(value(state, {"metered", "half_open"}) == 1);
  b->force_open(); // shown as open
  CHECK(value(state, {"metered", "open"}) == 1);
  CHECK(value(state, {"metered", "half_open"}) == 0);
  b->disable(); // shown as closed
  CHECK(value(state, {"metered", "closed"}) == 1);
  CHECK(value(state, {"metered", "open"}) == 0);
  fx.stop(*sup);
  auto after = perf::metrics().take_snapshot();
  CHECK(after.find(state, {"metered", "closed"}) == nullptr);
  CHECK(after.find(calls, {"metered", "success"}) == nullptr);
  CHECK(after.find(perf::families::breaker_failure_ratio.name, {"metered"}) == nullptr);
}

TEST_CASE("a half-open permit held by an actor that dies without reporting is released") {
  test::deterministic fx;
  fake_clock clock;
  auto created = circuit_breaker::make(config_named("db"), clock.fn());
  REQUIRE(created);
  auto b = *created;
  trip(*b);
  *clock.now += 1001;
  auto p = b->try_acquire();
  REQUIRE(p);
  auto holder = fx.sys.spawn( // (a unit argument: CAF 0.17 trips UBSan on function actors without one)
    [b, p](caf::event_based_actor*, caf::unit_t) -> caf::behavior {
      auto held = std::make_shared<scoped_permit>(b, *p);
      return {[held](caf::ok_atom) {}};
    },
    caf::unit);
  fx.run();
  CHECK_FALSE(b->try_acquire()); // the only permit is held
  caf::anon_send_exit(holder, caf::exit_reason::kill);
  fx.run();
  CHECK(b->try_acquire()); // released as if ignored: HALF_OPEN is not stuck
}

TEST_CASE("a restarted owner starts a fresh CLOSED breaker") {
  test::deterministic fx;
  fake_clock clock;
  supervision::supervisor_config root;
  root.children = {breaker_child(config_named("mail"), clock.fn())};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto first = *find_breaker(fx.sys, "mail");
  trip(*first);
  caf::anon_send_exit(supervision::whereis(fx.sys, "mail"), caf::exit_reason::kill);
  fx.run();
  auto second = find_breaker(fx.sys, "mail");
  REQUIRE(second);
  CHECK(second->get() != first.get());
  CHECK((*second)->state() == breaker_state::closed);
  fx.stop(*sup);
}

TEST_CASE("an invalid breaker fails its owner's start with the reason") {
  test::deterministic fx;
  auto config = config_named("bad");
  config.half_open_permits = 0;
  supervision::supervisor_config root;
  root.children = {breaker_child(config)};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE_FALSE(sup);
  CHECK(supervision::describe(sup.error())
        == "start_failed: child 'bad': invalid_argument: breaker 'bad': half_open_permits must be >= 1");
}

}

TEST_SUITE("breaker.fuse") {

TEST_CASE("a fuse blows when more than max_melts melts happen within the period") {
  fake_clock clock;
  auto f = *fuse::make({"f", 2, 1000ms, 5000ms}, clock.fn());
  f->melt();
  f->melt();
  CHECK(f->ask()); // two melts are tolerated
  *clock.now += 1000;
  f->melt(); // the first two left the period
  CHECK(f->ask());
  *clock.now += 10;
  f->melt();
  CHECK(f->ask()); // two within the period
  f->melt();
  CHECK_FALSE(f->ask()); // three within the period: blown
}

TEST_CASE("a blown fuse heals after heal_after, and melts while blown do not extend it") {
  fake_clock clock;
  auto f = *fuse::make({"f", 0, 1000ms, 5000ms}, clock.fn());
  f->melt();
  CHECK_FALSE(f->ask());
  *clock.now += 4999;
  f->melt();
  CHECK_FALSE(f->ask());
  *clock.now += 1;
  CHECK(f->ask()); // healed 5000 ms after blowing, not after the later melt
  f->melt();
  CHECK_FALSE(f->ask()); // the history was cleared: one melt blows it again
  f->reset();
  CHECK(f->ask());
  f->disable();
  CHECK_FALSE(f->ask());
  *clock.now += 100000;
  CHECK_FALSE(f->ask()); // disabled stays blown
  f->enable();
  CHECK(f->ask());
}

TEST_CASE("a supervised fuse is found by name, and bad settings are refused") {
  test::deterministic fx;
  supervision::supervisor_config root;
  root.children = {fuse_child({"ldap", 3, 1000ms, 1000ms})};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto f = find_fuse(fx.sys, "ldap");
  REQUIRE(f);
  CHECK((*f)->ask());
  fx.stop(*sup);
  CHECK_FALSE(fuse::make({"x", 1, 0ms, 1000ms}, steady_ms));
}

}
