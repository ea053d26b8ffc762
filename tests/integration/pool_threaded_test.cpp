#include <doctest/doctest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/actors/events/log_sink.hpp"
#include "tests/support/event_capture.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/threaded.hpp"
#include "tests/support/pool_kinds.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace std::chrono_literals;

using otpp::test::eventually;

namespace {

/// The `waiting` of each pool_waiters event, in order.
std::vector<uint64_t> waiting_of(const test::event_capture& capture) {
  std::vector<uint64_t> out;
  for (auto& e : capture.of<events::pool_waiters>())
    out.push_back(e.waiting);
  return out;
}

pool_config counted(std::size_t size, std::size_t max_overflow) {
  test::register_counted_kind();
  pool_config config;
  config.name = "threaded.pool";
  config.size = size;
  config.max_overflow = max_overflow;
  config.worker = "test.counted";
  return config;
}

} // namespace

TEST_SUITE("integration.pool") {

TEST_CASE("blocked threads get checked-in workers in the order they started waiting") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto p = start_pool(sys, counted(1, 0));
  REQUIRE(p);
  auto held = p->checkout();
  REQUIRE(held);
  std::vector<int> order;
  std::mutex order_mtx;
  auto wait_for_worker = [&](int who) {
    auto got = p->checkout(true, 10s);
    REQUIRE(got);
    std::lock_guard<std::mutex> guard{order_mtx};
    order.push_back(who);
  };
  std::thread first{wait_for_worker, 1};
  REQUIRE(eventually([&] { return p->status().waiting == 1; }, 30s));
  std::thread second{wait_for_worker, 2};
  REQUIRE(eventually([&] { return p->status().waiting == 2; }, 30s));
  held->release();
  first.join();
  second.join();
  CHECK(order == std::vector<int>{1, 2});
  CHECK(p->status().idle == 1);
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("a blocked thread times out with a timeout error and no worker is lost") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto p = start_pool(sys, counted(1, 0));
  REQUIRE(p);
  auto held = p->checkout();
  REQUIRE(held);
  auto late = p->checkout(true, 50ms);
  REQUIRE_FALSE(late);
  CHECK(supervision::describe(late.error()) == "timeout: waited 50 ms");
  CHECK(p->status().waiting == 0);
  held->release();
  CHECK(p->status().idle == 1);
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("a thread gets an overflow worker started for it, dismissed when it checks in") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto p = start_pool(sys, counted(1, 1));
  REQUIRE(p);
  auto first = p->checkout();
  auto second = p->checkout(false);
  REQUIRE(second);
  CHECK(p->status().overflow == 1);
  second->release();
  CHECK(p->status().overflow == 0);
  CHECK(eventually([] { return test::counted_live == 1; }, 30s));
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("a pool that ends wakes its blocked threads with closed") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto p = start_pool(sys, counted(1, 0));
  REQUIRE(p);
  auto held = p->checkout();
  caf::error seen;
  std::thread waiter{[&] {
    auto got = p->checkout(true, 10s);
    if (!got)
      seen = got.error();
  }};
  REQUIRE(eventually([&] { return p->status().waiting == 1; }, 30s));
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
  waiter.join();
  CHECK(supervision::describe(seen) == "closed: pool 'threaded.pool' has ended");
}

TEST_CASE("leases outlive their pool and every pool_ref: checking them in or failing them afterwards is harmless") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  std::optional<lease> kept;
  std::optional<lease> broken;
  caf::actor_addr pool_actor;
  {
    auto p = start_pool(sys, counted(2, 0));
    REQUIRE(p);
    auto first = p->checkout();
    auto second = p->checkout();
    REQUIRE(first);
    REQUIRE(second);
    lease moved = std::move(*first); // a moved-from lease gives nothing back when it ends
    kept.emplace(std::move(moved));
    broken.emplace(std::move(*second));
    CHECK_FALSE(*first);
    pool_actor = p->actor().address();
    caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
  }
  // The checkout actor is gone with its hold on the pool's core: only the
  // two leases keep the core now (ASan sees any use after it went).
  REQUIRE(eventually([&] { return !caf::actor_cast<caf::actor>(pool_actor); }, 30s));
  REQUIRE(kept->worker());
  kept->release();
  broken->fail();
  CHECK_FALSE(*kept);
  CHECK_FALSE(*broken);
}

TEST_CASE("sixteen threads hammering checkout, checkin and failures leave the pool whole") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  events::disable_log();
  auto p = start_pool(sys, counted(4, 3));
  REQUIRE(p);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        auto held = p->checkout(i % 7 != 0, 5s);
        if (!held)
          continue;
        if ((i + t) % 97 == 0) {
          held->fail();
          ++failures;
        }
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(failures > 0);
  bool whole = eventually([&] {
    auto s = p->status();
    return s.idle == 4 && s.overflow == 0 && s.busy == 0 && s.waiting == 0 && test::counted_live == 4;
  }, 30s);
  auto s = p->status();
  INFO("idle=" << s.idle << " overflow=" << s.overflow << " busy=" << s.busy << " waiting=" << s.waiting
                << " live=" << test::counted_live.load());
  CHECK(whole);
  events::configure_log({}); // the default log again
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("threads that queue and are served make the queue's two edges known: pool_waiters 1, then 0") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  test::event_capture capture;
  auto p = start_pool(sys, counted(1, 0));
  REQUIRE(p);
  auto held = p->checkout();
  REQUIRE(held);
  auto wait_for_worker = [&] { CHECK(p->checkout(true, 10s)); };
  std::thread first{wait_for_worker};
  REQUIRE(capture.wait_for<events::pool_waiters>(1));
  std::thread second{wait_for_worker};
  REQUIRE(eventually([&] { return p->status().waiting == 2; }, 30s));
  held->release(); // to the first, who checks in to the second
  first.join();
  second.join();
  REQUIRE(capture.wait_for<events::pool_waiters>(2));
  CHECK(waiting_of(capture) == std::vector<uint64_t>{1, 0});
  auto timed_out = p->checkout(false);
  REQUIRE(timed_out);
  std::thread gives_up{[&] { CHECK_FALSE(p->checkout(true, 1s)); }}; // waits alone, then the queue empties again
  CHECK(capture.wait_for<events::pool_waiters>(3));
  gives_up.join();
  REQUIRE(capture.wait_for<events::pool_waiters>(4));
  CHECK(waiting_of(capture) == std::vector<uint64_t>{1, 0, 1, 0});
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

}
