#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "otpp/config/loader.hpp"
#include "otpp/config/reload_plan.hpp"
#include "otpp/supervision/kinds.hpp"

using namespace otpp;
using namespace otpp::config;

namespace {

node_config loaded(const std::string& text) {
  auto r = load_string(text, "node.toml");
  for (auto& p : r.problems)
    FAIL_CHECK(p.to_string());
  REQUIRE(r.config);
  return *r.config;
}

// The steps as "action kind/name@supervisor", in order.
std::vector<std::string> steps_of(const reload_plan& p) {
  std::vector<std::string> out;
  for (auto& s : p.steps)
    out.push_back(to_string(s.act) + " " + s.component.kind + "/" + s.component.name + "@" + s.supervisor);
  return out;
}

const config_change* change_of(const reload_plan& p, const std::string& kind, const std::string& name) {
  for (auto& c : p.changes)
    if (c.component.kind == kind && c.component.name == name)
      return &c;
  return nullptr;
}

const std::string tree = R"([node]
name = "n1"

[supervisors.storage]
strategy = "one_for_all"

[rate_limiters.api]
algorithm = "fixed_window"
scale_ms = 1000
limit = 100

[breakers.payments]
failure_threshold = 50

[pools.db]
size = 3
max_overflow = 1
worker = "echo"
supervisor = "storage"

[pools.cache]
size = 2
worker = "echo"
)";

} // namespace

TEST_SUITE("config.reload_plan") {

TEST_CASE("an identical file changes nothing and counts every component and setting as unchanged") {
  auto a = loaded(tree);
  auto p = plan_reload(a, loaded(tree));
  CHECK(p.refused.empty());
  CHECK(p.changes.empty());
  CHECK(p.steps.empty());
  // storage, api, payments, db, cache, the root, logging, rate_limiting, http
  CHECK(p.unchanged == 9);
  CHECK(p.summary() == "reload: 0 changed, 0 added, 0 removed, 9 unchanged");
}

TEST_CASE("pool sizes, limits and breaker thresholds change in place, naming each field's old and new value") {
  auto next = tree;
  next.replace(next.find("size = 3"), 8, "size = 6");
  next.replace(next.find("limit = 100"), 11, "limit = 10");
  next.replace(next.find("failure_threshold = 50"), 22, "failure_threshold = 20");
  auto p = plan_reload(loaded(tree), loaded(next));
  CHECK(p.refused.empty());
  CHECK(steps_of(p) == std::vector<std::string>{"update pool/db@storage", "update breaker/payments@",
                                                "update limiter/api@"});
  REQUIRE(change_of(p, "pool", "db"));
  CHECK(change_of(p, "pool", "db")->details == std::vector<std::string>{"size 3 -> 6"});
  CHECK(change_of(p, "limiter", "api")->details == std::vector<std::string>{"limit 100 -> 10"});
  CHECK(change_of(p, "breaker", "payments")->details == std::vector<std::string>{"failure_threshold 50 -> 20"});
  CHECK(p.summary() == "reload: 3 changed, 0 added, 0 removed, 6 unchanged");
}

TEST_CASE("worker_args change in place, as a rolling replacement of the pool's workers") {
  auto sleepy = tree;
  sleepy.replace(sleepy.rfind("worker = \"echo\""), 15, "worker = \"sleep\"");
  auto a = loaded(sleepy + "[pools.cache.worker_args]\ndelay_ms = 0\n");
  auto b = loaded(sleepy + "[pools.cache.worker_args]\ndelay_ms = 5\n");
  auto p = plan_reload(a, b);
  CHECK(steps_of(p) == std::vector<std::string>{"update pool/cache@"});
  REQUIRE(change_of(p, "pool", "cache"));
  REQUIRE(change_of(p, "pool", "cache")->details.size() == 1);
  CHECK(change_of(p, "pool", "cache")->details[0].find("workers replaced one at a time") != std::string::npos);
}

TEST_CASE("a limiter whose algorithm changed is stopped and started again: its keys start over") {
  auto next = tree;
  next.replace(next.find("algorithm = \"fixed_window\""), 26, "algorithm = \"sliding_window\"");
  auto p = plan_reload(loaded(tree), loaded(next));
  CHECK(steps_of(p) == std::vector<std::string>{"stop limiter/api@", "start limiter/api@"});
  REQUIRE(change_of(p, "limiter", "api"));
  CHECK(change_of(p, "limiter", "api")->details
        == std::vector<std::string>{"algorithm fixed_window -> sliding_window (keys start over)"});
}

TEST_CASE("a supervisor with its children is added in start order and removed in reverse order") {
  auto bigger = tree + R"(
[supervisors.edge]

[breakers.edge_breaker]
supervisor = "edge"

[pools.edge_pool]
size = 1
worker = "echo"
supervisor = "edge"
)";
  auto add = plan_reload(loaded(tree), loaded(bigger));
  // The supervisor starts with what it runs: one step.
  CHECK(steps_of(add) == std::vector<std::string>{"start supervisor/edge@"});
  CHECK(add.summary() == "reload: 0 changed, 3 added, 0 removed, 9 unchanged");
  CHECK(change_of(add, "pool", "edge_pool")->change == config_change::what::added);

  auto remove = plan_reload(loaded(bigger), loaded(tree));
  CHECK(steps_of(remove) == std::vector<std::string>{"stop supervisor/edge@"});
  CHECK(remove.summary() == "reload: 0 changed, 0 added, 3 removed, 9 unchanged");
  // Removals are reported in the order they stop: what started last first.
  CHECK(remove.changes[0].component.name == "edge_pool");
  CHECK(remove.changes[1].component.name == "edge_breaker");
  CHECK(remove.changes[2].component.name == "edge");
}

