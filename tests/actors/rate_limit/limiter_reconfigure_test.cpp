#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "otpp/actors/rate_limit/limiter_owner.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "tests/support/deterministic.hpp"
#include "tests/support/limiter_fixtures.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace otpp::rate_limit;
using namespace std::chrono_literals;
using otpp::test::bucket;
using otpp::test::fake_clock;
using otpp::test::windowed;

namespace {

// One supervised limiter named "test" on the deterministic scheduler, with a
// clock the test moves.
struct running_limiter {
  explicit running_limiter(const limiter_config& config, std::chrono::milliseconds cleanup = 30000ms) {
    supervision::supervisor_config root;
    root.children = {limiter_child(config, cleanup, clock.fn())};
    auto started = supervision::start_supervisor(fx.sys, root);
    REQUIRE(started);
    sup = *started;
    fx.run();
    l = *find_limiter(fx.sys, config.name);
  }
  ~running_limiter() { fx.stop(sup); }

  caf::error reconfigure(const limiter_config& next, std::chrono::milliseconds cleanup = 30000ms) {
    auto err = reconfigure_limiter(fx.sys, next, cleanup);
    fx.run();
    return err;
  }

  int allowed(const std::string& key, int hits) {
    int n = 0;
    for (int i = 0; i < hits; ++i)
      n += l->hit(key)->allowed ? 1 : 0;
    return n;
  }

  fake_clock clock;
  test::deterministic fx;
  caf::actor sup;
  std::shared_ptr<limiter> l;
};

} // namespace

