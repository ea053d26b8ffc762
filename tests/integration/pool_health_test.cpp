// A pool's health as /health shows it: crash loops turn it degraded, no live
// worker unhealthy; and what its supervisor knows of it (restarts, last reason).
#include <doctest/doctest.h>

#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "otpp/actors/health/health.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/pool_kinds.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace std::chrono_literals;
using otpp::test::eventually;

namespace {

pool::pool_config counted(const std::string& name, std::size_t size) {
  test::register_counted_kind();
  pool::pool_config config;
  config.name = name;
  config.size = size;
  config.max_overflow = 0;
  config.worker = "test.counted";
  return config;
}

/// A threaded system running `config` as the only child of the supervisor "root".
struct tree {
  explicit tree(pool::pool_config config) : sys(cfg) {
    supervision::supervisor_config root;
    root.name = "root";
    root.flags.intensity = 5;
    root.children = {pool::pool_child(config)};
    auto started = supervision::start_supervisor(sys, root);
    REQUIRE_MESSAGE(started, supervision::describe(started.error()));
    sup = *started;
  }
  ~tree() { caf::anon_send_exit(sup, caf::exit_reason::user_shutdown); }

  /// The pool's node in the health tree.
  health::node pool_node() {
    auto h = health::check(sys, sup, "root", 5s);
    REQUIRE(h.children.size() == 1);
    return h.children[0];
  }

  test::threaded_config cfg;
  caf::actor_system sys;
  caf::actor sup;
};

double crash_exits(const std::string& pool) {
  auto snap = perf::metrics().take_snapshot();
  auto* s = snap.find(perf::families::pool_worker_exits.name, {pool, "crash"});
  return s ? s->value : -1;
}

/// Kills the idle workers of `name` until `stop`.
void crash_workers(caf::actor_system& sys, const std::string& name, std::atomic<bool>& stop) {
  while (!stop) {
    if (auto p = pool::find_pool(sys, name))
      if (auto idle = p->idle_workers())
        for (auto& w : *idle)
          caf::anon_send_exit(w, caf::exit_reason::kill);
    std::this_thread::sleep_for(1ms);
  }
}

} // namespace

TEST_SUITE("pool.health") {

TEST_CASE("with the defaults a pool whose workers all crash turns degraded within 5 s and its crash counter rises") {
  tree t{counted("health.loop", 4)};
  CHECK(t.pool_node().state == health::status::healthy);
  std::atomic<bool> stop{false};
  std::thread crasher{[&] { crash_workers(t.sys, "health.loop", stop); }};
  health::node seen;
  bool alarmed = eventually([&] { // unhealthy at the moments no worker lives
    seen = t.pool_node();
    return seen.state != health::status::healthy && seen.reason.find(" workers crashed") != std::string::npos;
  }, 5s);
  stop = true;
  crasher.join();
  REQUIRE_MESSAGE(alarmed, seen.reason);
  CHECK(seen.reason.find(" workers crashed in the last 5 s (alarm above 4)") != std::string::npos);
  CHECK(eventually([&] { return t.pool_node().state == health::status::degraded; }, 5s)); // workers live again
  CHECK(crash_exits("health.loop") > 4);
}

TEST_CASE("a crash-looping pool is healthy again once a window has passed without crashes") {
  auto config = counted("health.window", 2);
  config.crash_alarm_exits = 3;
  config.crash_alarm_window = 300ms;
  tree t{config};
  std::atomic<bool> stop{false};
  std::thread crasher{[&] { crash_workers(t.sys, "health.window", stop); }};
  health::node seen;
  bool alarmed = eventually([&] {
    seen = t.pool_node();
    return seen.reason.find("workers crashed in the last 300 ms (alarm above 3)") != std::string::npos;
  }, 5s);
  stop = true;
  crasher.join();
  REQUIRE_MESSAGE(alarmed, seen.reason);
  CHECK(seen.state != health::status::healthy);
  auto crashed = crash_exits("health.window");
  CHECK(crashed > 3);
  CHECK(eventually([&] { return t.pool_node().state == health::status::healthy; }, 5s));
  CHECK(crash_exits("health.window") >= crashed); // a counter never goes back
}

TEST_CASE("a pool whose workers all fail to start is unhealthy with no live worker, and says it crash-loops") {
  test::register_failing_kind("test.never_starts", 1000000000);
  pool::pool_config config;
  config.name = "health.dead";
  config.size = 2;
  config.max_overflow = 0;
  config.worker = "test.never_starts";
  config.start_backoff = supervision::backoff_options{10ms, 10ms, 1.0, 0.0, 0ms};
  tree t{config};
  auto first = t.pool_node();
  CHECK(first.state == health::status::unhealthy);
  CHECK(first.reason.find("no live worker") == 0);
  health::node seen;
  CHECK(eventually([&] {
    seen = t.pool_node();
    return seen.reason.find("no live worker, ") == 0 && seen.reason.find("workers crashed in the last 5 s (alarm above 2)") != std::string::npos;
  }, 5s));
  CHECK(seen.state == health::status::unhealthy);
}

TEST_CASE("the health tree tells each child's restarts and last reason, also in JSON") {
  tree t{counted("health.restarted", 1)};
  auto before = t.pool_node();
  CHECK(before.restarts == 0);
  CHECK(before.last_reason.empty());
  auto p = pool::find_pool(t.sys, "health.restarted");
  REQUIRE(p);
  auto old = p->actor();
  caf::anon_send_exit(old, caf::exit_reason::kill);
  health::node after;
  CHECK(eventually([&] {
    after = t.pool_node();
    return after.restarts == 1 && after.state == health::status::healthy;
  }, 5s));
  CHECK(after.last_reason == "killed");
  auto json = health::check(t.sys, t.sup, "root", 5s).to_json();
  CHECK(json.find(R"("restarts":1)") != std::string::npos);
  CHECK(json.find(R"("last_reason":"killed")") != std::string::npos);
}

TEST_CASE("a TOML pool takes crash_alarm_exits and crash_alarm_window_ms, checked with positions") {
  auto ok = config::load_string("[pools.db]\nsize = 3\ncrash_alarm_exits = 7\ncrash_alarm_window_ms = 2000\n", "node.toml");
  REQUIRE(ok.config);
  REQUIRE(ok.config->pools.size() == 1);
  CHECK(ok.config->pools[0].config.crash_alarm_exits == std::optional<std::size_t>{7});
  CHECK(ok.config->pools[0].config.crash_alarm_window == 2000ms);
  auto defaults = config::load_string("[pools.db]\nsize = 3\n", "node.toml");
  REQUIRE(defaults.config);
  CHECK_FALSE(defaults.config->pools[0].config.crash_alarm_exits);
  CHECK(defaults.config->pools[0].config.crash_alarm_window == 5000ms);
  auto bad = config::load_string("[pools.db]\ncrash_alarm_exits = -1\ncrash_alarm_window_ms = 0\n", "node.toml");
  REQUIRE(bad.problems.size() == 2);
  CHECK(bad.problems[0].to_string() == "node.toml:2:21: pools.db.crash_alarm_exits: must be in [0, 1000000], got -1");
  CHECK(bad.problems[1].to_string().find("node.toml:3:25: pools.db.crash_alarm_window_ms: must be in [1, ") == 0);
}

}
