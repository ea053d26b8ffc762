#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/actors/rate_limit/limiter_owner.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/registry.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "tests/support/deterministic.hpp"

using namespace otpp;
using namespace otpp::rate_limit;
using namespace std::chrono_literals;

TEST_SUITE("rate_limit.owner") {

TEST_CASE("a supervised owner sweeps expired keys on its timer and a restart starts an empty store") {
  test::deterministic fx;
  auto now = std::make_shared<std::atomic<millis>>(0);
  limiter_config config;
  config.name = "api.calls";
  config.algorithm = algorithm::fixed_window;
  config.scale_ms = 1000;
  config.limit = 5;
  supervision::supervisor_config root;
  root.children = {limiter_child(config, 30000ms, [now] { return now->load(); })};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto l = find_limiter(fx.sys, "api.calls");
  REQUIRE(l);
  (*l)->hit("user:42");
  now->store(1500); // the window ended, the key is still held
  CHECK((*l)->size() == 1);
  fx.advance(29999ms);
  CHECK((*l)->size() == 1);
  fx.advance(1ms); // the sweep
  CHECK((*l)->size() == 0);
  auto owner = supervision::whereis(fx.sys, "api.calls");
  REQUIRE(owner);
  caf::anon_send_exit(owner, caf::exit_reason::kill);
  fx.run();
  auto again = find_limiter(fx.sys, "api.calls");
  REQUIRE(again);
  CHECK(again->get() != l->get());
  fx.stop(*sup);
  CHECK_FALSE(find_limiter(fx.sys, "api.calls"));
}

TEST_CASE("the owner exports the limiter's hits by decision and its keys, exact under threads, and they end with it") {
  test::deterministic fx;
  auto now = std::make_shared<std::atomic<millis>>(0);
  limiter_config config;
  config.name = "metered";
  config.algorithm = algorithm::fixed_window;
  config.scale_ms = 60000;
  config.limit = 1000;
  supervision::supervisor_config root;
  root.children = {limiter_child(config, 30000ms, [now] { return now->load(); })};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto l = *find_limiter(fx.sys, "metered");
  const std::string hits = perf::families::limiter_hits.name;
  auto value = [](const std::string& family, const perf::label_values& labels) {
    auto s = perf::metrics().take_snapshot();
    auto* x = s.find(family, labels);
    return x ? x->value : -1.0;
  };
  CHECK(value(hits, {"metered", "allow"}) == 0);
  CHECK(value(hits, {"metered", "deny"}) == 0);
  CHECK(value(perf::families::limiter_keys.name, {"metered"}) == 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([l] {
      for (int i = 0; i < 200; ++i)
        l->hit("hot");
    });
  for (auto& t : threads)
    t.join();
  l->hit("cold");
  CHECK(value(hits, {"metered", "allow"}) == 1001); // the limit on "hot", one on "cold"
  CHECK(value(hits, {"metered", "deny"}) == 8 * 200 - 1000);
  CHECK(perf::metrics().take_snapshot().sum(hits, {"metered"}) == 8 * 200 + 1);
  CHECK(value(perf::families::limiter_keys.name, {"metered"}) == 2);
  CHECK(value(perf::families::limiter_degraded_hits.name, {"metered"}) == 0);
  fx.stop(*sup);
  auto after = perf::metrics().take_snapshot();
  CHECK(after.find(hits, {"metered", "allow"}) == nullptr);
  CHECK(after.find(perf::families::limiter_keys.name, {"metered"}) == nullptr);
}

TEST_CASE("an invalid limiter fails its owner's start with the reason") {
  test::deterministic fx;
  limiter_config config;
  config.name = "bad";
  config.algorithm = algorithm::token_bucket;
  config.capacity = -1;
  supervision::supervisor_config root;
  root.children = {limiter_child(config, 1000ms)};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE_FALSE(sup);
  CHECK(supervision::describe(sup.error())
        == "start_failed: child 'bad': invalid_argument: limiter 'bad': capacity must be >= 0, got -1");
}

}

TEST_SUITE("rate_limit.owner") {

TEST_CASE("a limiter sweeps at once when the memory manager reaches high, also after the manager restarted") {
  bool restart_manager = false;
  SUBCASE("the first manager") {}
  SUBCASE("a restarted manager") { restart_manager = true; }
  test::deterministic fx;
  auto now = std::make_shared<std::atomic<millis>>(0);
  auto rss = std::make_shared<std::atomic<uint64_t>>(uint64_t{10} << 20);
  memory::memory_config memory;
  memory.limit_mb = 100;
  memory.sample_interval = 100ms;
  limiter_config config;
  config.name = "api.calls";
  config.algorithm = algorithm::fixed_window;
  config.scale_ms = 1000;
  config.limit = 5;
  supervision::supervisor_config root;
  root.children = {memory::memory_child(memory, [rss] { return rss->load(); }),
                   limiter_child(config, 30000ms, [now] { return now->load(); })};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  if (restart_manager) {
    auto first = *memory::find_memory_manager(fx.sys);
    caf::anon_send_exit(supervision::whereis(fx.sys, "memory"), caf::exit_reason::kill);
    fx.run();
    REQUIRE(memory::find_memory_manager(fx.sys));
    REQUIRE(*memory::find_memory_manager(fx.sys) != first); // a new manager
  }
  auto l = *find_limiter(fx.sys, "api.calls");
  l->hit("user:42");
  now->store(1500); // the window ended: the key no longer matters
  *rss = uint64_t{85} << 20;
  fx.advance(100ms); // the next sample finds memory high
  CHECK(*l->size() == 0); // swept long before the 30 s cleanup
  fx.stop(*sup);
}

}
