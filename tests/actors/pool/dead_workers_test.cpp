// Workers that end before the checkout actor has heard of it (their down
// message still queued) are never handed out, and are replaced once it has.
// On the deterministic scheduler: `kill_now` runs only the worker's exit, so
// that its down message waits at the pool.
#include <doctest/doctest.h>

#include "otpp/config/loader.hpp"
#include "otpp/supervision/exceptions.hpp"
#include "tests/actors/pool/pool_helpers.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace otpp::test;
using namespace std::chrono_literals;

namespace {

struct dead_fx : pool_fx {
  /// Kills `w` and runs its exit only: the down message is queued at the pool, not handled.
  void kill_now(const caf::actor& w) {
    caf::anon_send_exit(w, caf::exit_reason::kill);
    REQUIRE(sched.try_run_once_lifo());
    REQUIRE(exit_reason_of(w));
  }
};

bool ended(const caf::actor& w) {
  return exit_reason_of(w).has_value();
}

} // namespace

TEST_SUITE("pool.dead_workers") {

TEST_CASE("a thread's checkout skips an idle worker that ended before the pool heard of it") {
  dead_fx fx;
  auto p = fx.pool(counted_pool(2, 0));
  auto idle = p.idle_workers();
  REQUIRE(idle);
  auto victim = idle->front(); // the next one to be checked out
  fx.kill_now(victim);
  auto held = p.checkout(false);
  REQUIRE(held);
  CHECK(held->worker() != victim);
  CHECK_FALSE(ended(held->worker()));
  CHECK(status_line(p.status()) == "full idle=0 overflow=0 busy=1 waiting=0");
  fx.run(); // the down message: the dead worker is replaced
  CHECK(status_line(p.status()) == "ready idle=1 overflow=0 busy=1 waiting=0");
  CHECK(counted_live == 2);
}

TEST_CASE("a thread's non-blocking checkout answers full when the only idle worker has ended") {
  dead_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  fx.kill_now(p.idle_workers()->front());
  auto none = p.checkout(false);
  REQUIRE_FALSE(none);
  CHECK(supervision::describe(none.error()) == "full");
  fx.run();
  auto held = p.checkout(false);
  REQUIRE(held);
  CHECK_FALSE(ended(held->worker()));
}

TEST_CASE("an actor's try_checkout skips an idle worker that ended before the pool heard of it") {
  dead_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  fx.kill_now(p.idle_workers()->front());
  auto got = std::make_shared<std::vector<caf::expected<caf::actor>>>();
  auto taker = supervision::spawn_keeping_exceptions(fx.sys, [p, got](caf::event_based_actor* self) -> caf::behavior {
    return {[=](int) { got->push_back(p.try_checkout(caf::actor_cast<caf::actor>(self))); }};
  });
  fx.owned.push_back(taker);
  caf::anon_send(taker, 1);
  REQUIRE(fx.sched.try_run_once_lifo()); // the taker runs before the pool handles the down message
  REQUIRE(got->size() == 1);
  REQUIRE_FALSE(got->front());
  CHECK(supervision::describe(got->front().error()) == "full: no idle worker");
  fx.run();
  caf::anon_send(taker, 1);
  fx.run();
  REQUIRE(got->size() == 2);
  REQUIRE(got->back());
  CHECK_FALSE(ended(*got->back()));
}

TEST_CASE("a checkout request handled before the down message of the idle worker it would get is not given that worker") {
  dead_fx fx;
  auto p = fx.pool(counted_pool(2, 0));
  auto c = fx.caller(p);
  auto victim = p.idle_workers()->front();
  caf::anon_send(c.actor, checkout_atom::value, true, std::chrono::milliseconds{1000});
  REQUIRE(fx.step()); // the client sends its request: queued at the pool
  fx.kill_now(victim); // the down message queues behind the request
  fx.run();
  REQUIRE(c.rec->held.size() == 1);
  CHECK(c.rec->held[0] != victim);
  CHECK_FALSE(ended(c.rec->held[0]));
  CHECK(status_line(*fx.ask<pool_status>(p.actor(), status_atom::value)) == "ready idle=1 overflow=0 busy=1 waiting=0");
}

TEST_CASE("a worker checked in after it ended is not handed to a waiter, which gets its replacement") {
  dead_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  auto waiter = fx.caller(p);
  auto held = p.checkout(false);
  REQUIRE(held);
  auto victim = held->worker();
  ask_checkout(fx, waiter);
  CHECK(p.status().waiting == 1);
  fx.kill_now(victim);
  held->release(); // on this thread, before the pool handles the down message
  fx.run();
  REQUIRE(waiter.rec->held.size() == 1);
  CHECK(waiter.rec->held[0] != victim);
  CHECK_FALSE(ended(waiter.rec->held[0]));
  CHECK(status_line(p.status()) == "full idle=0 overflow=0 busy=1 waiting=0");
  CHECK(counted_live == 1);
}

TEST_CASE("a worker that ends on its way to a waiting actor is replaced for that waiter") {
  dead_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  auto waiter = fx.caller(p);
  auto held = p.checkout(false);
  REQUIRE(held);
  auto victim = held->worker();
  ask_checkout(fx, waiter);
  held->release();     // the book hands it to the waiter: a handover is queued at the pool
  fx.kill_now(victim); // and the worker ends before the pool delivers it
  fx.run();
  REQUIRE(waiter.rec->held.size() == 1);
  CHECK(waiter.rec->held[0] != victim);
  CHECK_FALSE(ended(waiter.rec->held[0]));
  CHECK(waiter.rec->errors.empty());
  CHECK(status_line(p.status()) == "full idle=0 overflow=0 busy=1 waiting=0");
  CHECK(counted_live == 1);
}

TEST_CASE("a pool of size 0 without overflow is accepted and answers full to every checkout") {
  dead_fx fx;
  auto p = fx.pool(counted_pool(0, 0));
  CHECK(status_line(p.status()) == "full idle=0 overflow=0 busy=0 waiting=0");
  auto thread_call = p.checkout(true, 100ms);
  REQUIRE_FALSE(thread_call);
  CHECK(supervision::describe(thread_call.error()) == "full");
  auto c = fx.caller(p);
  ask_checkout(fx, c, true, 100ms);
  ask_checkout(fx, c, false);
  REQUIRE(c.rec->errors.size() == 2);
  CHECK(supervision::describe(c.rec->errors[0]) == "full: pool 'test.pool'");
  CHECK(supervision::describe(c.rec->errors[1]) == "full: pool 'test.pool'");
  CHECK(c.rec->held.empty());
  CHECK(status_line(p.status()) == "full idle=0 overflow=0 busy=0 waiting=0");
  CHECK(counted_live == 0);
}

TEST_CASE("a TOML pool of size 0 without overflow loads") {
  auto r = config::load_string(R"([pools.never]
size = 0
max_overflow = 0
)", "zero.toml");
  for (auto& problem : r.problems)
    FAIL_CHECK(problem.to_string());
  REQUIRE(r.config);
  REQUIRE(r.config->pools.size() == 1);
  CHECK(r.config->pools[0].config.size == 0);
  CHECK(r.config->pools[0].config.max_overflow == 0);
  CHECK_FALSE(validate(r.config->pools[0].config));
}

}
