#include <doctest/doctest.h>

#include "otpp/supervision/exceptions.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "tests/actors/pool/pool_helpers.hpp"
#include "tests/support/event_capture.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace otpp::test;
using namespace std::chrono_literals;

TEST_SUITE("pool.actor") {

TEST_CASE("defaults are poolboy's: size 5, max_overflow 10, lifo") {
  pool_config config;
  CHECK(config.size == 5);
  CHECK(config.max_overflow == 10);
  CHECK(config.strategy == pool_strategy::lifo);
}

TEST_CASE("at start the pool runs size idle workers") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(3, 2));
  CHECK(status_line(fx.status(p)) == "ready idle=3 overflow=0 busy=0 waiting=0");
  CHECK(counted_live == 3);
  auto s = fx.status(p);
  CHECK(s.size == 3);
  CHECK(s.max_overflow == 2);
}

TEST_CASE("an actor checks a worker out and in") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(2, 0));
  auto c = fx.caller(p);
  ask_checkout(fx, c);
  REQUIRE(c.rec->held.size() == 1);
  CHECK(status_line(fx.status(p)) == "ready idle=1 overflow=0 busy=1 waiting=0");
  give_back(fx, c, c.rec->held[0]);
  CHECK(status_line(fx.status(p)) == "ready idle=2 overflow=0 busy=0 waiting=0");
}

TEST_CASE("a thread checks out through the fast path and the lease checks in") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  {
    auto held = p.checkout(false);
    REQUIRE(held);
    CHECK(held->worker());
    CHECK(status_line(p.status()) == "full idle=0 overflow=0 busy=1 waiting=0");
    auto none = p.checkout(false);
    REQUIRE_FALSE(none);
    CHECK(supervision::describe(none.error()) == "full");
  }
  CHECK(status_line(p.status()) == "ready idle=1 overflow=0 busy=0 waiting=0");
}

TEST_CASE("an actor takes an idle worker without a round trip and the pool takes it back when the actor dies") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  auto got = std::make_shared<std::vector<caf::error>>();
  auto taker = supervision::spawn_keeping_exceptions(fx.sys, [p, got](caf::event_based_actor* self) -> caf::behavior {
    return {[=](int) {
      auto first = p.try_checkout(caf::actor_cast<caf::actor>(self));
      auto second = p.try_checkout(caf::actor_cast<caf::actor>(self));
      got->push_back(first ? caf::error{} : first.error());
      got->push_back(second ? caf::error{} : second.error());
    }};
  });
  fx.owned.push_back(taker);
  caf::anon_send(taker, 1);
  fx.run();
  REQUIRE(got->size() == 2);
  CHECK_FALSE((*got)[0]);
  CHECK(supervision::describe((*got)[1]) == "full: no idle worker");
  CHECK(status_line(p.status()) == "full idle=0 overflow=0 busy=1 waiting=0");
  caf::anon_send_exit(taker, caf::exit_reason::kill);
  fx.run();
  CHECK(status_line(p.status()) == "ready idle=1 overflow=0 busy=0 waiting=0");
}

TEST_CASE("without an idle worker an overflow worker is started, and dismissed on checkin") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(1, 1));
  auto c = fx.caller(p);
  ask_checkout(fx, c);
  ask_checkout(fx, c, false); // non-blocking still gets an overflow worker
  REQUIRE(c.rec->held.size() == 2);
  CHECK(status_line(fx.status(p)) == "full idle=0 overflow=1 busy=2 waiting=0");
  CHECK(counted_live == 2);
  give_back(fx, c, c.rec->held[1]);
  CHECK(status_line(fx.status(p)) == "overflow idle=0 overflow=0 busy=1 waiting=0");
  CHECK(counted_live == 1);
}

