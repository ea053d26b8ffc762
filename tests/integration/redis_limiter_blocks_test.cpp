#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "otpp/actors/rate_limit/limiter.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/limiter_fixtures.hpp"
#include "tests/support/redis_server.hpp"

using namespace otpp::rate_limit;
using namespace std::chrono_literals;
using otpp::test::bucket;
using otpp::test::eventually;
using otpp::test::fake_clock;
using otpp::test::redis_server;
using otpp::test::windowed;

namespace {

// Blocks of up to `block` units, used for `lease` (fake-clock ms; the returner
// looks for ended blocks every half lease of real time).
redis_options with_blocks(const redis_server& server, int64_t block, std::chrono::milliseconds lease) {
  redis_options o;
  o.url = server.url();
  o.prefix = "blocks";
  o.timeout = 1000ms;
  o.block = block;
  o.block_lease = lease;
  return o;
}

std::shared_ptr<limiter> on_redis(limiter_config config, redis_options options, const fake_clock& clock) {
  auto l = limiter::on_redis(std::move(config), std::move(options), clock.fn());
  REQUIRE_MESSAGE(l, otpp::supervision::describe(l.error()));
  return *l;
}

// Hits allowed out of `n` hits on `key`; every answer comes from Redis or a block.
int allowed(limiter& l, const std::string& key, int n) {
  int yes = 0;
  for (int i = 0; i < n; ++i) {
    auto d = l.hit(key);
    REQUIRE(d);
    REQUIRE_FALSE(d->degraded);
    yes += d->allowed ? 1 : 0;
  }
  return yes;
}

// The three algorithms with blocks, each with a limit of 100 that neither
// ends nor refills during a test.
std::vector<limiter_config> limits_of_100() {
  return {windowed(algorithm::fixed_window, 3'600'000, 100), bucket(algorithm::token_bucket, 100, 0.0),
          bucket(algorithm::leaky_bucket, 100, 0.0)};
}

// What `get` shows after `taken` units left the shared limit.
double shown(const limiter_config& c, double taken) {
  return c.algorithm == algorithm::token_bucket ? 100 - taken : taken;
}

} // namespace

