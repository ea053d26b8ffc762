#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>

#include "otpp/actors/events/log_sink.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/thread_call.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/event_capture.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/pool_kinds.hpp"
#include "tests/support/pool_load.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace std::chrono_literals;

using otpp::test::eventually;

namespace {

pool_config counted(std::string name, std::size_t size, std::size_t max_overflow) {
  test::register_counted_kind();
  pool_config config;
  config.name = std::move(name);
  config.size = size;
  config.max_overflow = max_overflow;
  config.worker = "test.counted";
  return config;
}

pool_config tagged(std::string name, std::size_t size, int64_t tag) {
  test::register_tagged_kind();
  pool_config config;
  config.name = std::move(name);
  config.size = size;
  config.max_overflow = 0;
  config.worker = "test.tagged";
  config.args = worker_args{{{"tag", supervision::argument_value{tag}}}};
  return config;
}

/// The workers' answer to an int: what a tagged worker was started with.
caf::error call(caf::scoped_actor& self, const caf::actor& worker) {
  auto r = thread_call<int>(self, worker, 5s, 1);
  return r ? caf::error{} : r.error();
}

double exits(const std::string& pool, const std::string& reason) {
  auto snap = perf::metrics().take_snapshot();
  auto* s = snap.find(perf::families::pool_worker_exits.name, {pool, reason});
  return s ? s->value : -1;
}

std::size_t dismissed_for(const test::event_capture& capture, const std::string& pool, const std::string& why) {
  auto all = capture.of<events::pool_worker_dismissed>();
  return static_cast<std::size_t>(
    std::count_if(all.begin(), all.end(), [&](auto& e) { return e.pool == pool && e.why == why; }));
}

std::size_t crashes_of(const test::event_capture& capture, const std::string& pool) {
  auto all = capture.of<events::pool_worker_exited>();
  return static_cast<std::size_t>(std::count_if(all.begin(), all.end(), [&](auto& e) { return e.pool == pool; }));
}

bool settled(const pool_ref& p, std::size_t size) {
  auto s = p.status();
  return s.idle == size && s.busy == 0 && s.overflow == 0 && s.waiting == 0;
}

/// Waits until `load` checked out `more` workers beyond what it had.
bool progresses(const test::checkout_load& load, long more) {
  auto from = load.done();
  return eventually([&] { return load.done() >= from + more; }, 30s);
}

} // namespace