TEST_CASE("at capacity a non-blocking checkout gets full and blocking ones queue in FIFO order") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  auto holder = fx.caller(p);
  auto first = fx.caller(p);
  auto second = fx.caller(p);
  ask_checkout(fx, holder);
  ask_checkout(fx, first, false);
  REQUIRE(first.rec->errors.size() == 1);
  CHECK(supervision::describe(first.rec->errors[0]) == "full: pool 'test.pool'");
  ask_checkout(fx, first);
  ask_checkout(fx, second);
  CHECK(fx.status(p).waiting == 2);
  auto w = holder.rec->held[0];
  give_back(fx, holder, w);
  REQUIRE(first.rec->held.size() == 1);
  CHECK(first.rec->held[0] == w); // the oldest waiter gets this same worker
  CHECK(second.rec->held.empty());
  CHECK(fx.status(p).waiting == 1);
}

TEST_CASE("a waiting caller times out with a timeout error and leaves the queue") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  auto holder = fx.caller(p);
  auto waiter = fx.caller(p);
  ask_checkout(fx, holder);
  ask_checkout(fx, waiter, true, 500ms);
  fx.advance(499ms);
  CHECK(waiter.rec->errors.empty());
  fx.advance(1ms);
  REQUIRE(waiter.rec->errors.size() == 1);
  CHECK(supervision::describe(waiter.rec->errors[0]) == "timeout: pool 'test.pool'");
  CHECK(fx.status(p).waiting == 0);
  give_back(fx, holder, holder.rec->held[0]);
  CHECK(status_line(fx.status(p)) == "ready idle=1 overflow=0 busy=0 waiting=0");
}

TEST_CASE("a worker handed over at the instant its waiter times out is not lost") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  auto waiter = fx.caller(p);
  auto held = p.checkout(false);
  REQUIRE(held);
  ask_checkout(fx, waiter, true, 500ms);
  fx.sched.advance_time(500ms); // the expiry is queued at the pool, not yet handled
  held->release();              // the book hands the worker to the waiter: a handover is queued too
  fx.run();
  REQUIRE(waiter.rec->errors.size() == 1);
  CHECK(waiter.rec->held.empty());
  CHECK(status_line(fx.status(p)) == "ready idle=1 overflow=0 busy=0 waiting=0");
}

TEST_CASE("a worker handed to a waiter that timed out and died is taken back once, not twice") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  auto doomed = fx.caller(p);
  auto held = p.checkout(false);
  REQUIRE(held);
  ask_checkout(fx, doomed, true, 500ms);
  fx.sched.advance_time(500ms);  // the waiter's expiry is queued at the pool
  caf::anon_send_exit(doomed.actor, caf::exit_reason::kill);
  REQUIRE(fx.sched.try_run_once_lifo()); // the caller dies first: its down queues behind the expiry
  held->release();                       // the book hands the worker to the dead waiter: a handover queues last
  REQUIRE(fx.step());                    // expiry: the waiter is answered with timeout
  REQUIRE(fx.step());                    // down: the pool takes the worker back
  auto other = p.checkout(false);
  REQUIRE(other);                        // someone else takes it
  fx.run();                              // the stale handover must not check it in again
  CHECK(status_line(p.status()) == "full idle=0 overflow=0 busy=1 waiting=0");
  other->release();
  CHECK(status_line(p.status()) == "ready idle=1 overflow=0 busy=0 waiting=0");
}

TEST_CASE("a non-blocking checkout whose overflow worker fails to start fails at once and gives the slot back") {
  pool_fx fx;
  auto starts = std::make_shared<int>(0);
  register_worker_kind("test.one_then_fail", {}, [starts](supervision::start_context& ctx, const worker_args&)
                                               -> caf::expected<caf::actor> {
    if ((*starts)++ > 0)
      return supervision::make_error(supervision::errc::start_failed, "scripted");
    return ctx.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x; }}; });
  });
  pool_config config;
  config.name = "overflow.failing";
  config.size = 1;
  config.max_overflow = 1;
  config.worker = "test.one_then_fail";
  auto p = fx.pool(config);
  auto held = p.checkout(false);
  REQUIRE(held);
  auto none = p.checkout(false);
  REQUIRE_FALSE(none);
  CHECK(supervision::describe(none.error()).rfind("full: the overflow worker failed to start", 0) == 0);
  CHECK(status_line(p.status()) == "overflow idle=0 overflow=0 busy=1 waiting=0");
}