TEST_CASE("components removed from a running supervisor stop in reverse start order before anything starts") {
  auto next = tree;
  next.erase(next.find("[breakers.payments]"), std::string{"[breakers.payments]\nfailure_threshold = 50\n\n"}.size());
  next += "\n[breakers.fraud]\n";
  auto p = plan_reload(loaded(tree), loaded(next));
  CHECK(steps_of(p) == std::vector<std::string>{"stop breaker/payments@", "start breaker/fraud@"});
}

TEST_CASE("a component moved to another supervisor is stopped under the old one and started under the new") {
  auto next = tree;
  next.replace(next.find("supervisor = \"storage\""), 22, "supervisor = \"\"");
  auto p = plan_reload(loaded(tree), loaded(next));
  CHECK(steps_of(p) == std::vector<std::string>{"stop pool/db@storage", "start pool/db@"});
  REQUIRE(change_of(p, "pool", "db"));
  CHECK(change_of(p, "pool", "db")->change == config_change::what::moved);
  CHECK(change_of(p, "pool", "db")->details[0] == "supervisor \"storage\" -> \"\"");
}

TEST_CASE("a supervisor moved under another restarts with everything under it, and says so") {
  auto a = loaded(tree + "[supervisors.outer]\n");
  auto b = loaded(R"([supervisors.outer]
)" + tree.substr(0, tree.find("[supervisors.storage]")) + "[supervisors.storage]\nstrategy = \"one_for_all\"\nparent = \"outer\"\n"
                  + tree.substr(tree.find("[rate_limiters.api]")));
  auto p = plan_reload(a, b);
  CHECK(steps_of(p) == std::vector<std::string>{"stop supervisor/storage@", "start supervisor/storage@outer"});
  CHECK(change_of(p, "supervisor", "storage")->change == config_change::what::moved);
  REQUIRE(change_of(p, "pool", "db"));
  CHECK(change_of(p, "pool", "db")->details == std::vector<std::string>{"restarted: supervisor \"storage\" moved"});
}

TEST_CASE("supervisor flags change in place") {
  auto next = tree;
  next.replace(next.find("strategy = \"one_for_all\""), 24, "strategy = \"rest_for_one\"\nintensity = 5");
  auto p = plan_reload(loaded(tree), loaded(next));
  CHECK(steps_of(p) == std::vector<std::string>{"update supervisor/storage@"});
  CHECK(change_of(p, "supervisor", "storage")->details
        == std::vector<std::string>{"strategy one_for_all -> rest_for_one", "intensity 1 -> 5"});
}

