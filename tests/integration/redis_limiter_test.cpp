#include <doctest/doctest.h>

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "otpp/actors/rate_limit/limiter.hpp"
#include "otpp/actors/rate_limit/limiter_owner.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/registry.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/deterministic.hpp"
#include "tests/support/limiter_fixtures.hpp"
#include "tests/support/event_capture.hpp"
#include "tests/support/redis_server.hpp"

using namespace otpp::rate_limit;
using namespace std::chrono_literals;
using otpp::test::bucket;
using otpp::test::fake_clock;
using otpp::test::redis_server;
using otpp::test::windowed;

extern char** environ;

using otpp::test::eventually;

namespace {

using steady = std::chrono::steady_clock;

redis_options options_for(const redis_server& server, std::string prefix = "test") {
  redis_options o;
  o.url = server.url();
  o.prefix = std::move(prefix);
  o.timeout = 1000ms;
  return o;
}

std::shared_ptr<limiter> on_redis(limiter_config config, redis_options options, limiter::clock clock = nullptr) {
  auto l = limiter::on_redis(std::move(config), std::move(options), std::move(clock));
  REQUIRE_MESSAGE(l, otpp::supervision::describe(l.error()));
  return *l;
}

std::shared_ptr<limiter> in_memory(limiter_config config, const fake_clock& clock) {
  auto l = limiter::in_memory(std::move(config), clock.fn());
  REQUIRE(l);
  return *l;
}

// Runs one command on a fresh connection to `server`; the caller frees the reply.
struct raw_redis {
  explicit raw_redis(const redis_server& server) : c(redisConnect("127.0.0.1", server.port())) {
    REQUIRE(c != nullptr);
    REQUIRE(c->err == 0);
  }
  ~raw_redis() { redisFree(c); }
  std::vector<std::string> keys() {
    auto* r = static_cast<redisReply*>(redisCommand(c, "KEYS *"));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r->elements; ++i)
      out.emplace_back(r->element[i]->str, r->element[i]->len);
    freeReplyObject(r);
    return out;
  }
  long long pttl(const std::string& key) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "PTTL %b", key.data(), key.size()));
    auto ttl = r->integer;
    freeReplyObject(r);
    return ttl;
  }
  void command(const char* text) { freeReplyObject(redisCommand(c, text)); }
  redisContext* c;
};

std::string show(const caf::expected<decision>& d) {
  if (!d)
    return "error " + otpp::supervision::describe(d.error());
  return d->allowed ? "allow " + std::to_string(d->count)
                    : d->never ? "deny never" : "deny " + std::to_string(d->retry_after_ms);
}

template <class T>
std::string show(const caf::expected<T>& x) {
  return x ? std::to_string(*x) : "error " + otpp::supervision::describe(x.error());
}

} // namespace