TEST_CASE("a caller actor that dies gives back the workers it held and leaves the queue") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(2, 0));
  auto doomed = fx.caller(p);
  auto patient = fx.caller(p);
  ask_checkout(fx, doomed);
  ask_checkout(fx, doomed);
  ask_checkout(fx, doomed);
  CHECK(status_line(fx.status(p)) == "full idle=0 overflow=0 busy=2 waiting=1");
  caf::anon_send_exit(doomed.actor, caf::exit_reason::kill);
  fx.run();
  CHECK(status_line(fx.status(p)) == "ready idle=2 overflow=0 busy=0 waiting=0");
  ask_checkout(fx, patient);
  CHECK(patient.rec->held.size() == 1);
}

TEST_CASE("an idle worker that crashes is replaced at the head of the idle list") {
  pool_fx fx;
  event_capture capture;
  auto p = fx.pool(counted_pool(3, 0, pool_strategy::fifo));
  auto c = fx.caller(p);
  ask_checkout(fx, c);
  auto first = c.rec->held[0];
  give_back(fx, c, first); // fifo: now at the tail
  ask_checkout(fx, c);
  auto victim = c.rec->held[0];
  give_back(fx, c, victim);
  caf::anon_send_exit(victim, caf::exit_reason::kill);
  fx.run();
  CHECK(status_line(fx.status(p)) == "ready idle=3 overflow=0 busy=0 waiting=0");
  CHECK(counted_live == 3);
  ask_checkout(fx, c);
  auto replacement = c.rec->held[0];
  CHECK(replacement != first);
  CHECK(replacement != victim);
  auto exited = capture.of<events::pool_worker_exited>();
  REQUIRE(exited.size() == 1);
  CHECK(exited[0].cause == "crash");
  CHECK(exited[0].reason == "killed");
  CHECK(capture.of<events::pool_worker_started>().size() == 4);
}

TEST_CASE("a checked-out worker that crashes: the oldest waiter gets a new worker") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  auto holder = fx.caller(p);
  auto waiter = fx.caller(p);
  ask_checkout(fx, holder);
  ask_checkout(fx, waiter);
  caf::anon_send_exit(holder.rec->held[0], caf::exit_reason::kill);
  fx.run();
  REQUIRE(waiter.rec->held.size() == 1);
  CHECK(waiter.rec->held[0] != holder.rec->held[0]);
  CHECK(status_line(fx.status(p)) == "full idle=0 overflow=0 busy=1 waiting=0");
}

TEST_CASE("a checked-out worker that crashes with overflow and no waiter is not replaced") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(1, 1));
  auto c = fx.caller(p);
  ask_checkout(fx, c);
  ask_checkout(fx, c);
  caf::anon_send_exit(c.rec->held[0], caf::exit_reason::kill);
  fx.run();
  CHECK(status_line(fx.status(p)) == "overflow idle=0 overflow=0 busy=1 waiting=0");
  CHECK(counted_live == 1);
}

TEST_CASE("a checked-out worker that crashes otherwise gets an idle replacement") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(2, 0));
  auto c = fx.caller(p);
  ask_checkout(fx, c);
  caf::anon_send_exit(c.rec->held[0], caf::exit_reason::kill);
  fx.run();
  CHECK(status_line(fx.status(p)) == "ready idle=2 overflow=0 busy=0 waiting=0");
  CHECK(counted_live == 2);
}

TEST_CASE("a lease released as failed stops its worker and a new one takes its place") {
  pool_fx fx;
  event_capture capture;
  auto p = fx.pool(counted_pool(1, 0));
  auto held = p.checkout(false);
  REQUIRE(held);
  auto broken = held->worker();
  held->fail();
  fx.run();
  CHECK(status_line(p.status()) == "ready idle=1 overflow=0 busy=0 waiting=0");
  auto next = p.checkout(false);
  REQUIRE(next);
  CHECK(next->worker() != broken);
  CHECK(counted_live == 1);
  auto exited = capture.of<events::pool_worker_exited>();
  REQUIRE(exited.size() == 1);
  CHECK(exited[0].cause == "crash");
  CHECK(exited[0].reason == "released as broken by its holder");
}