TEST_CASE("logging changes first and the HTTP endpoint last") {
  auto next = tree + "\n[logging]\nlevel = \"debug\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n";
  next.replace(next.find("size = 2"), 8, "size = 4");
  auto p = plan_reload(loaded(tree), loaded(next));
  CHECK(steps_of(p) == std::vector<std::string>{"update logging/@", "update pool/cache@", "update http/@"});
  CHECK(change_of(p, "logging", "")->details == std::vector<std::string>{"level \"info\" -> \"debug\""});
}

TEST_CASE("[node] name, the scheduler, [cluster] and [demo] changes are refused: a restart is needed") {
  auto next = tree;
  next.replace(next.find("name = \"n1\""), 11, "name = \"n2\"\nscheduler.max-threads = 1");
  auto b = loaded(next);
  b.demo = demo_config{}; // [demo] needs the demo's own components: set here
  auto p = plan_reload(loaded(tree), b);
  REQUIRE(p.refused.size() == 2);
  CHECK(p.refused[0] == "[node] changed (name \"n1\" -> \"n2\", scheduler.max_threads 0 -> 1): a restart of the node is needed");
  CHECK(p.refused[1] == "[demo] changed (absent -> configured): a restart of the node is needed");

  auto clustered = tree + "\n[cluster]\nnode_name = \"a\"\nlisten = \"127.0.0.1:4370\"\nheartbeat_interval_ms = 100\n";
  auto retuned = clustered;
  retuned.replace(retuned.find("heartbeat_interval_ms = 100"), 27, "heartbeat_interval_ms = 200");
  auto c = plan_reload(loaded(clustered), loaded(retuned));
  REQUIRE(c.refused.size() == 1);
  CHECK(c.refused[0] == "[cluster] changed (heartbeat_interval 100 ms -> 200 ms): a restart of the node is needed");
}

TEST_CASE("a Redis URL change restarts every limiter without showing the URL, which may hold a password") {
  auto redis = tree + "\n[rate_limiting]\nbackend = \"redis\"\n[rate_limiting.redis]\nurl = \"redis://:old@127.0.0.1:6379\"\n";
  auto next = redis;
  next.replace(next.find(":old@"), 5, ":new@");
  auto p = plan_reload(loaded(redis), loaded(next));
  CHECK(steps_of(p) == std::vector<std::string>{"stop limiter/api@", "start limiter/api@"});
  REQUIRE(change_of(p, "limiter", "api"));
  CHECK(change_of(p, "limiter", "api")->details == std::vector<std::string>{"redis.url changed (keys start over)"});
}

void register_ticker_kind() {
  supervision::register_child_kind("test.reload_ticker", {},
                                   [](supervision::start_context& ctx, const supervision::arguments&) -> caf::expected<caf::actor> {
                                     return ctx.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x; }}; });
                                   });
}

TEST_CASE("a [children] entry whose spec changed is restarted with its new spec") {
  register_ticker_kind();
  auto a = loaded(tree + "\n[children.ticker]\nkind = \"test.reload_ticker\"\n");
  auto b = loaded(tree + "\n[children.ticker]\nkind = \"test.reload_ticker\"\nrestart = \"transient\"\n");
  auto p = plan_reload(a, b);
  CHECK(steps_of(p) == std::vector<std::string>{"stop child/ticker@", "start child/ticker@"});
  CHECK(change_of(p, "child", "ticker")->details == std::vector<std::string>{"restart permanent -> transient"});
}

TEST_CASE("a supervisor that becomes simple_one_for_one restarts with everything under it") {
  register_ticker_kind();
  auto a = loaded(tree + "\n[supervisors.jobs]\n[children.ticker]\nkind = \"test.reload_ticker\"\nsupervisor = \"jobs\"\n");
  auto b = loaded(tree + "\n[supervisors.jobs]\nstrategy = \"simple_one_for_one\"\n"
                         "[supervisors.jobs.template]\nkind = \"test.reload_ticker\"\n");
  auto p = plan_reload(a, b);
  CHECK(steps_of(p) == std::vector<std::string>{"stop supervisor/jobs@", "start supervisor/jobs@"});
  REQUIRE(change_of(p, "supervisor", "jobs"));
  CHECK(change_of(p, "supervisor", "jobs")->details.front()
        == "strategy one_for_one -> simple_one_for_one (restarted with everything under it)");
  CHECK(change_of(p, "child", "ticker")->change == config_change::what::removed);
}

} // TEST_SUITE
