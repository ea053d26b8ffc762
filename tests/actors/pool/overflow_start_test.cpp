// Overflow workers for actor callers are started by a helper, never inside
// the checkout actor's handler; poolboy's counting holds meanwhile.
#include <doctest/doctest.h>

#include "otpp/supervision/errors.hpp"
#include "tests/actors/pool/pool_helpers.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace otpp::test;
using namespace std::chrono_literals;

namespace {

struct start_fx : pool_fx {
  /// Has `c` send its checkout request and the pool handle it, nothing more.
  void checkout_handled(const client& c, bool block, std::chrono::milliseconds timeout) {
    caf::anon_send(c.actor, checkout_atom::value, block, timeout);
    REQUIRE(sched.try_run_once_lifo()); // the client sends its request
    REQUIRE(sched.try_run_once_lifo()); // the pool handles it
  }
};

} // namespace

TEST_SUITE("pool.overflow_start") {

TEST_CASE("the checkout actor hands an overflow start for an actor to a helper instead of running it") {
  start_fx fx;
  auto config = counted_pool(1, 1);
  auto starts = std::make_shared<int>(0);
  config.factory = [starts](supervision::start_context& ctx, const worker_args& args) -> caf::expected<caf::actor> {
    ++*starts;
    return find_worker_kind("test.counted")->start(ctx, args);
  };
  auto p = fx.pool(config);
  auto held = p.checkout(false);
  REQUIRE(held);
  auto c = fx.caller(p);
  fx.checkout_handled(c, true, 1000ms);
  CHECK(*starts == 1); // the pool's handler has returned and ran no factory
  CHECK(status_line(p.status()) == "full idle=0 overflow=1 busy=1 waiting=0");
  fx.run(); // the helper starts it and hands it over
  REQUIRE(c.rec->held.size() == 1);
  CHECK(*starts == 2);
  CHECK(counted_live == 2);
  CHECK(status_line(p.status()) == "full idle=0 overflow=1 busy=2 waiting=0");
}

TEST_CASE("a caller that times out while its overflow worker starts: the late worker is dismissed") {
  start_fx fx;
  auto p = fx.pool(counted_pool(1, 1));
  auto held = p.checkout(false);
  REQUIRE(held);
  auto c = fx.caller(p);
  fx.checkout_handled(c, true, 100ms);
  fx.sched.advance_time(100ms);          // the expiry is queued at the pool behind the helper
  REQUIRE(fx.sched.try_run_once_lifo()); // the pool answers timeout before the start ends
  fx.run();
  REQUIRE(c.rec->errors.size() == 1);
  CHECK(supervision::describe(c.rec->errors[0]) == "timeout: pool 'test.pool'");
  CHECK(c.rec->held.empty());
  CHECK(status_line(p.status()) == "overflow idle=0 overflow=0 busy=1 waiting=0");
  CHECK(counted_live == 1);
  held->release();
  CHECK(status_line(p.status()) == "ready idle=1 overflow=0 busy=0 waiting=0");
}

TEST_CASE("a late overflow worker goes to the oldest waiter when its caller has gone") {
  start_fx fx;
  auto p = fx.pool(counted_pool(1, 1));
  auto held = p.checkout(false);
  REQUIRE(held);
  auto gone = fx.caller(p);
  auto patient = fx.caller(p);
  fx.checkout_handled(gone, true, 1000ms);
  fx.checkout_handled(patient, true, 1000ms); // overflow is at its maximum: queued
  caf::anon_send_exit(gone.actor, caf::exit_reason::kill);
  REQUIRE(fx.sched.try_run_once_lifo()); // the caller dies
  REQUIRE(fx.sched.try_run_once_lifo()); // the pool hears of it before the start ends
  fx.run();
  REQUIRE(patient.rec->held.size() == 1);
  CHECK(status_line(p.status()) == "full idle=0 overflow=1 busy=2 waiting=0");
}

TEST_CASE("an actor's non-blocking checkout whose overflow worker fails to start answers full and gives the slot back") {
  start_fx fx;
  auto config = counted_pool(1, 1);
  auto starts = std::make_shared<int>(0);
  config.factory = [starts](supervision::start_context& ctx, const worker_args& args) -> caf::expected<caf::actor> {
    if ((*starts)++ > 0)
      return supervision::make_error(supervision::errc::start_failed, "scripted");
    return find_worker_kind("test.counted")->start(ctx, args);
  };
  auto p = fx.pool(config);
  auto held = p.checkout(false);
  REQUIRE(held);
  auto c = fx.caller(p);
  ask_checkout(fx, c, false);
  REQUIRE(c.rec->errors.size() == 1);
  CHECK(supervision::describe(c.rec->errors[0])
        == "full: pool 'test.pool': the overflow worker failed to start: start_failed: scripted");
  CHECK(status_line(p.status()) == "overflow idle=0 overflow=0 busy=1 waiting=0");
}

}
