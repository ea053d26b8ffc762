#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "otpp/actors/breaker/breaker_owner.hpp"
#include "otpp/actors/guards/protected_operation.hpp"
#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/pool/worker_kinds.hpp"
#include "otpp/actors/rate_limit/limiter_owner.hpp"
#include "otpp/actors/thread_call.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor_api.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace std::chrono_literals;

using otpp::test::eventually;

namespace {

constexpr uint64_t mib = 1024 * 1024;

// A node with every guard: a memory manager whose figure the test sets, a
// token bucket, a pool of two `sleep` workers and a breaker.
struct guarded_node {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<std::atomic<uint64_t>> rss = std::make_shared<std::atomic<uint64_t>>(10 * mib);
  caf::actor root;

  std::shared_ptr<std::atomic<int64_t>> breaker_clock = std::make_shared<std::atomic<int64_t>>(1'000'000);

  explicit guarded_node(int64_t tokens = 100, std::size_t workers = 2, uint32_t trial_calls = 1) {
    supervision::supervisor_config config;
    config.name = "guards";
    memory::memory_config memory;
    memory.limit_mb = 100;
    memory.sample_interval = 10ms;
    rate_limit::limiter_config limit;
    limit.name = "calls";
    limit.algorithm = rate_limit::algorithm::token_bucket;
    limit.capacity = tokens;
    limit.rate_per_s = 0;
    pool::pool_config workers_config;
    workers_config.name = "workers";
    workers_config.size = workers;
    workers_config.max_overflow = 0;
    workers_config.worker = "sleep";
    workers_config.args = {{{"delay_ms", int64_t{1}}}};
    breaker::breaker_config service;
    service.name = "svc";
    service.window_size = trial_calls > 4 ? trial_calls : 4;
    service.minimum_calls = service.window_size;
    service.wait_in_open = 1000ms;
    service.half_open_permits = trial_calls;
    config.children = {memory::memory_child(memory, [r = rss] { return r->load(); }),
                       rate_limit::limiter_child(limit, 60s), pool::pool_child(workers_config),
                       breaker::breaker_child(service, [c = breaker_clock] { return c->load(); })};
    auto started = supervision::start_supervisor(sys, config);
    REQUIRE_MESSAGE(started, supervision::describe(started.error()));
    root = *started;
  }

  ~guarded_node() { caf::anon_send_exit(root, caf::exit_reason::user_shutdown); }

  protection all() const {
    protection p;
    p.ns = "test";
    p.service = "svc";
    p.limiter = "calls";
    p.key = "user:1";
    p.pool = "workers";
    p.breaker = "svc";
    return p;
  }

  double tokens() { return *(*rate_limit::find_limiter(sys, "calls"))->get("user:1"); }
  pool::pool_status pool_status() { return pool::find_pool(sys, "workers")->status(); }
  std::shared_ptr<breaker::circuit_breaker> breaker() { return *breaker::find_breaker(sys, "svc"); }

  // Trips the breaker and lets its wait pass: the next call is a trial call.
  void half_open() {
    auto b = breaker();
    while (b->state() == breaker::breaker_state::closed)
      if (auto p = b->try_acquire())
        b->on_error(*p, 1ms);
    *breaker_clock += 1001;
  }
};

caf::expected<caf::atom_value> ask_worker(caf::actor_system& sys, const caf::actor& worker) {
  caf::scoped_actor self{sys};
  auto r = thread_call<pool::sleep_atom>(self, worker, 5s, pool::sleep_atom::value);
  if (!r)
    return r.error();
  return caf::atom_value{*r};
}

} // namespace

