#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "otpp/actors/rate_limit/limiter.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/limiter_fixtures.hpp"

using namespace otpp::rate_limit;
using otpp::test::bucket;
using otpp::test::fake_clock;
using otpp::test::windowed;

namespace {

std::shared_ptr<limiter> make(limiter_config config, const fake_clock& clock) {
  auto l = limiter::in_memory(std::move(config), clock.fn());
  if (!l) // not REQUIRE_MESSAGE: its message is also built for a success under -s, reading no error
    FAIL(otpp::supervision::describe(l.error()));
  return *l;
}

} // namespace

TEST_SUITE("rate_limit.limiter") {

TEST_CASE("parameters are validated when a limiter is created") {
  auto scale0 = limiter::in_memory(windowed(algorithm::fixed_window, 0, 5));
  REQUIRE_FALSE(scale0);
  CHECK(otpp::supervision::describe(scale0.error()) == "invalid_argument: limiter 'test': scale_ms must be > 0, got 0");
  CHECK_FALSE(limiter::in_memory(windowed(algorithm::sliding_window, 1000, -1)));
  CHECK_FALSE(limiter::in_memory(bucket(algorithm::token_bucket, -1, 1.0)));
  auto rate = limiter::in_memory(bucket(algorithm::leaky_bucket, 5, -0.5));
  REQUIRE_FALSE(rate);
  CHECK(otpp::supervision::describe(rate.error()).find("leak_per_s must be in [0, 1e12], got -0.5") != std::string::npos);
}

TEST_CASE("a negative cost is an invalid argument that changes nothing") {
  fake_clock clock;
  auto l = make(windowed(algorithm::fixed_window, 1000, 5), clock);
  l->hit("k", 2);
  auto bad = l->hit("k", -1);
  REQUIRE_FALSE(bad);
  CHECK(otpp::supervision::describe(bad.error()) == "invalid_argument: cost must be >= 0, got -1");
  CHECK(l->get("k") == 2.0);
}

TEST_CASE("limiters and keys are isolated, whatever the bytes of the key") {
  fake_clock clock;
  auto a = make(windowed(algorithm::fixed_window, 1000, 1), clock);
  auto b = make(windowed(algorithm::fixed_window, 1000, 1), clock);
  std::string binary{"\0x\xff", 3};
  std::string long_key(100000, 'k');
  for (auto key : {std::string{}, binary, long_key, std::string{"x"}}) {
    CHECK(a->hit(key)->allowed);
    CHECK(b->hit(key)->allowed);
    CHECK_FALSE(a->hit(key)->allowed);
  }
  CHECK(a->size() == 4);
}

TEST_CASE("get, set, inc, expires_at and reset work per key") {
  fake_clock clock;
  auto tb = make(bucket(algorithm::token_bucket, 10, 1.0), clock);
  CHECK(tb->get("new") == 10.0); // an unknown key is a full bucket
  tb->set("k", 3);
  CHECK(tb->get("k") == 3.0);
  CHECK(tb->inc("k", 2) == 5.0);
  CHECK(tb->expires_at("k") == 5000); // five tokens missing at one per second
  tb->reset("k");
  CHECK(tb->get("k") == 10.0);
  auto fw = make(windowed(algorithm::fixed_window, 1000, 5), clock);
  CHECK(fw->get("k") == 0.0);
  CHECK(fw->inc("k", 4) == 4.0);
  clock.now->store(250);
  CHECK(fw->expires_at("k") == 1000);
}

TEST_CASE("a refund takes back an allowed hit whose call never ran") {
  fake_clock clock;
  auto fw = make(windowed(algorithm::fixed_window, 1000, 2), clock);
  auto sw = make(windowed(algorithm::sliding_window, 1000, 2), clock);
  auto tb = make(bucket(algorithm::token_bucket, 2, 0.0), clock);
  auto lb = make(bucket(algorithm::leaky_bucket, 2, 0.0), clock);
  for (auto& l : {fw, sw, tb, lb}) {
    CAPTURE(to_string(l->config().algorithm));
    CHECK(l->hit("k", 2)->allowed); // full
    CHECK(l->refund("k", 1));
    CHECK(l->hit("k")->allowed); // the refunded unit is usable again
    CHECK_FALSE(l->hit("k")->allowed);
  }
  CHECK(*fw->refund("k", 10) == 0.0); // never below zero
  CHECK(*sw->refund("k", 10) == 0.0);
  CHECK(*tb->refund("k", 10) == 2.0); // never above the capacity
  CHECK(*lb->refund("k", 10) == 0.0);
  CHECK(fw->hit("k", 2)->allowed);
  clock.now->store(1000); // the window ended: nothing to take back
  CHECK(*fw->refund("k", 2) == 0.0);
  CHECK(fw->hit("k", 2)->allowed);
  CHECK_FALSE(fw->hit("k")->allowed);
}

TEST_CASE("a sweep drops only keys that no longer change a decision") {
  fake_clock clock;
  auto fw = make(windowed(algorithm::fixed_window, 1000, 1), clock);
  auto sw = make(windowed(algorithm::sliding_window, 1000, 1), clock);
  auto tb = make(bucket(algorithm::token_bucket, 2, 1.0), clock);
  auto lb = make(bucket(algorithm::leaky_bucket, 2, 1.0), clock);
  for (auto& l : {fw, sw, tb, lb})
    l->hit("k");
  clock.now->store(999);
  for (auto& l : {fw, sw, tb, lb})
    CHECK(l->sweep() == 0);
  CHECK_FALSE(fw->hit("k")->allowed); // still limited: nothing was lost
  clock.now->store(1000);
  CHECK(fw->sweep() == 1); // the window ended
  CHECK(sw->sweep() == 1); // the hit expired
  CHECK(tb->sweep() == 1); // full again
  CHECK(lb->sweep() == 1); // drained
}

TEST_CASE("sixteen threads hitting one hot key with a frozen clock never admit more than the limit") {
  fake_clock clock;
  clock.now->store(123456);
  for (auto config : {windowed(algorithm::fixed_window, 60000, 1000), windowed(algorithm::sliding_window, 60000, 1000),
                      bucket(algorithm::token_bucket, 1000, 0.0), bucket(algorithm::leaky_bucket, 1000, 0.0)}) {
    auto l = make(config, clock);
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 500; ++i)
          if (l->hit("hot")->allowed)
            ++admitted;
      });
    for (auto& t : threads)
      t.join();
    CAPTURE(to_string(config.algorithm));
    CHECK(admitted == 1000);
    CHECK(l->allowed_hits() == 1000); // every decision counted, under sixteen threads
    CHECK(l->denied_hits() == 16 * 500 - 1000);
  }
}