TEST_SUITE("rate_limit.reconfigure") {

TEST_CASE("a fixed window lowered mid-window keeps the spent count and denies, raised allows more in the window") {
  running_limiter r{windowed(algorithm::fixed_window, 1000, 5)};
  CHECK(r.allowed("k", 3) == 3);
  REQUIRE_FALSE(r.reconfigure(windowed(algorithm::fixed_window, 1000, 2)));
  auto d = r.l->hit("k");
  CHECK_FALSE(d->allowed);
  CHECK(d->retry_after_ms == 1000);
  REQUIRE_FALSE(r.reconfigure(windowed(algorithm::fixed_window, 1000, 10)));
  CHECK(r.allowed("k", 10) == 6); // 4 spent (the denied hit counts), 6 more
  CHECK(r.l->config().limit == 10);
  r.clock.now->store(1000);
  CHECK(r.allowed("k", 12) == 10); // the next window under the new limit
}

TEST_CASE("a sliding window keeps its recorded hits under a new limit") {
  running_limiter r{windowed(algorithm::sliding_window, 1000, 5)};
  CHECK(r.allowed("k", 4) == 4);
  REQUIRE_FALSE(r.reconfigure(windowed(algorithm::sliding_window, 1000, 3)));
  CHECK(r.allowed("k", 1) == 0);
  CHECK(*r.l->get("k") == 4);
  REQUIRE_FALSE(r.reconfigure(windowed(algorithm::sliding_window, 1000, 6)));
  CHECK(r.allowed("k", 5) == 2);
}

TEST_CASE("buckets keep their level, clamped to a smaller capacity, and keep it when the capacity grows") {
  SUBCASE("token bucket") {
    running_limiter r{bucket(algorithm::token_bucket, 10, 0.0)};
    CHECK(r.allowed("k", 3) == 3); // 7 tokens left
    REQUIRE_FALSE(r.reconfigure(bucket(algorithm::token_bucket, 4, 0.0)));
    CHECK(*r.l->get("k") == 4);
    CHECK(r.allowed("k", 10) == 4);
    REQUIRE_FALSE(r.reconfigure(bucket(algorithm::token_bucket, 20, 0.0)));
    CHECK(*r.l->get("k") == 0); // the level stays: no refill at rate 0
    CHECK(*r.l->get("fresh") == 20);
  }
  SUBCASE("leaky bucket") {
    running_limiter r{bucket(algorithm::leaky_bucket, 10, 1.0)};
    CHECK(r.allowed("k", 8) == 8);
    REQUIRE_FALSE(r.reconfigure(bucket(algorithm::leaky_bucket, 4, 1.0)));
    CHECK(*r.l->get("k") == 4);
    CHECK(r.allowed("k", 1) == 0);
    REQUIRE_FALSE(r.reconfigure(bucket(algorithm::leaky_bucket, 20, 1.0)));
    CHECK(*r.l->get("k") == 8);
    CHECK(r.allowed("k", 20) == 12);
  }
}

TEST_CASE("another algorithm or name is not allowed, invalid values and unknown limiters are refused, nothing changes") {
  running_limiter r{windowed(algorithm::fixed_window, 1000, 2)};
  CHECK(r.allowed("k", 1) == 1);
  auto err = r.reconfigure(windowed(algorithm::sliding_window, 1000, 10));
  CHECK(supervision::is(err, supervision::errc::not_allowed));
  CHECK(supervision::describe(err).find("fixed_window -> sliding_window") != std::string::npos);
  auto invalid = windowed(algorithm::fixed_window, 0, 10);
  err = r.reconfigure(invalid);
  CHECK(supervision::describe(err) == "invalid_argument: limiter 'test': scale_ms must be > 0, got 0");
  err = r.reconfigure(windowed(algorithm::fixed_window, 1000, 10), 0ms);
  CHECK(supervision::describe(err) == "invalid_argument: limiter 'test': cleanup_interval must be > 0 ms, got 0");
  auto other = windowed(algorithm::fixed_window, 1000, 10);
  other.name = "nobody";
  CHECK(supervision::is(r.reconfigure(other), supervision::errc::not_found));
  CHECK(r.allowed("k", 5) == 1); // still the limit of 2
  CHECK(r.l->config().limit == 2);
  CHECK(find_limiter(r.fx.sys, "test")->get() == r.l.get()); // the same limiter, its keys kept
}

TEST_CASE("the owner sweeps at the new cleanup interval from its next sweep") {
  running_limiter r{windowed(algorithm::fixed_window, 1000, 5), 30000ms};
  r.fx.advance(10000ms);
  REQUIRE_FALSE(r.reconfigure(windowed(algorithm::fixed_window, 1000, 5), 2000ms));
  r.l->hit("a");
  r.clock.now->store(1000); // its window ended
  r.fx.advance(1999ms);
  CHECK(*r.l->size() == 1);
  r.fx.advance(1ms);
  CHECK(*r.l->size() == 0);
  r.l->hit("b");
  r.clock.now->store(2000);
  r.fx.advance(1999ms);
  CHECK(*r.l->size() == 1);
  r.fx.advance(1ms); // every 2 s, not on the old 30 s timer
  CHECK(*r.l->size() == 0);
  r.l->hit("d");
  r.clock.now->store(3000);
  r.fx.advance(1000ms);
  REQUIRE_FALSE(r.reconfigure(windowed(algorithm::fixed_window, 1000, 5), 2000ms)); // unchanged: not postponed
  r.fx.advance(999ms);
  CHECK(*r.l->size() == 1);
  r.fx.advance(1ms);
  CHECK(*r.l->size() == 0);
  REQUIRE_FALSE(r.reconfigure(windowed(algorithm::fixed_window, 1000, 5), 60000ms));
  r.l->hit("c");
  r.clock.now->store(4000);
  r.fx.advance(30000ms); // the 2 s timer armed before the change is stale: no sweep
  CHECK(*r.l->size() == 1);
  r.fx.advance(30000ms);
  CHECK(*r.l->size() == 0);
}

TEST_CASE("hits from threads during reconfigures are exact: none lost, never more than the higher limit admits") {
  for (auto [low, high] : {std::pair{windowed(algorithm::fixed_window, 60000, 300),
                                     windowed(algorithm::fixed_window, 60000, 600)},
                           std::pair{windowed(algorithm::sliding_window, 60000, 300),
                                     windowed(algorithm::sliding_window, 60000, 600)},
                           std::pair{bucket(algorithm::token_bucket, 300, 0.0), bucket(algorithm::token_bucket, 600, 0.0)},
                           std::pair{bucket(algorithm::leaky_bucket, 300, 0.0), bucket(algorithm::leaky_bucket, 600, 0.0)}}) {
    CAPTURE(to_string(low.algorithm));
    running_limiter r{low};
    std::atomic<int> allowed{0};
    std::atomic<int> started{0};
    constexpr int threads = 4, hits = 500;
    {
      test::stopping_threads load;
      for (int t = 0; t < threads; ++t)
        load.threads.emplace_back([&] {
          ++started;
          for (int i = 0; i < hits; ++i)
            if (r.l->hit("hot")->allowed)
              ++allowed;
        });
      while (started.load() < threads)
        std::this_thread::yield();
      for (int i = 0; i < 200; ++i)
        REQUIRE_FALSE(r.reconfigure(i % 2 == 0 ? high : low));
      load.join();
    }
    CHECK(allowed.load() >= 300); // the first 300 fit either limit
    CHECK(allowed.load() <= 600);
    CHECK(r.l->allowed_hits() == static_cast<uint64_t>(allowed.load()));
    CHECK(r.l->allowed_hits() + r.l->denied_hits() == threads * hits);
    if (low.algorithm == algorithm::fixed_window)
      CHECK(*r.l->get("hot") == threads * hits); // every cost counted once
    else if (low.algorithm == algorithm::token_bucket)
      CHECK(*r.l->get("hot") == 0); // never more than it had
    else if (low.algorithm == algorithm::sliding_window)
      CHECK(*r.l->get("hot") == allowed.load());
    else // a leaky bucket at rate 0: its level, read as at most the last capacity
      CHECK(*r.l->get("hot") == std::min(allowed.load(), 300));
  }
}

}

