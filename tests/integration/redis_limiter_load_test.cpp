#include <doctest/doctest.h>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "otpp/actors/rate_limit/limiter.hpp"
#include "otpp/actors/rate_limit/redis_keys.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/limiter_fixtures.hpp"
#include "tests/support/redis_server.hpp"

using namespace otpp::rate_limit;
using namespace std::chrono_literals;
using otpp::test::bucket;
using otpp::test::eventually;
using otpp::test::redis_server;
using otpp::test::windowed;

namespace {

using steady = std::chrono::steady_clock;

std::shared_ptr<limiter> on_redis(limiter_config config, redis_options options) {
  auto l = limiter::on_redis(std::move(config), std::move(options));
  REQUIRE_MESSAGE(l, otpp::supervision::describe(l.error()));
  return *l;
}

redis_options options_for(const redis_server& server, int connections) {
  redis_options o;
  o.url = server.url();
  o.prefix = "load";
  o.timeout = 1000ms;
  o.connections = connections;
  return o;
}

// A plain hiredis connection for looking at the server.
struct raw_redis {
  explicit raw_redis(int port) : c(redisConnect("127.0.0.1", port), &redisFree) {
    REQUIRE(c);
    REQUIRE(c->err == 0);
  }
  std::string text(const char* command) {
    auto* r = static_cast<redisReply*>(redisCommand(c.get(), command));
    REQUIRE(r != nullptr);
    std::string out = r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR
                        ? std::string{r->str, r->len}
                        : std::string{};
    freeReplyObject(r);
    return out;
  }
  // A number field of INFO ("name:value" or "name:count=value,...").
  long long info(const std::string& field) {
    auto all = text("INFO everything");
    auto at = all.find("\n" + field + ":");
    if (at == std::string::npos)
      return 0;
    auto value = all.substr(at + field.size() + 2);
    if (auto eq = value.find('='); eq != std::string::npos && eq < value.find('\n'))
      value = value.substr(eq + 1);
    return std::stoll(value);
  }
  std::vector<std::string> keys() {
    auto* r = static_cast<redisReply*>(redisCommand(c.get(), "KEYS *"));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r->elements; ++i)
      out.emplace_back(r->element[i]->str, r->element[i]->len);
    freeReplyObject(r);
    return out;
  }
  std::unique_ptr<redisContext, decltype(&redisFree)> c;
};

struct load_result {
  long allowed = 0;
  long failed = 0; // errors and hits answered by the failure policy
  steady::duration slowest{};
};

// `threads` threads, each hitting `key` `hits` times.
load_result hammer(limiter& l, int threads, int hits, const std::string& key, std::atomic<long>* done = nullptr) {
  std::atomic<long> allowed{0}, failed{0};
  std::vector<steady::duration> slowest(static_cast<std::size_t>(threads));
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t)
    running.emplace_back([&, t] {
      for (int i = 0; i < hits; ++i) {
        auto start = steady::now();
        auto d = l.hit(key);
        slowest[static_cast<std::size_t>(t)] = std::max(slowest[static_cast<std::size_t>(t)], steady::now() - start);
        if (!d || d->degraded)
          ++failed;
        else if (d->allowed)
          ++allowed;
        if (done)
          ++*done;
      }
    });
  for (auto& t : running)
    t.join();
  return {allowed.load(), failed.load(), *std::max_element(slowest.begin(), slowest.end())};
}

} // namespace