TEST_SUITE("integration.pool.reconfigure") {

TEST_CASE("growing 3 to 6 under an 8-thread load: no checkout fails or waits past its timeout, the status reaches 6") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  events::disable_log();
  auto config = counted("reconf.grow", 3, 0);
  auto p = start_pool(sys, config);
  REQUIRE(p);
  {
    test::checkout_load load{sys, *p, 8, 2000ms, call};
    REQUIRE(progresses(load, 200));
    config.size = 6;
    REQUIRE_FALSE(reconfigure_pool(sys, config));
    CHECK(p->status().size == 6); // at once
    CHECK(progresses(load, 500));
    load.stop();
    INFO(load.first_failure());
    CHECK(load.failed() == 0);
    CHECK(load.longest_wait_ms() <= 2000);
  }
  CHECK(eventually([&] { return settled(*p, 6) && test::counted_live == 6; }, 30s));
  CHECK(exits("reconf.grow", "crash") == 0);
  events::configure_log({});
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("a thread waiting on a full pool gets a worker that a larger size starts") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto config = counted("reconf.grow_waiter", 1, 0);
  auto p = start_pool(sys, config);
  REQUIRE(p);
  auto held = p->checkout();
  REQUIRE(held);
  std::atomic<bool> served{false};
  std::thread waiter{[&] { served = static_cast<bool>(p->checkout(true, 10s)); }};
  REQUIRE(eventually([&] { return p->status().waiting == 1; }, 30s));
  config.size = 2;
  REQUIRE_FALSE(reconfigure_pool(sys, config));
  waiter.join(); // long before its timeout
  CHECK(served);
  CHECK(held); // still held: the waiter got the new worker
  held->release();
  CHECK(eventually([&] { return settled(*p, 2); }, 30s));
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("shrinking dismisses idle workers at once and checked-out ones as they are checked in") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  test::event_capture capture;
  auto config = counted("reconf.shrink_held", 6, 0);
  auto p = start_pool(sys, config);
  REQUIRE(p);
  std::vector<lease> held;
  for (int i = 0; i < 3; ++i) {
    auto l = p->checkout(false);
    REQUIRE(l);
    held.push_back(std::move(*l));
  }
  config.size = 2;
  REQUIRE_FALSE(reconfigure_pool(sys, config));
  auto s = p->status();
  CHECK(s.size == 2);
  CHECK(s.idle == 0); // the three idle ones went at once
  CHECK(s.busy == 3);
  std::atomic<bool> served{false};
  std::thread waiter{[&] { served = static_cast<bool>(p->checkout(true, 10s)); }};
  REQUIRE(eventually([&] { return p->status().waiting == 1; }, 30s));
  held[0].release(); // one too many: dismissed, the waiter waits on
  CHECK(p->status().busy == 2);
  CHECK(p->status().waiting == 1);
  held[1].release(); // within the size: to the waiter
  waiter.join();
  CHECK(served);
  held[2].release();
  CHECK(eventually([&] { return settled(*p, 2) && test::counted_live == 2; }, 30s));
  REQUIRE(capture.wait_for<events::pool_worker_dismissed>(4));
  CHECK(dismissed_for(capture, "reconf.shrink_held", "resized") == 4);
  CHECK(exits("reconf.shrink_held", "dismissed") == 4);
  CHECK(exits("reconf.shrink_held", "crash") == 0);
  CHECK(crashes_of(capture, "reconf.shrink_held") == 0); // dismissed workers are no exits, and none restarts
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("shrinking 6 to 2 under an 8-thread load: no checkout fails, the pool converges to 2 without restarts") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  events::disable_log();
  test::event_capture capture;
  auto config = counted("reconf.shrink", 6, 0);
  auto p = start_pool(sys, config);
  REQUIRE(p);
  {
    test::checkout_load load{sys, *p, 8, 2000ms, call};
    REQUIRE(progresses(load, 200));
    config.size = 2;
    REQUIRE_FALSE(reconfigure_pool(sys, config));
    CHECK(p->status().size == 2);
    CHECK(eventually([&] { return test::counted_live == 2; }, 30s)); // under load
    CHECK(progresses(load, 500));
    load.stop();
    INFO(load.first_failure());
    CHECK(load.failed() == 0);
    CHECK(load.longest_wait_ms() <= 2000);
  }
  CHECK(eventually([&] { return settled(*p, 2); }, 30s));
  CHECK(dismissed_for(capture, "reconf.shrink", "resized") == 4);
  CHECK(crashes_of(capture, "reconf.shrink") == 0);
  CHECK(exits("reconf.shrink", "crash") == 0);
  events::configure_log({});
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("max_overflow grows for a waiting thread and shrinks while overflow workers are checked out") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  test::event_capture capture;
  auto config = counted("reconf.overflow", 1, 1);
  auto p = start_pool(sys, config);
  REQUIRE(p);
  std::vector<lease> held;
  for (int i = 0; i < 2; ++i) { // the worker and one overflow worker
    auto l = p->checkout(false);
    REQUIRE(l);
    held.push_back(std::move(*l));
  }
  std::atomic<bool> served{false};
  std::thread waiter{[&] { served = static_cast<bool>(p->checkout(true, 10s)); }}; // checked in at once
  REQUIRE(eventually([&] { return p->status().waiting == 1; }, 30s));
  config.max_overflow = 3;
  REQUIRE_FALSE(reconfigure_pool(sys, config));
  waiter.join();
  CHECK(served); // an overflow worker was started for it
  CHECK(p->status().max_overflow == 3);
  auto third = p->checkout(false); // room for one more
  REQUIRE(third);
  held.push_back(std::move(*third));
  CHECK(p->status().overflow == 2);
  config.max_overflow = 0;
  REQUIRE_FALSE(reconfigure_pool(sys, config));
  auto s = p->status();
  CHECK(s.max_overflow == 0);
  CHECK(s.state == pool_state::full);
  CHECK_FALSE(p->checkout(false)); // no overflow beyond the new maximum
  held.clear(); // checked in: the overflow ones are dismissed
  CHECK(eventually([&] { return settled(*p, 1) && test::counted_live == 1; }, 30s));
  CHECK(crashes_of(capture, "reconf.overflow") == 0);
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("a new strategy applies to the next check-in") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto config = counted("reconf.strategy", 2, 0);
  auto p = start_pool(sys, config);
  REQUIRE(p);
  config.strategy = pool_strategy::fifo;
  REQUIRE_FALSE(reconfigure_pool(sys, config));
  auto first = p->checkout();
  REQUIRE(first);
  auto w = first->worker();
  first->release(); // to the tail
  auto idle = p->idle_workers();
  REQUIRE(idle);
  REQUIRE(idle->size() == 2);
  CHECK(idle->back() == w);
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("new worker args replace the workers one at a time under load, and none of the old ones remains") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  events::disable_log();
  test::event_capture capture;
  auto config = tagged("reconf.rolling", 4, 1);
  auto p = start_pool(sys, config);
  REQUIRE(p);
  REQUIRE(eventually([] { return test::tagged_live(1) == 4; }, 30s));
  std::atomic<int> fewest{4};
  std::atomic<bool> watching{true};
  std::thread watcher{[&] { // live workers, old and new, never fewer than size - 1
    while (watching) {
      auto live = test::tagged_live_all();
      for (int seen = fewest; live < seen && !fewest.compare_exchange_weak(seen, live);) {
      }
      std::this_thread::yield();
    }
  }};
  {
    test::checkout_load load{sys, *p, 8, 5000ms, call};
    REQUIRE(progresses(load, 200));
    config.args = worker_args{{{"tag", supervision::argument_value{int64_t{2}}}}};
    REQUIRE_FALSE(reconfigure_pool(sys, config));
    CHECK(eventually([] { return test::tagged_live(1) == 0 && test::tagged_live(2) == 4; }, 30s));
    CHECK(progresses(load, 200));
    load.stop();
    INFO(load.first_failure());
    CHECK(load.failed() == 0);
  }
  watching = false;
  watcher.join();
  CHECK(fewest.load() >= 3);
  CHECK(dismissed_for(capture, "reconf.rolling", "replaced") == 4);
  CHECK(crashes_of(capture, "reconf.rolling") == 0);
  CHECK(eventually([&] { return settled(*p, 4); }, 30s));
  caf::scoped_actor self{sys};
  for (int i = 0; i < 4; ++i) {
    auto l = p->checkout();
    REQUIRE(l);
    CHECK(thread_call<int>(self, l->worker(), 5s, 0) == 2);
  }
  events::configure_log({});
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("a successor that fails to start is retried after start_backoff while the old workers keep serving") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  test::event_capture capture;
  test::register_failing_kind("reconf.failing", 2);
  auto config = counted("reconf.retry", 2, 0);
  config.start_backoff = {20ms, 100ms, 2.0, 0.0, 0ms};
  auto p = start_pool(sys, config);
  REQUIRE(p);
  auto originals = p->idle_workers();
  REQUIRE(originals);
  config.worker = "reconf.failing";
  REQUIRE_FALSE(reconfigure_pool(sys, config));
  REQUIRE(capture.wait_for<events::pool_start_error>(2));
  auto s = p->status();
  CHECK(s.idle + s.busy >= 1); // one old worker serves while its peer's successor fails
  CHECK(p->checkout(true, 5s));
  bool replaced = eventually([&] {
    auto now = p->idle_workers();
    return now && now->size() == 2 && std::none_of(now->begin(), now->end(), [&](const caf::actor& w) {
             return std::find(originals->begin(), originals->end(), w) != originals->end();
           });
  }, 30s);
  CHECK(replaced);
  CHECK(dismissed_for(capture, "reconf.retry", "replaced") == 2);
  CHECK(exits("reconf.retry", "failed_start") == 2);
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("an invalid configuration is refused and changes nothing") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto config = tagged("reconf.invalid", 2, 1);
  auto p = start_pool(sys, config);
  REQUIRE(p);
  auto before = p->idle_workers();
  REQUIRE(before);
  auto refused = [&](pool_config next) {
    next.size = 5; // would change if accepted
    auto err = reconfigure_pool(sys, next);
    CHECK(err == validate(next));
    return supervision::describe(err);
  };
  auto bad = config;
  bad.give_up_after = 0ms;
  CHECK(refused(bad).find("give_up_after must be > 0 ms") != std::string::npos);
  bad = config;
  bad.worker = "no.such.kind";
  CHECK(refused(bad).find("no.such.kind") != std::string::npos);
  bad = config;
  bad.args = worker_args{{{"tag", supervision::argument_value{std::string{"two"}}}}};
  CHECK(refused(bad).find("worker_args.tag") != std::string::npos);
  auto s = p->status();
  CHECK(s.size == 2);
  CHECK(s.idle == 2);
  CHECK(p->idle_workers() == before);
  CHECK(test::tagged_live(1) == 2);
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("an unknown pool is not_found") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto err = reconfigure_pool(sys, counted("reconf.nobody", 1, 0));
  CHECK(err == supervision::make_error(supervision::errc::not_found, "no running pool 'reconf.nobody'"));
}