TEST_SUITE("rate_limit.redis") {

TEST_CASE("on Redis every operation answers exactly as in memory: random operations with a fake clock") {
  redis_server server;
  // Scales and rates long enough that no key expires in real time during the
  // test unless it no longer matters. Time only goes forward: once Redis
  // dropped such a key (as a memory sweep would), the latest time seen for it
  // is forgotten, which a clock going back would reveal.
  for (auto config : {windowed(algorithm::fixed_window, 60000, 5), windowed(algorithm::sliding_window, 60000, 5),
                      bucket(algorithm::token_bucket, 5, 0.01), bucket(algorithm::leaky_bucket, 5, 0.01)}) {
    CAPTURE(to_string(config.algorithm));
    fake_clock clock;
    clock.now->store(1'700'000'000'000);
    auto memory = in_memory(config, clock);
    auto redis = on_redis(config, options_for(server), clock.fn());
    std::mt19937_64 random{42};
    auto pick = [&](uint64_t n) { return random() % n; };
    for (int i = 0; i < 1500; ++i) {
      *clock.now += static_cast<millis>(pick(20000)); // forward only: see the clamp test below
      auto key = "k" + std::to_string(pick(3));
      auto amount = pick(7); // 0 up to limit + 1: also costs that never fit
      auto op = pick(20);
      CAPTURE(i);
      CAPTURE(op);
      CAPTURE(amount);
      if (op < 14) {
        REQUIRE(show(redis->hit(key, static_cast<int64_t>(amount))) == show(memory->hit(key, static_cast<int64_t>(amount))));
      } else if (op == 14) {
        REQUIRE(show(redis->get(key)) == show(memory->get(key)));
      } else if (op == 15) {
        REQUIRE_FALSE(redis->set(key, amount));
        REQUIRE_FALSE(memory->set(key, amount));
      } else if (op == 16) {
        REQUIRE(show(redis->inc(key, amount % 3)) == show(memory->inc(key, amount % 3)));
      } else if (op == 17) {
        REQUIRE(show(redis->expires_at(key)) == show(memory->expires_at(key)));
      } else if (op == 18) {
        REQUIRE_FALSE(redis->reset(key));
        REQUIRE_FALSE(memory->reset(key));
      } else {
        REQUIRE(show(redis->refund(key, amount % 3)) == show(memory->refund(key, amount % 3)));
      }
    }
    CHECK(redis->degraded_hits() == 0);
  }
}

TEST_CASE("on Redis a clock going backwards uses the latest time seen, per key") {
  redis_server server;
  for (auto config : {windowed(algorithm::fixed_window, 1000, 1), windowed(algorithm::sliding_window, 1000, 1),
                      bucket(algorithm::token_bucket, 1, 1.0), bucket(algorithm::leaky_bucket, 1, 1.0)}) {
    CAPTURE(to_string(config.algorithm));
    fake_clock clock;
    clock.now->store(5000);
    auto l = on_redis(config, options_for(server), clock.fn());
    CHECK(l->hit("k")->allowed);
    clock.now->store(1000);
    CHECK(show(l->hit("k")) == "deny 1000"); // as at 5000: nothing granted by going back
    CHECK(l->hit("other")->allowed);         // per key
    clock.now->store(5999);
    CHECK(show(l->hit("k")) == "deny 1");
  }
}

TEST_CASE("on Redis a refund moves the sliding window's end back, and a denied bucket hit still moves time") {
  redis_server server;
  fake_clock clock;
  auto sliding = windowed(algorithm::sliding_window, 60000, 5);
  auto redis = on_redis(sliding, options_for(server), clock.fn());
  auto memory = in_memory(sliding, clock);
  for (auto* l : {&redis, &memory}) {
    clock.now->store(0);
    (*l)->hit("k");
    clock.now->store(1000);
    (*l)->hit("k");
    (*l)->refund("k", 1);
  }
  CHECK(*redis->expires_at("k") == 60000);
  CHECK(*redis->expires_at("k") == *memory->expires_at("k"));
  auto tb = bucket(algorithm::token_bucket, 1, 1.0);
  auto redis_tb = on_redis(tb, options_for(server), clock.fn());
  auto memory_tb = in_memory(tb, clock);
  for (auto* l : {&redis_tb, &memory_tb}) {
    clock.now->store(5000);
    (*l)->hit("b");
    clock.now->store(5500);
    (*l)->hit("b"); // denied, yet 5500 is now the latest time seen
    clock.now->store(5200);
  }
  CHECK(show(redis_tb->hit("b")) == "deny 500");
  CHECK(show(memory_tb->hit("b")) == "deny 500");
}

TEST_CASE("on Redis very large costs and time jumps are answered without overflow") {
  redis_server server;
  fake_clock clock;
  clock.now->store(1'000);
  auto max_cost = std::numeric_limits<int64_t>::max();
  auto fw = on_redis(windowed(algorithm::fixed_window, 1000, 10), options_for(server), clock.fn());
  auto denied = fw->hit("k", max_cost);
  REQUIRE(denied);
  CHECK_FALSE(denied->allowed);
  CHECK_FALSE(denied->never); // the fixed window retries at the window end
  CHECK(denied->retry_after_ms == 1000);
  CHECK_FALSE(fw->hit("k")->allowed); // saturated, not wrapped
  for (auto config : {windowed(algorithm::sliding_window, 1000, 10), bucket(algorithm::token_bucket, 10, 1.0),
                      bucket(algorithm::leaky_bucket, 10, 1.0)}) {
    CAPTURE(to_string(config.algorithm));
    auto l = on_redis(config, options_for(server), clock.fn());
    CHECK(l->hit("k", max_cost)->never);
    CHECK(l->hit("k", 10)->allowed);
  }
  auto huge = bucket(algorithm::token_bucket, 9'007'199'254'740'991, 1e12);
  huge.name = "huge";
  auto tb = on_redis(huge, options_for(server), clock.fn());
  CHECK(show(tb->hit("k", 9'007'199'254'740'991)) == "allow 0");
  *clock.now += 100LL * 365 * 24 * 3600 * 1000; // a century later
  CHECK(tb->hit("k", 9'007'199'254'740'991)->allowed);
  CHECK(*tb->get("k") == 0.0);
}

TEST_CASE("on Redis keys are namespaced by prefix, limiter and algorithm, whatever their bytes") {
  redis_server server;
  auto config = windowed(algorithm::fixed_window, 60000, 1);
  auto p = on_redis(config, options_for(server, "p"));
  auto px = on_redis(config, options_for(server, "p:x"));
  CHECK(p->hit("x:k")->allowed);
  CHECK(px->hit("k")->allowed); // "p" + "x:k" and "p:x" + "k" are different keys
  auto other_name = config;
  other_name.name = "other";
  CHECK(on_redis(other_name, options_for(server, "p"))->hit("x:k")->allowed);
  CHECK(on_redis(windowed(algorithm::sliding_window, 60000, 1), options_for(server, "p"))->hit("x:k")->allowed);
  std::string binary{"\0x\xff*?[", 6};
  for (auto key : {std::string{}, binary, std::string(100000, 'k')}) {
    CHECK(p->hit(key)->allowed);
    CHECK_FALSE(p->hit(key)->allowed);
  }
  CHECK_FALSE(p->hit("x:k")->allowed);
  CHECK(*p->size() == 4);
  CHECK_FALSE(p->reset("x:k"));
  CHECK(*p->size() == 3);
  CHECK(p->hit("x:k")->allowed);
}

TEST_CASE("on Redis every key has a TTL, sub-second windows too, and goes once it no longer matters") {
  redis_server server;
  raw_redis raw{server};
  std::vector<std::pair<std::shared_ptr<limiter>, long long>> limiters{
    {on_redis(windowed(algorithm::fixed_window, 300, 5), options_for(server)), 300},
    {on_redis(windowed(algorithm::sliding_window, 200, 5), options_for(server)), 200},
    {on_redis(bucket(algorithm::token_bucket, 10, 100.0), options_for(server)), 50}, // 5 tokens missing
    {on_redis(bucket(algorithm::leaky_bucket, 10, 100.0), options_for(server)), 50}, // 5 to drain
  };
  for (auto& [l, most] : limiters) {
    CAPTURE(to_string(l->config().algorithm));
    REQUIRE(l->hit("k", 5)->allowed);
    auto keys = raw.keys();
    REQUIRE_FALSE(keys.empty());
    for (auto& key : keys) {
      auto ttl = raw.pttl(key);
      CAPTURE(key);
      CHECK(ttl > 0); // -1 would be a key without TTL
      CHECK(ttl <= most);
    }
    CHECK(eventually([&] { return raw.keys().empty(); }));
  }
}

TEST_CASE("on Redis time comes from Redis when no clock is injected") {
  redis_server server;
  auto fw = on_redis(windowed(algorithm::fixed_window, 10000, 1), options_for(server));
  CHECK(fw->hit("k")->allowed);
  auto denied = fw->hit("k");
  REQUIRE(denied);
  REQUIRE_FALSE(denied->allowed);
  CHECK(denied->retry_after_ms >= 1);
  CHECK(denied->retry_after_ms <= 10000);
  auto tb = on_redis(bucket(algorithm::token_bucket, 1, 1000.0), options_for(server));
  CHECK(tb->hit("k")->allowed);
  CHECK(eventually([&] { return tb->hit("k")->allowed; })); // refilled by Redis's clock
}

TEST_CASE("on Redis a flushed script cache is reloaded without a failed hit") {
  redis_server server;
  auto l = on_redis(windowed(algorithm::fixed_window, 60000, 10), options_for(server));
  CHECK(l->hit("k")->allowed);
  raw_redis{server}.command("SCRIPT FLUSH");
  CHECK(show(l->hit("k")) == "allow 2");
  CHECK(l->degraded_hits() == 0);
}

TEST_CASE("fail_closed: while Redis is down or frozen a hit is denied within the timeout, counted, and the limiter recovers") {
  redis_server server;
  otpp::test::event_capture events;
  auto options = options_for(server);
  options.timeout = 100ms;
  auto l = on_redis(windowed(algorithm::fixed_window, 60000, 10), options);
  REQUIRE(l->hit("k")->allowed);
  REQUIRE(l->hit("k")->count == 2);

  server.stop();
  auto start = steady::now();
  auto down = l->hit("k");
  auto took = steady::now() - start;
  REQUIRE(down);
  CHECK_FALSE(down->allowed);
  CHECK(down->degraded);
  CHECK(down->retry_after_ms >= 1);
  CHECK(down->retry_after_ms <= 101);
  CHECK(took < 1s); // generous bound: the contract is the 100 ms timeout, checked on a shared machine
  CHECK(l->degraded_hits() == 1);
  CHECK(l->denied_hits() == 1); // a degraded answer is a decision too
  auto degraded = events.of<otpp::events::limiter_backend_degraded>();
  REQUIRE(degraded.size() == 1);
  CHECK(degraded[0].limiter == "test");
  CHECK(degraded[0].backend == "redis");
  CHECK(degraded[0].policy == "fail_closed");
  CHECK_FALSE(degraded[0].reason.empty());
  CHECK(l->hit("k")->degraded);
  CHECK(events.of<otpp::events::limiter_backend_degraded>().size() == 1); // once per outage

  server.start();
  REQUIRE(eventually([&] { return !l->hit("k")->degraded; }));
  auto recovered = events.of<otpp::events::limiter_backend_recovered>();
  REQUIRE(recovered.size() == 1);
  CHECK(recovered[0].limiter == "test");
  CHECK(recovered[0].backend == "redis");
  auto both = events.records(); // degraded, then recovered
  auto at = [&](std::size_t i) { return std::string{otpp::events::name_of(both[i].value)}; };
  REQUIRE(both.size() >= 2);
  CHECK(at(0) == "limiter_backend_degraded");
  CHECK(at(both.size() - 1) == "limiter_backend_recovered");
  auto degraded_so_far = l->degraded_hits();

  server.pause(); // connections stay open, nothing answers
  start = steady::now();
  auto frozen = l->hit("k");
  took = steady::now() - start;
  REQUIRE(frozen);
  CHECK_FALSE(frozen->allowed);
  CHECK(frozen->degraded);
  CHECK(took >= 90ms);
  CHECK(took < 1s);
  CHECK(l->degraded_hits() == degraded_so_far + 1);
  server.resume();
  CHECK(eventually([&] { return !l->hit("k")->degraded; }));
}

TEST_CASE("fail_open: while Redis is down a hit is allowed, marked degraded and counted") {
  redis_server server;
  auto options = options_for(server);
  options.timeout = 100ms;
  options.on_error = failure_policy::fail_open;
  auto l = on_redis(bucket(algorithm::token_bucket, 1, 0.0), options);
  REQUIRE(l->hit("k")->allowed);
  REQUIRE_FALSE(l->hit("k")->allowed);
  server.stop();
  auto open = l->hit("k");
  REQUIRE(open);
  CHECK(open->allowed);
  CHECK(open->degraded);
  CHECK(l->degraded_hits() == 1);
  CHECK_FALSE(l->get("k")); // the other operations report the failure
}

TEST_CASE("sixteen threads hitting one hot key on Redis with a frozen clock never admit more than the limit") {
  redis_server server;
  fake_clock clock;
  clock.now->store(123456);
  for (auto config : {windowed(algorithm::fixed_window, 60000, 500), windowed(algorithm::sliding_window, 60000, 500),
                      bucket(algorithm::token_bucket, 500, 0.0), bucket(algorithm::leaky_bucket, 500, 0.0)}) {
    auto l = on_redis(config, options_for(server), clock.fn());
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 50; ++i)
          if (l->hit("hot")->allowed)
            ++admitted;
      });
    for (auto& t : threads)
      t.join();
    CAPTURE(to_string(config.algorithm));
    CHECK(admitted == 500);
    CHECK(l->degraded_hits() == 0);
  }
}

TEST_CASE("two processes sharing one Redis admit exactly the limit between them") {
  redis_server server;
  for (auto a : {"fixed_window", "sliding_window", "token_bucket", "leaky_bucket"}) {
    CAPTURE(a);
    // Each process: 600 hits on one key of a limiter of 500, printing how many were allowed.
    std::vector<std::string> args{OTPP_LIMITER_HITS_PATH, server.url(), a, "500", "600"};
    otpp::test::child_process first{args, otpp::test::child_process::output::out};
    otpp::test::child_process second{args, otpp::test::child_process::output::out};
    long total = 0;
    for (auto* p : {&first, &second}) {
      auto text = p->read_all();
      CAPTURE(text);
      REQUIRE(p->wait() == 0);
      total += std::stol(text);
    }
    CHECK(total == 500);
  }
}

TEST_CASE("a supervised Redis limiter keeps its counts across a restart of its owner") {
  redis_server server;
  otpp::test::deterministic fx;
  otpp::supervision::supervisor_config root;
  auto config = windowed(algorithm::fixed_window, 60000, 2);
  config.name = "api.calls";
  root.children = {limiter_child(config, options_for(server), 1000ms)};
  auto sup = otpp::supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto l = find_limiter(fx.sys, "api.calls");
  REQUIRE(l);
  CHECK((*l)->hit("user:42")->allowed);
  auto owner = otpp::supervision::whereis(fx.sys, "api.calls");
  REQUIRE(owner);
  caf::anon_send_exit(owner, caf::exit_reason::kill);
  fx.run();
  auto again = find_limiter(fx.sys, "api.calls");
  REQUIRE(again);
  CHECK(again->get() != l->get());
  CHECK(show((*again)->hit("user:42")) == "allow 2"); // the count lives in Redis
  CHECK_FALSE((*again)->hit("user:42")->allowed);
  fx.stop(*sup);
}

TEST_CASE("a Redis limiter is validated when it is created") {
  auto config = windowed(algorithm::fixed_window, 1000, 5);
  redis_options options;
  options.url = "http://127.0.0.1";
  auto bad_url = limiter::on_redis(config, options);
  REQUIRE_FALSE(bad_url);
  CHECK(otpp::supervision::describe(bad_url.error())
        == "invalid_argument: limiter 'test': bad_url: bad Redis URL 'http://127.0.0.1': must start with redis://");
  options.url = "redis://127.0.0.1:6379";
  options.timeout = 0ms;
  CHECK_FALSE(limiter::on_redis(config, options));
  options.timeout = 100ms;
  config.limit = int64_t{1} << 53;
  auto too_big = limiter::on_redis(config, options);
  REQUIRE_FALSE(too_big);
  CHECK(otpp::supervision::describe(too_big.error()).find("< 2^53") != std::string::npos);
  CHECK_FALSE(limiter::on_redis(windowed(algorithm::fixed_window, 0, 5), options)); // the common checks too
  CHECK(limiter::on_redis(windowed(algorithm::fixed_window, 1000, (int64_t{1} << 53) - 1), options));
  // A rate Redis could only keep rounded (whole units per ms) is refused, not changed.
  auto coarse = limiter::on_redis(bucket(algorithm::token_bucket, 1'000'000'000'000'000, 100), options);
  REQUIRE_FALSE(coarse);
  CHECK(otpp::supervision::describe(coarse.error()).find("would be kept as 0.000000 on Redis") != std::string::npos);
  CHECK(limiter::on_redis(bucket(algorithm::token_bucket, 1'000'000'000, 1000), options));
}

}