TEST_SUITE("protected_operation") {

TEST_CASE("a call that passes every guard gets the operation's value and leaves nothing held") {
  guarded_node node;
  auto r = protected_operation(node.sys, node.all(), [&](const caf::actor& worker) { return ask_worker(node.sys, worker); });
  REQUIRE_MESSAGE(r, supervision::describe(r.error()));
  CHECK(*r == pool::sleep_atom::value);
  CHECK(node.tokens() == 99.0); // the call used its token
  CHECK(node.pool_status().busy == 0);
  CHECK(node.breaker()->totals().calls == 1);
}

TEST_CASE("each guard refuses with its own error and gives back what earlier guards took") {
  guarded_node node{1, 1};
  auto p = node.all();
  SUBCASE("memory_pressure") {
    *node.rss = 99 * mib;
    REQUIRE(eventually([&] { return (*memory::find_memory_manager(node.sys))->level() == memory::pressure::critical; }));
    auto r = protected_operation(node.sys, p, [] { return 1; });
    REQUIRE_FALSE(r);
    CHECK(refused_by(r.error()) == guard_errc::memory_pressure);
    CHECK(supervision::describe(r.error()) == "memory_pressure: level critical (99.0 % of 100 MiB)");
    CHECK(memory_level(r.error()) == memory::pressure::critical);
    CHECK(node.tokens() == 1.0); // the rate limit was never reached
  }
  SUBCASE("rate_limited") {
    CHECK(protected_operation(node.sys, p, [] { return 1; }));
    auto r = protected_operation(node.sys, p, [] { return 1; });
    REQUIRE_FALSE(r);
    CHECK(refused_by(r.error()) == guard_errc::rate_limited);
    CHECK(retry_after_ms(r.error()) == std::numeric_limits<int64_t>::max()); // a rate of 0 never refills
  }
  SUBCASE("pool_full and pool_timeout refund the rate limit") {
    auto held = pool::find_pool(node.sys, "workers")->checkout();
    REQUIRE(held);
    p.block = false;
    auto full = protected_operation(node.sys, p, [] { return 1; });
    REQUIRE_FALSE(full);
    CHECK(refused_by(full.error()) == guard_errc::pool_full);
    CHECK(node.tokens() == 1.0);
    p.block = true;
    p.checkout_timeout = 20ms;
    auto timeout = protected_operation(node.sys, p, [] { return 1; });
    REQUIRE_FALSE(timeout);
    CHECK(refused_by(timeout.error()) == guard_errc::pool_timeout);
    CHECK(node.tokens() == 1.0);
  }
  SUBCASE("circuit_open checks the worker in and refunds the rate limit") {
    node.breaker()->force_open();
    auto r = protected_operation(node.sys, p, [] { return 1; });
    REQUIRE_FALSE(r);
    CHECK(refused_by(r.error()) == guard_errc::circuit_open);
    CHECK(supervision::describe(r.error()) == "circuit_open: service 'svc' (breaker 'svc' is forced_open)");
    CHECK(node.tokens() == 1.0);
    CHECK(node.pool_status().busy == 0);
  }
  SUBCASE("missing") {
    p.limiter = "nope";
    auto r = protected_operation(node.sys, p, [] { return 1; });
    REQUIRE_FALSE(r);
    CHECK(refused_by(r.error()) == guard_errc::missing);
  }
}

TEST_CASE("an operation that throws counts as a failure, propagates, and leaves nothing held") {
  guarded_node node;
  auto p = node.all();
  CHECK_THROWS_AS(protected_operation(node.sys, p, [](const caf::actor&) -> int { throw std::runtime_error("bug"); }),
                  std::runtime_error);
  CHECK(node.breaker()->totals().failed == 1);
  CHECK(node.pool_status().busy == 0);
  CHECK(node.tokens() == 99.0); // the operation ran: its token is spent
}

TEST_CASE("an ignored error releases the breaker's permit without counting") {
  guarded_node node;
  auto p = node.all();
  p.ignore = [](const caf::error& e) { return e == caf::sec::request_timeout; };
  auto r = protected_operation(node.sys, p, [](const caf::actor&) -> caf::expected<int> { return caf::sec::request_timeout; });
  CHECK_FALSE(r);
  CHECK(node.breaker()->totals().calls == 0);
}

TEST_CASE("fault injection: crashing workers, throwing operations and timed-out callers leak nothing") {
  guarded_node node{1000, 3, 1000};
  auto p = node.all();
  p.checkout_timeout = 5s;
  node.half_open(); // every call takes one of 1000 trial permits; a leaked one would be missing below
  std::atomic<int> ran{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      caf::scoped_actor self{node.sys};
      for (int i = 0; i < 25; ++i) {
        try {
          protected_operation(node.sys, p, [&](const caf::actor& worker) -> caf::expected<int> {
            ++ran;
            switch ((t + i) % 4) {
              case 0: caf::anon_send_exit(worker, caf::exit_reason::kill); return caf::sec::runtime_error; // crash
              case 1: throw std::runtime_error("operation bug");
              case 2: { // the caller gives up before the worker answers
                auto r = thread_call<pool::sleep_atom>(self, worker, 0ms, pool::sleep_atom::value);
                return r ? caf::expected<int>{1} : caf::expected<int>{r.error()};
              }
              default: return 1;
            }
          });
        } catch (const std::runtime_error&) {
        }
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(ran == 200);
  CHECK(node.tokens() == 800.0); // exactly what the calls that ran used
  CHECK(eventually([&] {
    auto s = node.pool_status();
    return s.busy == 0 && s.idle == 3; // crashed workers replaced, all checked in
  }));
  auto b = node.breaker();
  REQUIRE(b->state() == breaker::breaker_state::half_open);
  CHECK(b->totals().calls == 200); // every outcome recorded
  int free_permits = 0;
  while (b->try_acquire())
    ++free_permits;
  CHECK(free_permits == 800); // 1000 trial permits, 200 used, none held
}

}