TEST_CASE("an unchanged configuration leaves the pool as it is, and another pool is untouched") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  test::event_capture capture;
  auto mine = counted("reconf.mine", 2, 1);
  auto other = counted("reconf.other", 3, 1);
  auto p = start_pool(sys, mine);
  auto q = start_pool(sys, other);
  REQUIRE(p);
  REQUIRE(q);
  auto mine_before = p->idle_workers();
  auto other_before = q->idle_workers();
  REQUIRE_FALSE(reconfigure_pool(sys, mine));
  CHECK(p->idle_workers() == mine_before);
  mine.size = 1;
  mine.strategy = pool_strategy::fifo;
  REQUIRE_FALSE(reconfigure_pool(sys, mine));
  CHECK(p->status().size == 1);
  CHECK(q->idle_workers() == other_before);
  auto s = q->status();
  CHECK(s.size == 3);
  CHECK(s.max_overflow == 1);
  CHECK(dismissed_for(capture, "reconf.other", "resized") == 0);
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(q->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("a pool built with a factory keeps its workers unless a new factory comes with a new worker or args") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  test::register_tagged_kind();
  auto kind = find_worker_kind("test.tagged");
  REQUIRE(kind);
  pool_config config;
  config.name = "reconf.factory";
  config.size = 2;
  config.max_overflow = 0;
  config.worker = "tagged by hand";
  config.args = worker_args{{{"tag", supervision::argument_value{int64_t{7}}}}};
  config.factory = kind->start;
  auto p = start_pool(sys, config);
  REQUIRE(p);
  auto bigger = config;
  bigger.factory = nullptr; // as from a file: the label is no kind, and need not be
  bigger.size = 3;
  REQUIRE_FALSE(reconfigure_pool(sys, bigger));
  CHECK(eventually([] { return test::tagged_live(7) == 3; }, 30s));
  auto other_args = bigger;
  other_args.args = worker_args{{{"tag", supervision::argument_value{int64_t{8}}}}};
  auto err = reconfigure_pool(sys, other_args);
  CHECK(err.category() == supervision::errc_category);
  CHECK(err.code() == static_cast<uint8_t>(supervision::errc::not_allowed));
  other_args.factory = kind->start;
  REQUIRE_FALSE(reconfigure_pool(sys, other_args));
  CHECK(eventually([] { return test::tagged_live(7) == 0 && test::tagged_live(8) == 3; }, 30s));
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("sizes, overflow and args changing over and over under an 8-thread load never fail a checkout") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  events::disable_log();
  test::event_capture capture;
  auto config = tagged("reconf.churn", 4, 0);
  config.max_overflow = 4;
  auto p = start_pool(sys, config);
  REQUIRE(p);
  struct step {
    std::size_t size, max_overflow;
  };
  const step steps[] = {{2, 1}, {6, 3}, {1, 0}, {3, 4}, {5, 2}};
  int64_t tag = 0;
  {
    test::checkout_load load{sys, *p, 8, 5000ms, call};
    REQUIRE(progresses(load, 100));
    for (int round = 0; round < 10; ++round)
      for (auto [size, max_overflow] : steps) {
        config.size = size;
        config.max_overflow = max_overflow;
        config.strategy = round % 2 == 0 ? pool_strategy::fifo : pool_strategy::lifo;
        if (size == 6) // a rolling replacement under way through the next changes
          config.args = worker_args{{{"tag", supervision::argument_value{++tag}}}};
        REQUIRE_FALSE(reconfigure_pool(sys, config));
        REQUIRE(progresses(load, 200));
      }
    load.stop();
    INFO(load.first_failure());
    CHECK(load.failed() == 0);
  }
  CHECK(eventually([&] { return settled(*p, 5) && test::tagged_live(tag) == 5 && test::tagged_live_all() == 5; },
                   30s));
  CHECK(crashes_of(capture, "reconf.churn") == 0);
  CHECK(exits("reconf.churn", "crash") == 0);
  events::configure_log({});
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

}