TEST_SUITE("rate_limit.reconfigure.redis") {

TEST_CASE("on Redis a fixed window and a bucket lowered mid-window keep the spent count, without blocks and with") {
  test::redis_server server;
  for (int64_t block : {0, 8}) {
    CAPTURE(block);
    for (auto [first, lowered] : {std::pair{windowed(algorithm::fixed_window, 60000, 100),
                                            windowed(algorithm::fixed_window, 60000, 20)},
                                  std::pair{bucket(algorithm::token_bucket, 100, 0.0),
                                            bucket(algorithm::token_bucket, 20, 0.0)},
                                  std::pair{bucket(algorithm::leaky_bucket, 100, 0.0),
                                            bucket(algorithm::leaky_bucket, 20, 0.0)}}) {
      CAPTURE(to_string(first.algorithm));
      fake_clock clock;
      clock.now->store(1'700'000'000'000);
      redis_options options;
      options.url = server.url();
      options.prefix = "reconf" + std::to_string(block);
      options.block = block;
      options.block_lease = 60000ms;
      auto made = limiter::on_redis(first, options, clock.fn());
      REQUIRE(made);
      auto l = *made;
      int allowed = 0;
      for (int i = 0; i < 15; ++i)
        allowed += l->hit("k")->allowed ? 1 : 0;
      REQUIRE(allowed == 15); // with blocks, units beyond the 15 are held by this node
      REQUIRE_FALSE(l->reconfigure(lowered));
      allowed = 0;
      for (int i = 0; i < 20; ++i)
        allowed += l->hit("k")->allowed ? 1 : 0;
      // A window or a leaky bucket: 15 spent of 20, exactly 5 more (held
      // blocks given back); a token bucket: its 85 tokens read as 20.
      CHECK(allowed == (first.algorithm == algorithm::token_bucket ? 20 : 5));
      if (first.algorithm == algorithm::token_bucket)
        CHECK(*l->get("k") == 0);
      else if (first.algorithm == algorithm::leaky_bucket)
        CHECK(*l->get("k") == 20);
      REQUIRE_FALSE(l->reconfigure(first)); // raised again: the count stays
      allowed = 0;
      for (int i = 0; i < 100; ++i)
        allowed += l->hit("k")->allowed ? 1 : 0;
      if (first.algorithm == algorithm::fixed_window)
        CHECK(allowed == 100 - 35); // denied hits count in a window
      else if (first.algorithm == algorithm::leaky_bucket)
        CHECK(allowed == 80);
      else
        CHECK(allowed == 0); // a token bucket at rate 0 keeps its level
    }
  }
}

TEST_CASE("on Redis a running fixed window keeps its count and end across a scale change, and other units are refused") {
  test::redis_server server;
  fake_clock clock;
  clock.now->store(1'700'000'000'000); // a multiple of 1000 and of 10000
  redis_options options;
  options.url = server.url();
  auto l = *limiter::on_redis(windowed(algorithm::fixed_window, 1000, 5), options, clock.fn());
  clock.now->store(1'700'000'000'500);
  for (int i = 0; i < 4; ++i)
    REQUIRE(l->hit("k")->allowed);
  REQUIRE_FALSE(l->reconfigure(windowed(algorithm::fixed_window, 10000, 5)));
  CHECK(l->hit("k")->count == 5);
  auto d = l->hit("k");
  CHECK_FALSE(d->allowed);
  CHECK(d->retry_after_ms == 500); // the old end
  clock.now->store(1'700'000'001'000);
  CHECK(l->hit("k")->count == 1); // a window of the new scale, from 1000
  CHECK(*l->expires_at("k") == 1'700'000'010'000);
  auto buckets = *limiter::on_redis(bucket(algorithm::token_bucket, 10, 1.0), options, clock.fn());
  auto err = buckets->reconfigure(bucket(algorithm::token_bucket, 100'000'000, 1.0));
  CHECK(supervision::is(err, supervision::errc::not_allowed));
  err = buckets->reconfigure(bucket(algorithm::token_bucket, 10, 1e-12));
  CHECK(supervision::describe(err).find("would be kept as") != std::string::npos);
  CHECK(buckets->config().capacity == 10);
}

}
