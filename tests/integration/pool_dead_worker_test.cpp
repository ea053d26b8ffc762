// A worker that dies between its checkout and its use: the caller gets the
// worker's exit reason, never `request_receiver_down`, and the pool replaces it.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "otpp/actors/guards/protected_operation.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/thread_call.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/actors/events/log_sink.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/pool_kinds.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace std::chrono_literals;

using otpp::test::eventually;

namespace {

pool_config counted(const std::string& name, std::size_t size) {
  test::register_counted_kind();
  pool_config config;
  config.name = name;
  config.size = size;
  config.max_overflow = 0;
  config.worker = "test.counted";
  return config;
}

caf::error connection_lost() {
  return supervision::make_error(supervision::errc::exception, "connection lost");
}

/// Kills `w` with `connection_lost` and waits until it has ended.
void kill_and_wait(const caf::actor& w) {
  caf::anon_send<caf::message_priority::high>(w, caf::exit_msg{caf::actor_addr{}, connection_lost()});
  REQUIRE(eventually([&] { return exit_reason_of(w).has_value(); }, 10s));
}

bool pool_whole(const pool_ref& p, std::size_t size) {
  return eventually([&] {
    auto s = p.status();
    return s.idle == size && s.busy == 0 && s.waiting == 0 && test::counted_live == static_cast<int>(size);
  }, 30s);
}

} // namespace

TEST_SUITE("integration.pool") {

TEST_CASE("a transaction whose worker died after the checkout gets the worker's exit reason") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto p = start_pool(sys, counted("dead.transaction", 1));
  REQUIRE(p);
  caf::scoped_actor self{sys};
  auto r = p->transaction([&](const caf::actor& w) {
    kill_and_wait(w);
    return thread_call<int>(self, w, 5s, 7);
  });
  REQUIRE_FALSE(r);
  CHECK(r.error() != caf::sec::request_receiver_down);
  CHECK(r.error() == connection_lost());
  CHECK(pool_whole(*p, 1));
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("protected_operation whose worker died after the checkout gets the worker's exit reason") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto p = start_pool(sys, counted("dead.protected", 1));
  REQUIRE(p);
  protection guard;
  guard.ns = "test";
  guard.service = "dead.protected";
  guard.pool = "dead.protected";
  caf::scoped_actor self{sys};
  auto r = protected_operation(sys, guard, [&](const caf::actor& w) {
    kill_and_wait(w);
    return thread_call<int>(self, w, 5s, 7);
  });
  REQUIRE_FALSE(r);
  CHECK(r.error() == connection_lost());
  CHECK(pool_whole(*p, 1));
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("threads racing transactions while idle workers are killed never see request_receiver_down") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  events::disable_log();
  auto p = start_pool(sys, counted("dead.race", 4));
  REQUIRE(p);
  std::atomic<int> calls{0};
  std::atomic<int> receiver_down{0};
  std::atomic<int> lost{0};
  std::mutex other_mtx;
  std::vector<std::string> other;
  test::stopping_threads callers;
  for (int t = 0; t < 3; ++t) // fewer callers than workers: some are idle, to be killed
    callers.threads.emplace_back([&] {
      caf::scoped_actor self{sys};
      while (!callers.stop) {
        auto r = p->transaction([&](const caf::actor& w) { return thread_call<int>(self, w, 5s, 1); }, 5s);
        ++calls;
        if (r)
          continue;
        if (r.error() == caf::sec::request_receiver_down)
          ++receiver_down;
        else if (r.error() == connection_lost())
          ++lost;
        else {
          std::lock_guard<std::mutex> guard{other_mtx};
          other.push_back(supervision::describe(r.error()));
        }
      }
    });
  int kills = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < deadline && kills < 2000;) {
    auto idle = p->idle_workers();
    REQUIRE(idle);
    for (auto& w : *idle) { // without waiting: the callers race the pool's down messages
      caf::anon_send<caf::message_priority::high>(w, caf::exit_msg{caf::actor_addr{}, connection_lost()});
      ++kills;
    }
    std::this_thread::yield();
  }
  callers.join();
  events::configure_log({}); // the default log again
  INFO("calls=" << calls.load() << " kills=" << kills << " lost=" << lost.load()
                 << " receiver_down=" << receiver_down.load());
  CHECK(kills > 0);
  CHECK(receiver_down == 0);
  CHECK(other.empty());
  CHECK(pool_whole(*p, 4));
  caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
}

}