TEST_CASE("checking in an unknown, idle or dead worker changes nothing") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(2, 0));
  auto stranger = supervision::spawn_keeping_exceptions(
    fx.sys, [](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; });
  fx.owned.push_back(stranger);
  p.checkin(stranger);
  auto held = p.checkout(false);
  REQUIRE(held);
  auto other = p.checkout(false);
  REQUIRE(other);
  auto w = other->worker();
  other->release();
  p.checkin(w); // already idle
  CHECK(status_line(p.status()) == "ready idle=1 overflow=0 busy=1 waiting=0");
}

TEST_CASE("a transaction checks the worker in even when the function throws") {
  pool_fx fx;
  auto p = fx.pool(counted_pool(1, 0));
  auto answer = p.transaction([](const caf::actor& w) { return w ? 42 : 0; });
  REQUIRE(answer);
  CHECK(*answer == 42);
  CHECK_THROWS_AS(p.transaction([](const caf::actor&) -> int { throw std::logic_error("inside"); }),
                  std::logic_error);
  CHECK(status_line(p.status()) == "ready idle=1 overflow=0 busy=0 waiting=0");
  auto none = p.transaction([](const caf::actor&) {});
  CHECK_FALSE(none);
}

TEST_CASE("a worker that fails to start is reported and retried with backoff while the pool serves") {
  pool_fx fx;
  event_capture capture;
  register_failing_kind("test.failing_once", 1);
  pool_config config;
  config.name = "flaky";
  config.size = 3;
  config.max_overflow = 0;
  config.worker = "test.failing_once";
  config.start_backoff = supervision::backoff_options{100ms, 1000ms, 2.0, 0.0, 0ms};
  auto p = fx.pool(config);
  CHECK(capture.of<events::pool_start_error>().size() == 1);
  CHECK(status_line(p.status()) == "ready idle=2 overflow=0 busy=0 waiting=0");
  fx.advance(99ms);
  CHECK(p.status().idle == 2);
  fx.advance(1ms);
  CHECK(p.status().idle == 3);
}

TEST_CASE("an overflow worker that fails to start for a thread's checkout is reported as pool_start_error") {
  pool_fx fx;
  event_capture capture;
  register_failing_kind("test.failing_overflow", 1);
  pool_config config;
  config.name = "overflowing";
  config.size = 0;
  config.max_overflow = 1;
  config.worker = "test.failing_overflow";
  auto p = fx.pool(config);
  auto none = p.checkout(false); // on this thread: the start fails
  REQUIRE_FALSE(none);
  CHECK(supervision::describe(none.error()).find("full: the overflow worker failed to start") == 0);
  fx.sched.run();
  auto failed = capture.of<events::pool_start_error>();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].pool == "overflowing");
  CHECK(failed[0].worker_kind == "test.failing_overflow");
  auto later = p.checkout(false); // the kind starts workers now
  REQUIRE(later);
  later->release();
  fx.sched.run();
  CHECK(capture.of<events::pool_start_error>().size() == 1);
}

TEST_CASE("a pool that starts no worker at all for give_up_after exits with unavailable") {
  pool_fx fx;
  register_failing_kind("test.failing_always", 1000000);
  pool_config config;
  config.name = "hopeless";
  config.size = 2;
  config.worker = "test.failing_always";
  config.start_backoff = supervision::backoff_options{100ms, 100ms, 1.0, 0.0, 0ms};
  config.give_up_after = 1000ms;
  auto p = fx.pool(config);
  fx.watch(p.actor());
  fx.advance(900ms);
  CHECK_FALSE(fx.exit_reason());
  for (int i = 0; i < 3; ++i)
    fx.advance(100ms);
  auto reason = fx.exit_reason();
  REQUIRE(reason);
  CHECK(supervision::describe(*reason).rfind("unavailable: pool 'hopeless': no worker started for 1000 ms", 0) == 0);
  auto late = p.checkout(false);
  REQUIRE_FALSE(late);
  CHECK(supervision::describe(late.error()).rfind("closed", 0) == 0);
}