TEST_CASE("a limiter without an injected clock follows the system clock, also when given system_clock_ms itself") {
  using namespace std::chrono;
  auto system_ms = [] { return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(); };
  auto config = windowed(algorithm::fixed_window, 1000, 1);
  for (auto& l : {*limiter::in_memory(config), *limiter::in_memory(config, system_clock_ms),
                  *limiter::in_memory(config, [] { return system_clock_ms(); })}) {
    auto before = system_ms();
    CHECK(l->hit("k")->allowed);
    auto ends = *l->expires_at("k"); // the end of the window of the hit
    auto after = system_ms();
    CHECK(ends >= (before - 1) / 1000 * 1000 + 1000); // the wall clock is within a millisecond
    CHECK(ends <= (after + 1) / 1000 * 1000 + 1000);
    auto denied = l->hit("k");
    if (!denied->allowed) // unless the window ended in between
      CHECK(denied->retry_after_ms <= ends - before + 1);
  }
}

TEST_CASE("every algorithm counts its decisions: allowed and denied hits, not invalid ones") {
  fake_clock clock;
  for (auto config : {windowed(algorithm::fixed_window, 1000, 3), windowed(algorithm::sliding_window, 1000, 3),
                      bucket(algorithm::token_bucket, 3, 0.0), bucket(algorithm::leaky_bucket, 3, 0.0)}) {
    CAPTURE(to_string(config.algorithm));
    auto l = make(config, clock);
    CHECK(l->allowed_hits() == 0);
    CHECK(l->denied_hits() == 0);
    for (int i = 0; i < 5; ++i)
      l->hit("k");
    CHECK_FALSE(l->hit("k", -1)); // an error is no decision
    CHECK(l->hit("other", 2)->allowed);
    CHECK(l->allowed_hits() == 4);
    CHECK(l->denied_hits() == 2);
  }
}

}