TEST_SUITE("rate_limit.redis.load") {

TEST_CASE("three processes of sixteen threads sharing one Redis token bucket of 100 admit exactly 100") {
  redis_server server;
  std::vector<std::string> args{OTPP_LIMITER_HITS_PATH, server.url(), "token_bucket", "100", "10", "16"};
  std::vector<std::unique_ptr<otpp::test::child_process>> processes;
  for (int i = 0; i < 3; ++i)
    processes.push_back(std::make_unique<otpp::test::child_process>(args, otpp::test::child_process::output::out));
  long total = 0;
  for (auto& p : processes) {
    auto text = p->read_all();
    CAPTURE(text);
    REQUIRE(p->wait() == 0); // no hit failed or was answered by the policy
    total += std::stol(text);
  }
  CHECK(total == 100); // of 480 hits
}

TEST_CASE("sixteen threads on Redis share the limiter's connections and their hits are pipelined") {
  redis_server server;
  raw_redis raw{server.port()};
  auto l = on_redis(bucket(algorithm::token_bucket, 1000, 0.0), options_for(server, 2));
  auto reads_before = raw.info("total_reads_processed");
  auto r = hammer(*l, 16, 100, "k");
  CHECK(r.allowed == 1000);
  CHECK(r.failed == 0);
  CHECK(raw.info("connected_clients") == 3); // the limiter's two and this one
  // One read of the server per batch: fewer reads than hits.
  auto reads = raw.info("total_reads_processed") - reads_before;
  CAPTURE(reads);
  CHECK(reads < 1600);
}

TEST_CASE("SCRIPT FLUSH again and again during a sixteen-thread pipelined load on Redis fails no hit and keeps counts exact") {
  redis_server server;
  raw_redis raw{server.port()};
  auto l = on_redis(bucket(algorithm::token_bucket, 2000, 0.0), options_for(server, 2));
  REQUIRE(l->hit("warm")->allowed); // the script is loaded
  std::atomic<long> done{0};
  std::atomic<bool> finished{false};
  long flushes = 0;
  std::thread flusher{[&] {
    // A flush after every 32 hits, while the load runs.
    for (long next = 32; !finished; next += 32) {
      while (!finished && done < next)
        std::this_thread::yield();
      raw.text("SCRIPT FLUSH");
      ++flushes;
    }
  }};
  auto r = hammer(*l, 16, 300, "k", &done);
  finished = true;
  flusher.join();
  CHECK(r.allowed == 2000); // of 4800
  CHECK(r.failed == 0);
  CHECK(l->degraded_hits() == 0);
  CHECK(flushes > 10);
  CHECK(raw.info("errorstat_NOSCRIPT") > 0); // the retry did run
}

TEST_CASE("while Redis is frozen every one of sixteen threads' pipelined hits answers within the timeout, then Redis is used again") {
  redis_server server;
  auto options = options_for(server, 2);
  options.timeout = 200ms;
  auto l = on_redis(windowed(algorithm::fixed_window, 60000, 100000), options);
  REQUIRE(l->hit("k")->allowed);
  server.pause();
  auto r = hammer(*l, 16, 5, "k");
  CHECK(r.failed == 80);
  CHECK(r.allowed == 0);
  CAPTURE(std::chrono::duration_cast<std::chrono::milliseconds>(r.slowest).count());
  CHECK(r.slowest < 600ms); // the contract is 200 ms; generous for a shared machine
  server.resume();
  CHECK(eventually([&] { return !l->hit("k")->degraded; }));
}

TEST_CASE("on Redis both keys of a hit share one hash tag, and keys with brace bytes stay distinct") {
  redis_server server;
  raw_redis raw{server.port()};
  auto sliding = on_redis(windowed(algorithm::sliding_window, 60000, 1), options_for(server, 1));
  std::vector<std::string> keys{"{x}", "x}", "{x", "x", "}{", std::string("{\0}", 3), "user:{42}"};
  for (auto& key : keys) {
    CAPTURE(key);
    CHECK(sliding->hit(key)->allowed); // distinct: each one's first hit
    CHECK_FALSE(sliding->hit(key)->allowed);
  }
  CHECK(*sliding->size() == keys.size());
  auto stored = raw.keys();
  CHECK(stored.size() == 2 * keys.size()); // a state hash and a log each
  std::set<std::string> tags;
  for (auto& k : stored) {
    auto tag = hash_tag(k);
    CAPTURE(k);
    CHECK(k.compare(0, tag.size() + 2, "{" + tag + "}") == 0); // the tag is the first {...}
    CHECK(tag.rfind("load:", 0) == 0);                         // made of the prefix and the key
    tags.insert(tag);
  }
  CHECK(tags.size() == keys.size()); // one tag per user key, shared by its two keys
}

}
