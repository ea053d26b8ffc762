#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/thread_call.hpp"
#include "otpp/actors/workers/redis_worker.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/event_capture.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace otpp::workers;
using namespace std::chrono_literals;

using otpp::test::eventually;

namespace {

struct redis_pool {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  pool::pool_ref pool;

  redis_pool(const test::redis_server& server, std::size_t size) {
    register_redis_kind();
    pool::pool_config config;
    config.name = "cache";
    config.size = size;
    config.max_overflow = 0;
    config.worker = "redis";
    config.args = {{{"url", server.url()}, {"timeout_ms", int64_t{500}}}};
    config.start_backoff = {10ms, 100ms, 2.0, 0.0, 0ms};
    auto started = pool::start_pool(sys, config);
    REQUIRE_MESSAGE(started, supervision::describe(started.error()));
    pool = *started;
  }

  ~redis_pool() { caf::anon_send_exit(pool.actor(), caf::exit_reason::user_shutdown); }

  caf::expected<redis_value> command(std::vector<std::string> args) {
    caf::scoped_actor self{sys};
    return pool.transaction(
      [&](const caf::actor& w) { return thread_call<redis_value>(self, w, 5s, command_atom::value, args); }, 5s);
  }
};

} // namespace

TEST_SUITE("workers.redis") {

TEST_CASE("pooled Redis commands return the right replies, binary-safe") {
  test::redis_server server;
  redis_pool cache{server, 2};
  std::string binary{"a\0b\"c", 5};
  CHECK(cache.command({"SET", "k", binary})->text == "OK");
  auto got = cache.command({"GET", "k"});
  REQUIRE(got);
  CHECK(got->type == redis_value::kind::text);
  CHECK(got->text == binary);
  CHECK(cache.command({"INCRBY", "n", "5"})->integer == 5);
  CHECK(cache.command({"GET", "missing"})->type == redis_value::kind::nil);
  auto list = cache.command({"MGET", "k", "missing"});
  REQUIRE(list);
  REQUIRE(list->elements.size() == 2);
  CHECK(list->elements[1].type == redis_value::kind::nil);
  auto wrong = cache.command({"INCR", "k"});
  REQUIRE_FALSE(wrong);
  CHECK(supervision::describe(wrong.error()).find("sql_error: server_error: ERR value is not an integer") == 0);
  CHECK(cache.command({"PING"})->text == "PONG"); // the connection is fine after an error reply
}

TEST_CASE("a Redis restart in the middle of a load is survived, emits connection_lost, and the pool returns to full "
          "strength") {
  test::redis_server server;
  test::event_capture events;
  redis_pool cache{server, 3};
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, reset{0}, other{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t)
    load.emplace_back([&] {
      while (!stop) {
        auto r = cache.command({"INCR", "hits"});
        if (r)
          ++ok;
        else if (supervision::describe(r.error()).find("connection_reset") == 0)
          ++reset;
        else
          ++other; // e.g. a worker that could not reconnect while the server was down, or a checkout timeout
      }
    });
  REQUIRE(eventually([&] { return ok > 50; }, 20s));
  server.stop();
  server.start();
  auto before = ok.load();
  REQUIRE(eventually([&] { return ok > before + 50; }, 20s)); // serving again
  stop = true;
  for (auto& t : load)
    t.join();
  CHECK(reset + other > 0); // the restart was noticed
  auto losses = events.of<events::connection_lost>();
  REQUIRE_FALSE(losses.empty());
  CHECK(losses[0].action == "reconnect"); // the first loss: the worker connects again
  for (auto& e : losses) {
    CHECK(e.kind == "redis");
    CHECK(e.target == "127.0.0.1:" + std::to_string(server.port()) + "/0");
    CHECK_FALSE(e.reason.empty());
    CHECK((e.action == "reconnect" || e.action == "exit"));
  }
  CHECK(eventually([&] { return cache.pool.status().idle == 3; }, 20s));
  CHECK(cache.command({"PING"})->text == "PONG");
}

TEST_CASE("a Redis that is down at start is the pool's start_error, and the pool fills up once it is up") {
  test::redis_server server;
  server.stop();
  test::event_capture events;
  redis_pool cache{server, 2};
  REQUIRE(events.wait_for<events::pool_start_error>(1, 20s));
  CHECK(events.of<events::pool_start_error>().front().reason.find("unavailable: unavailable: cannot connect to Redis")
        != std::string::npos);
  server.start();
  CHECK(eventually([&] { return cache.pool.status().idle == 2; }, 20s));
  CHECK(cache.command({"PING"})->text == "PONG");
}

}