TEST_CASE("invalid pool configurations are rejected naming the field") {
  deterministic fx;
  pool_config config;
  auto r = pool::start_pool(fx.sys, config);
  REQUIRE_FALSE(r);
  CHECK(supervision::describe(r.error()) == "invalid_spec: pool '': name must not be empty");
  config.name = "p";
  config.worker = "nope";
  r = pool::start_pool(fx.sys, config);
  REQUIRE_FALSE(r);
  CHECK(supervision::describe(r.error()).find("unknown worker kind 'nope' (registered: ") != std::string::npos);
  config.worker = "sleep";
  config.args = {{{"delay_ms", std::string{"soon"}}}};
  r = pool::start_pool(fx.sys, config);
  REQUIRE_FALSE(r);
  CHECK(supervision::describe(r.error())
        == "invalid_spec: pool 'p': worker_args.delay_ms: must be an integer, got \"soon\"");
}

TEST_CASE("a pool given its factory in C++ starts its workers from it, with its arguments") {
  deterministic fx;
  pool_config config;
  config.name = "direct";
  config.size = 2;
  config.max_overflow = 0;
  config.worker = "no such kind: only a label here";
  config.args = {{{"offset", int64_t{40}}}};
  auto starts = std::make_shared<int>(0);
  config.factory = [starts](supervision::start_context& ctx, const worker_args& args) -> caf::expected<caf::actor> {
    ++*starts;
    auto offset = args.get_int("offset");
    return ctx.spawn([offset](caf::event_based_actor*) -> caf::behavior { return {[offset](int x) { return static_cast<int>(x + offset); }}; });
  };
  auto p = pool::start_pool(fx.sys, config);
  REQUIRE(p);
  fx.run();
  CHECK(*starts == 2);
  {
    auto held = p->checkout(false);
    REQUIRE(held);
    CHECK(*fx.ask<int>(held->worker(), 2) == 42);
  }
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
  fx.run();
}

TEST_CASE("a pool under a supervisor is found by name and comes back after a crash") {
  pool_fx fx;
  supervision::supervisor_config config;
  config.children = {pool_child(counted_pool(2, 0))};
  auto sup = supervision::start_supervisor(fx.sys, config);
  REQUIRE(sup);
  fx.owned.insert(fx.owned.begin(), *sup);
  fx.run();
  auto p = find_pool(fx.sys, "test.pool");
  REQUIRE(p);
  CHECK(p->status().idle == 2);
  caf::anon_send_exit(p->actor(), caf::exit_reason::kill);
  fx.run();
  auto again = find_pool(fx.sys, "test.pool");
  REQUIRE(again);
  CHECK(again->actor() != p->actor());
  CHECK(again->status().idle == 2);
  CHECK(counted_live == 2);
  CHECK_FALSE(p->checkout(false));
}

}

TEST_SUITE("pool.worker_kinds") {

TEST_CASE("echo answers with what it got and sleep answers after its delay") {
  deterministic fx;
  supervision::start_context ctx{fx.sys, nullptr, caf::message{}};
  auto echo = find_worker_kind("echo")->start(ctx, {});
  REQUIRE(echo);
  CHECK(*fx.ask<int>(*echo, 7) == 7);
  CHECK(*fx.ask<std::string>(*echo, std::string{"hi"}) == "hi");
  auto sleeper = find_worker_kind("sleep")->start(ctx, supervision::arguments{{{"delay_ms", int64_t{50}}}});
  REQUIRE(sleeper);
  auto pending = fx.self->request(*sleeper, caf::infinite, sleep_atom::value);
  fx.run();
  fx.advance(49ms);
  CHECK(fx.self->mailbox().empty());
  fx.advance(1ms);
  bool woke = false;
  pending.receive([&](sleep_atom) { woke = true; }, [](caf::error&) {});
  CHECK(woke);
  caf::anon_send_exit(*echo, caf::exit_reason::kill);
  caf::anon_send_exit(*sleeper, caf::exit_reason::kill);
  fx.run();
}

}