TEST_SUITE("rate_limit.redis.blocks") {

TEST_CASE("with blocks two limiters on one key never admit more than the limit together, one holding a block") {
  redis_server server;
  for (auto config : limits_of_100()) {
    CAPTURE(to_string(config.algorithm));
    fake_clock clock;
    clock.now->store(1'700'000'000'000);
    auto a = on_redis(config, with_blocks(server, 10, 60'000ms), clock);
    auto b = on_redis(config, with_blocks(server, 10, 60'000ms), clock);
    REQUIRE(allowed(*a, "k", 4) == 4); // cold, then blocks of 2 and 4: 3 units held
    CHECK(*b->get("k") == shown(config, 7)); // a's unused block counts as taken
    auto by_b = allowed(*b, "k", 200);
    CHECK(by_b == 93);
    CHECK(allowed(*a, "k", 200) == 3); // a's block, then the limit
    if (config.algorithm != algorithm::fixed_window) // a window counts denied hits too
      CHECK(*a->get("k") == shown(config, 100));
    a->reset("k");
    b->reset("k");
  }
}

TEST_CASE("with blocks every hit two limiters admit, at random times and costs, an exact limiter admits too") {
  redis_server server;
  // Leases of 50 ms against random steps of up to 30 ms: blocks are taken,
  // used, given back and lapse; windows turn, buckets refill and drain a few
  // tokens per lease. Redis's TTLs run in real time, so the clock runs at
  // least as fast (real time plus the steps, read once per hit): a key never
  // expires before the clock says it no longer matters.
  for (auto config : {windowed(algorithm::fixed_window, 200, 20), bucket(algorithm::token_bucket, 20, 100.0),
                      bucket(algorithm::leaky_bucket, 20, 100.0)}) {
    CAPTURE(to_string(config.algorithm));
    fake_clock clock;
    auto start = std::chrono::steady_clock::now();
    millis steps = 0;
    auto tick = [&] {
      auto real = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      clock.now->store(1'700'000'000'000 + steps + real.count());
    };
    tick();
    auto a = on_redis(config, with_blocks(server, 8, 50ms), clock);
    auto b = on_redis(config, with_blocks(server, 8, 50ms), clock);
    auto exact = limiter::in_memory(config, clock.fn());
    REQUIRE(exact);
    std::mt19937_64 random{7};
    int admitted = 0;
    for (int i = 0; i < 3000; ++i) {
      if (random() % 4 == 0)
        steps += static_cast<millis>(random() % 30);
      tick();
      auto key = "k" + std::to_string(random() % 2);
      auto cost = static_cast<int64_t>(random() % 3);
      auto d = (random() % 2 ? a : b)->hit(key, cost);
      REQUIRE(d);
      REQUIRE_FALSE(d->degraded);
      if (d->allowed) {
        CAPTURE(i);
        REQUIRE((*exact)->hit(key, cost)->allowed);
        ++admitted;
      }
    }
    CHECK(admitted > 500); // blocks do not starve the limit
  }
}

TEST_CASE("with blocks a hit's count is the count the node last learnt from Redis moved by its own hits since") {
  redis_server server;
  fake_clock clock;
  clock.now->store(1'700'000'000'000);
  for (auto config : limits_of_100()) {
    CAPTURE(to_string(config.algorithm));
    auto a = on_redis(config, with_blocks(server, 10, 60'000ms), clock);
    auto b = on_redis(config, with_blocks(server, 10, 60'000ms), clock);
    auto down = config.algorithm == algorithm::token_bucket;
    auto counted = [&](uint64_t taken) { return down ? 100 - taken : taken; };
    for (uint64_t i = 1; i <= 4; ++i) // from Redis, Redis, a's block, Redis (holding 3 more)
      CHECK(a->hit("k")->count == counted(i));
    CHECK(b->hit("k")->count == counted(8)); // a's 3 held units count as taken
    CHECK(a->hit("k")->count == counted(5)); // from a's block: what a knows
    a->reset("k");
    b->reset("k");
  }
}

TEST_CASE("with blocks a block not used within its lease goes back and another limiter can use it") {
  redis_server server;
  for (auto config : limits_of_100()) {
    CAPTURE(to_string(config.algorithm));
    fake_clock clock;
    clock.now->store(1'700'000'000'000);
    auto a = on_redis(config, with_blocks(server, 10, 50ms), clock);
    auto b = on_redis(config, with_blocks(server, 10, 50ms), clock);
    REQUIRE(allowed(*a, "k", 4) == 4); // 3 units held by a
    CHECK(allowed(*b, "k", 93) == 93);  // no more (a window would count denied hits)
    *clock.now += 60; // past both nodes' leases (50 ms), before the server's (100 ms)
    CHECK(eventually([&] { return *b->get("k") == shown(config, 97); }));
    CHECK(allowed(*b, "k", 3) == 3);
    CHECK(allowed(*b, "k", 1) == 0);
    a->reset("k");
    b->reset("k");
  }
}

TEST_CASE("with blocks a block stops counting on the server when its lease ends, given back or not") {
  redis_server server;
  auto config = bucket(algorithm::token_bucket, 100, 1.0); // 1 token per s
  fake_clock clock;
  clock.now->store(1'700'000'000'000);
  auto b = on_redis(config, with_blocks(server, 10, 50ms), clock);
  REQUIRE(allowed(*b, "k", 2) == 2); // cold, then a block of 2: 1 unit held
  CHECK(*b->get("k") == 97);
  *clock.now += 3000; // 3 tokens back, and past the server's lease (2 x 50 ms)
  // Held units still reserved would keep the bucket at 99 at most.
  CHECK(*b->get("k") == 100);
  b->reset("k");
}

TEST_CASE("with blocks a reset forgets the node's own block and keeps other nodes' blocks counted") {
  redis_server server;
  for (auto config : limits_of_100()) {
    CAPTURE(to_string(config.algorithm));
    fake_clock clock;
    clock.now->store(1'700'000'000'000);
    auto b = on_redis(config, with_blocks(server, 10, 60'000ms), clock);
    {
      auto a = on_redis(config, with_blocks(server, 10, 60'000ms), clock);
      REQUIRE(allowed(*a, "k", 4) == 4); // 3 units held by a
      REQUIRE(b->reset("k") == caf::error{});
      CHECK(*b->get("k") == shown(config, 3)); // a's block is still reserved
      CHECK(allowed(*a, "k", 3) == 3);
      CHECK(allowed(*b, "k", 200) == 97); // the limit after the reset, a's block included
      CHECK(allowed(*a, "k", 200) == 0);
      REQUIRE(a->reset("k") == caf::error{});
      REQUIRE(b->reset("k") == caf::error{});
      CHECK(*a->get("k") == shown(config, 0));
    }
    auto a = on_redis(config, with_blocks(server, 10, 60'000ms), clock);
    REQUIRE(allowed(*a, "k", 4) == 4); // 3 units held
    REQUIRE(a->reset("k") == caf::error{}); // its own block is forgotten
    CHECK(*b->get("k") == shown(config, 0));
    CHECK(allowed(*b, "k", 200) == 100);
    b->reset("k");
  }
}

TEST_CASE("with blocks set, inc and refund give the node's own block back first, and get counts it as taken") {
  redis_server server;
  fake_clock clock;
  clock.now->store(1'700'000'000'000);
  for (auto config : limits_of_100()) {
    CAPTURE(to_string(config.algorithm));
    auto a = on_redis(config, with_blocks(server, 10, 60'000ms), clock);
    REQUIRE(allowed(*a, "k", 4) == 4); // 3 units held
    CHECK(*a->get("k") == shown(config, 7));
    CHECK(*a->refund("k", 1) == shown(config, 3)); // 3 back, then the refund of 1
    REQUIRE(allowed(*a, "k", 4) == 4);
    CHECK(*a->inc("k", 0) == shown(config, 7)); // 3 refunded + 4 hits; the used-up block goes back
    REQUIRE(allowed(*a, "k", 4) == 4);
    REQUIRE(a->set("k", 50) == caf::error{});
    CHECK(*a->get("k") == 50);
    a->reset("k");
  }
}

TEST_CASE("with blocks sixteen threads hitting one hot key with a frozen clock admit exactly the limit") {
  redis_server server;
  fake_clock clock;
  clock.now->store(123456);
  for (auto config : {windowed(algorithm::fixed_window, 60000, 500), bucket(algorithm::token_bucket, 500, 0.0),
                      bucket(algorithm::leaky_bucket, 500, 0.0)}) {
    CAPTURE(to_string(config.algorithm));
    auto l = on_redis(config, with_blocks(server, 64, 60'000ms), clock);
    std::atomic<int> admitted{0}, degraded{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 50; ++i) {
          auto d = l->hit("hot");
          if (!d || d->degraded)
            ++degraded;
          else if (d->allowed)
            ++admitted;
        }
      });
    for (auto& t : threads)
      t.join();
    CHECK(admitted == 500);
    CHECK(degraded == 0);
  }
}

TEST_CASE("with blocks two processes of sixteen threads sharing one Redis admit at most the limit, at most two blocks fewer") {
  redis_server server;
  for (auto a : {"fixed_window", "token_bucket", "leaky_bucket"}) {
    CAPTURE(a);
    // Each process: 16 threads x 100 hits on one key of a limiter of 500, blocks of up to 32.
    std::vector<std::string> args{OTPP_LIMITER_HITS_PATH, server.url(), a, "500", "100", "16", "32"};
    otpp::test::child_process first{args, otpp::test::child_process::output::out};
    otpp::test::child_process second{args, otpp::test::child_process::output::out};
    long total = 0;
    for (auto* p : {&first, &second}) {
      auto text = p->read_all();
      CAPTURE(text);
      REQUIRE(p->wait() == 0);
      total += std::stol(text);
    }
    CHECK(total <= 500);
    CHECK(total >= 500 - 2 * 32);
  }
}

TEST_CASE("with blocks a held block keeps admitting while Redis is down, then the failure policy answers") {
  redis_server server;
  fake_clock clock;
  clock.now->store(1'700'000'000'000);
  auto options = with_blocks(server, 10, 60'000ms);
  options.timeout = 100ms;
  auto l = on_redis(windowed(algorithm::fixed_window, 3'600'000, 100), options, clock);
  REQUIRE(allowed(*l, "k", 4) == 4); // 3 units held
  server.stop();
  for (int i = 0; i < 3; ++i) {
    auto d = l->hit("k");
    REQUIRE(d);
    CHECK(d->allowed);
    CHECK_FALSE(d->degraded);
  }
  auto d = l->hit("k");
  REQUIRE(d);
  CHECK_FALSE(d->allowed);
  CHECK(d->degraded);
  CHECK(l->degraded_hits() == 1);
  server.start();
}

TEST_CASE("a Redis limiter's blocks are validated when it is created") {
  redis_options o;
  auto config = windowed(algorithm::fixed_window, 1000, 10);
  o.block = -1;
  CHECK_FALSE(limiter::on_redis(config, o));
  o.block = int64_t{1} << 53;
  CHECK_FALSE(limiter::on_redis(config, o));
  o.block = 10;
  o.block_lease = 0ms;
  CHECK_FALSE(limiter::on_redis(config, o));
  o.block_lease = 2h;
  CHECK_FALSE(limiter::on_redis(config, o));
  o.block_lease = 100ms;
  CHECK(limiter::on_redis(config, o));
}

} // TEST_SUITE
