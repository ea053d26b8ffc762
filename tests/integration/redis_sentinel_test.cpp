#include <doctest/doctest.h>

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>

#include "otpp/actors/rate_limit/limiter.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/limiter_fixtures.hpp"
#include "tests/support/redis_server.hpp"

using namespace otpp::rate_limit;
using namespace std::chrono_literals;
using otpp::test::eventually;
using otpp::test::redis_sentinel;
using otpp::test::redis_server;

namespace {

using steady = std::chrono::steady_clock;

// The text of `command`'s reply on a fresh connection to `port` (the first
// element of an array), or "" when the server cannot be reached.
std::string ask(int port, const char* command) {
  std::unique_ptr<redisContext, decltype(&redisFree)> c{redisConnectWithTimeout("127.0.0.1", port, {1, 0}),
                                                        &redisFree};
  if (!c || c->err != 0)
    return {};
  auto* r = static_cast<redisReply*>(redisCommand(c.get(), command));
  if (r == nullptr)
    return {};
  auto* first = r->type == REDIS_REPLY_ARRAY && r->elements > 0 ? r->element[0] : r;
  std::string out = first->str ? std::string{first->str, first->len} : std::string{};
  if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && first->type == REDIS_REPLY_ARRAY) // SENTINEL replicas
    for (std::size_t i = 0; i < first->elements; ++i)
      if (first->element[i]->str)
        out += std::string{first->element[i]->str, first->element[i]->len} + " ";
  freeReplyObject(r);
  return out;
}

} // namespace

TEST_SUITE("rate_limit.redis.sentinel") {

TEST_CASE("a Redis limiter behind Sentinel answers by policy during a failover, then follows the promoted replica") {
  redis_server master;
  redis_server replica{{"--replicaof", master.host(), std::to_string(master.port())}};
  REQUIRE(eventually([&] {
    return ask(replica.port(), "INFO replication").find("master_link_status:up") != std::string::npos;
  }));
  redis_sentinel sentinel{master, "otpp-main", 300};
  REQUIRE(eventually([&] { // the sentinel knows the replica (from the master's INFO) and sees it up
    auto replicas = ask(sentinel.port(), "SENTINEL replicas otpp-main");
    return replicas.find("flags slave ") != std::string::npos;
  }));

  redis_options options;
  options.sentinels = {"127.0.0.1:1", sentinel.address()}; // a dead sentinel first: the next one is asked
  options.master_name = "otpp-main";
  options.prefix = "failover";
  options.timeout = 200ms;
  auto created = limiter::on_redis(otpp::test::windowed(algorithm::fixed_window, 600000, 1'000'000), options);
  REQUIRE_MESSAGE(created, otpp::supervision::describe(created.error()));
  auto l = *created;
  auto first = l->hit("k");
  REQUIRE(first);
  CHECK(first->allowed);
  CHECK_FALSE(first->degraded);

  master.kill();
  steady::duration slowest{};
  long hits = 0;
  auto followed = eventually(
    [&] {
      auto start = steady::now();
      auto d = l->hit("k"); // never an error, never a throw
      slowest = std::max(slowest, steady::now() - start);
      ++hits;
      REQUIRE(d);
      if (d->degraded)
        CHECK_FALSE(d->allowed); // fail_closed
      return d->allowed && !d->degraded;
    },
    30s);
  CAPTURE(hits);
  CAPTURE(std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count());
  REQUIRE(followed);
  CHECK(l->degraded_hits() > 0);
  CHECK(slowest < 700ms); // the contract is 200 ms; generous for a shared machine
  CHECK(ask(sentinel.port(), "SENTINEL get-master-addr-by-name otpp-main") == "127.0.0.1");
  CHECK(ask(replica.port(), "ROLE") == "master");
  CHECK_FALSE(l->degraded());
}

}
