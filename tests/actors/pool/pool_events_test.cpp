#include <doctest/doctest.h>

#include "otpp/actors/perf/families.hpp"
#include "tests/actors/pool/pool_helpers.hpp"
#include "tests/support/event_capture.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace otpp::test;
using namespace std::chrono_literals;

namespace {

/// A counter or gauge series of the registry, or -1 without that series.
double metric(const perf::family& f, const perf::label_values& labels) {
  auto snap = perf::metrics().take_snapshot();
  auto* s = snap.find(f.name, labels);
  return s ? s->value : -1;
}

double exits(const std::string& pool, const std::string& reason) {
  return metric(perf::families::pool_worker_exits, {pool, reason});
}

double workers(const std::string& pool, const std::string& state) {
  return metric(perf::families::pool_workers, {pool, state});
}

pool_config named(pool_config config, std::string name) {
  config.name = std::move(name);
  return config;
}

std::vector<uint64_t> waiting_of(const event_capture& capture) {
  std::vector<uint64_t> out;
  for (auto& e : capture.of<events::pool_waiters>())
    out.push_back(e.waiting);
  return out;
}

} // namespace

TEST_SUITE("pool.events") {

TEST_CASE("started workers are pool_worker_started, an overflow worker says so, and its check-in is a dismissal") {
  pool_fx fx;
  event_capture capture;
  auto p = fx.pool(named(counted_pool(1, 1), "events.pool"));
  auto c = fx.caller(p);
  ask_checkout(fx, c);
  ask_checkout(fx, c); // an overflow worker
  REQUIRE(c.rec->held.size() == 2);
  auto started = capture.of<events::pool_worker_started>();
  REQUIRE(started.size() == 2);
  CHECK(started[0].pool == "events.pool");
  CHECK(started[0].worker == "test.counted#1");
  CHECK_FALSE(started[0].overflow);
  CHECK(started[1].worker == "test.counted#2");
  CHECK(started[1].overflow);
  give_back(fx, c, c.rec->held[1]);
  auto dismissed = capture.of<events::pool_worker_dismissed>();
  REQUIRE(dismissed.size() == 1);
  CHECK(dismissed[0].pool == "events.pool");
  CHECK(dismissed[0].why == "overflow_checked_in");
  CHECK(exits("events.pool", "dismissed") == 1);
  CHECK(exits("events.pool", "crash") == 0);
  CHECK(capture.of<events::pool_worker_exited>().empty()); // a dismissed worker's end is no exit
}

TEST_CASE("an overflow worker a thread checks in is dismissed by the checkout actor") {
  pool_fx fx;
  event_capture capture;
  auto p = fx.pool(named(counted_pool(0, 1), "events.thread"));
  auto held = p.checkout(false); // started on this thread
  REQUIRE(held);
  fx.run();
  REQUIRE(capture.of<events::pool_worker_started>().size() == 1);
  CHECK(capture.of<events::pool_worker_started>()[0].overflow);
  held->release();
  fx.run();
  REQUIRE(capture.of<events::pool_worker_dismissed>().size() == 1);
  CHECK(exits("events.thread", "dismissed") == 1);
  CHECK(counted_live == 0);
}

TEST_CASE("a crashed worker is pool_worker_exited with cause crash, one stopped with shutdown has cause normal") {
  pool_fx fx;
  event_capture capture;
  auto p = fx.pool(named(counted_pool(2, 0), "events.crash"));
  auto idle = p.idle_workers();
  REQUIRE(idle);
  REQUIRE(idle->size() == 2);
  caf::anon_send_exit((*idle)[0], caf::exit_reason::kill);
  fx.run();
  caf::anon_send_exit((*idle)[1], caf::exit_reason::user_shutdown);
  fx.run();
  auto exited = capture.of<events::pool_worker_exited>();
  REQUIRE(exited.size() == 2);
  CHECK(exited[0].pool == "events.crash");
  CHECK(exited[0].cause == "crash");
  CHECK(exited[0].reason == "killed");
  CHECK(exited[1].cause == "normal");
  CHECK(exited[1].reason == "shutdown");
  CHECK(exits("events.crash", "crash") == 1); // a normal end is not a crash
  CHECK(capture.of<events::pool_worker_started>().size() == 4); // two at start, two replacements
  CHECK(counted_live == 2);
}

TEST_CASE("exits are counted by reason: crash (also released as broken), dismissed and failed_start") {
  pool_fx fx;
  register_failing_kind("test.failing_events", 2);
  auto config = named(counted_pool(2, 1), "events.exits");
  config.worker = "test.failing_events";
  config.start_backoff = supervision::backoff_options{100ms, 100ms, 1.0, 0.0, 0ms};
  auto p = fx.pool(config);
  CHECK(exits("events.exits", "failed_start") == 2);
  fx.advance(100ms); // both retried, and started
  CHECK(p.status().idle == 2);
  auto broken = p.checkout(false);
  REQUIRE(broken);
  broken->fail();
  fx.run();
  auto idle = p.idle_workers();
  REQUIRE(idle);
  REQUIRE_FALSE(idle->empty());
  caf::anon_send_exit(idle->front(), caf::exit_reason::kill);
  fx.run();
  auto a = p.checkout(false);
  auto b = p.checkout(false);
  auto extra = p.checkout(false); // overflow
  REQUIRE(extra);
  extra->release();
  fx.run();
  CHECK(exits("events.exits", "crash") == 2);
  CHECK(exits("events.exits", "dismissed") == 1);
  CHECK(exits("events.exits", "failed_start") == 2);
  SUBCASE("the series end with the pool") {
    a->release();
    b->release();
    fx.stop(p.actor());
    CHECK(exits("events.exits", "crash") == -1);
    CHECK(workers("events.exits", "idle") == -1);
  }
}

TEST_CASE("idle, busy and overflow split the live workers, while poolboy's status counts overflow inside busy") {
  pool_fx fx;
  auto p = fx.pool(named(counted_pool(2, 2), "events.gauges"));
  auto c = fx.caller(p);
  ask_checkout(fx, c);
  CHECK(workers("events.gauges", "idle") == 1);
  CHECK(workers("events.gauges", "busy") == 1);
  CHECK(workers("events.gauges", "overflow") == 0);
  ask_checkout(fx, c);
  ask_checkout(fx, c); // an overflow worker
  REQUIRE(c.rec->held.size() == 3);
  CHECK(workers("events.gauges", "idle") == 0);
  CHECK(workers("events.gauges", "busy") == 2);
  CHECK(workers("events.gauges", "overflow") == 1);
  CHECK(status_line(fx.status(p)) == "overflow idle=0 overflow=1 busy=3 waiting=0");
  give_back(fx, c, c.rec->held[0]); // dismissed: overflow > 0
  CHECK(workers("events.gauges", "busy") == 2);
  CHECK(workers("events.gauges", "overflow") == 0);
  CHECK(metric(perf::families::pool_waiting, {"events.gauges"}) == 0);
}

TEST_CASE("a queue that fills and drains is two pool_waiters events, not one per caller") {
  pool_fx fx;
  event_capture capture;
  auto p = fx.pool(named(counted_pool(1, 0), "events.waiters"));
  auto holder = fx.caller(p);
  ask_checkout(fx, holder);
  auto first = fx.caller(p);
  auto second = fx.caller(p);
  ask_checkout(fx, first);
  ask_checkout(fx, second);
  CHECK(fx.status(p).waiting == 2);
  CHECK(metric(perf::families::pool_waiting, {"events.waiters"}) == 2);
  CHECK(waiting_of(capture) == std::vector<uint64_t>{1});
  give_back(fx, holder, holder.rec->held[0]); // to the first waiter
  CHECK(waiting_of(capture) == std::vector<uint64_t>{1});
  give_back(fx, first, first.rec->held[0]); // to the second: the queue is empty
  REQUIRE(second.rec->held.size() == 1);
  CHECK(waiting_of(capture) == std::vector<uint64_t>{1, 0});
  auto events = capture.of<events::pool_waiters>();
  CHECK(events[0].pool == "events.waiters");
  give_back(fx, second, second.rec->held[0]);
  ask_checkout(fx, holder); // a worker is idle: no queue, no event
  CHECK(waiting_of(capture) == std::vector<uint64_t>{1, 0});
}

TEST_CASE("the last waiter timing out empties the queue: pool_waiters says 0") {
  pool_fx fx;
  event_capture capture;
  auto p = fx.pool(named(counted_pool(1, 0), "events.expire"));
  auto held = p.checkout(false);
  REQUIRE(held);
  auto c = fx.caller(p);
  ask_checkout(fx, c, true, 100ms);
  CHECK(waiting_of(capture) == std::vector<uint64_t>{1});
  fx.advance(100ms);
  REQUIRE(c.rec->errors.size() == 1);
  CHECK(waiting_of(capture) == std::vector<uint64_t>{1, 0});
}

TEST_CASE("a worker that fails to start is pool_start_error with the kind and the reason") {
  pool_fx fx;
  event_capture capture;
  register_failing_kind("test.failing_start_event", 1);
  pool_config config;
  config.name = "events.start";
  config.size = 1;
  config.max_overflow = 0;
  config.worker = "test.failing_start_event";
  auto p = fx.pool(config);
  auto failed = capture.of<events::pool_start_error>();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].pool == "events.start");
  CHECK(failed[0].worker_kind == "test.failing_start_event");
  CHECK(failed[0].reason == "start_failed: scripted start failure");
  CHECK(exits("events.start", "failed_start") == 1);
}

}
