#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <caf/scoped_actor.hpp>

#include "otpp/actors/breaker/breaker_owner.hpp"
#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/pool/worker_kinds.hpp"
#include "otpp/actors/rate_limit/limiter_owner.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/config/node.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor_api.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/event_capture.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/loopback_socket.hpp"

using namespace otpp;
using namespace std::chrono_literals;
using otpp::test::eventually;

namespace {

const std::string base = R"([node]
name = "reload-node"
[logging]
level = "warn"

[rate_limiters.api]
algorithm = "fixed_window"
scale_ms = 600000
limit = 10

[breakers.payments]
window_size = 4
minimum_calls = 4
failure_threshold = 50
wait_in_open_ms = 600000

[pools.db]
size = 3
max_overflow = 0
worker = "echo"

[pools.other]
size = 2
max_overflow = 0
worker = "echo"
)";

// `text` with the first `from` replaced by `to`.
std::string with(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return text.replace(at, from.size(), to);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::trunc};
  out << text;
  REQUIRE(out.good());
}

// A node started from a file, as otpp-node starts it; `reload` rewrites the file and reloads it.
struct file_node {
  std::string path;
  std::unique_ptr<config::node> n;

  explicit file_node(const std::string& text) {
    char name[] = "/tmp/otpp-reload-XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    write_file(path, text);
    auto loaded = config::load_file(path);
    REQUIRE_MESSAGE(loaded.config, (loaded.problems.empty() ? "" : loaded.problems.front().to_string()));
    auto started = config::node::start(*loaded.config, {path, loaded.sha256, {}});
    REQUIRE_MESSAGE(started, supervision::describe(started.error()));
    n = std::move(*started);
  }

  ~file_node() {
    n.reset();
    std::remove(path.c_str());
  }

  config::reload_outcome reload(const std::string& text) {
    write_file(path, text);
    auto outcome = n->reload();
    for (auto& e : outcome.errors)
      MESSAGE(e);
    for (auto& f : outcome.failures)
      MESSAGE(f);
    return outcome;
  }

  pool::pool_ref pool(const std::string& name) {
    auto p = pool::find_pool(n->system(), name);
    REQUIRE_MESSAGE(p, supervision::describe(p.error()));
    return *p;
  }
};

// Every child of the running tree, by path: its incarnation and restarts.
std::map<std::string, std::pair<caf::actor_addr, std::size_t>> tree_of(config::node& n) {
  std::map<std::string, std::pair<caf::actor_addr, std::size_t>> out;
  auto walk = [&](const caf::actor& sup, const std::string& prefix, auto& self) -> void {
    auto children = supervision::blocking::which_children(n.system(), sup);
    REQUIRE(children);
    for (auto& c : *children) {
      out[prefix + c.id] = {c.handle.address(), c.restarts};
      if (c.type == supervision::child_type::supervisor && c.handle)
        self(c.handle, prefix + c.id + "/", self);
    }
  };
  walk(n.root(), "", walk);
  return out;
}

std::set<caf::actor_addr> idle_workers_of(const pool::pool_ref& p) {
  auto idle = p.idle_workers();
  REQUIRE(idle);
  std::set<caf::actor_addr> out;
  for (auto& w : *idle)
    out.insert(w.address());
  return out;
}

} // namespace

TEST_SUITE("node reload") {

TEST_CASE("a pool grows 3 -> 6 and shrinks to 2 under a checkout load; no checkout fails and other pools are untouched") {
  file_node node{base};
  auto db = node.pool("db");
  auto other = node.pool("other");
  auto other_workers = idle_workers_of(other);
  REQUIRE(other_workers.size() == 2);
  test::event_capture events;
  constexpr auto checkout_timeout = 2000ms;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<long long> slowest_us{0};
  std::atomic<long> checkouts{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i)
    callers.emplace_back([&] {
      while (!stop) {
        auto start = std::chrono::steady_clock::now();
        auto lease = db.checkout(true, checkout_timeout);
        auto waited = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
        if (waited.count() > slowest_us)
          slowest_us = waited.count();
        if (!lease) {
          ++failures;
          continue;
        }
        ++checkouts;
        std::this_thread::sleep_for(100us); // holds the worker a little: callers wait for each other
        lease->release();
      }
    });
  auto live = [&] {
    auto s = db.status();
    return s.idle + s.busy;
  };
  REQUIRE(eventually([&] { return checkouts > 100; }));

  auto grown = node.reload(with(base, "size = 3", "size = 6"));
  CHECK(grown.applied);
  CHECK(grown.failures.empty());
  CHECK(grown.summary == "reload: 1 changed, 0 added, 0 removed, 7 unchanged");
  CHECK(db.status().size == 6);
  CHECK(eventually([&] { return live() == 6; }));
  auto before_shrink = checkouts.load();
  CHECK(eventually([&] { return checkouts > before_shrink + 100; }));

  auto shrunk = node.reload(with(base, "size = 3", "size = 2"));
  CHECK(shrunk.applied);
  CHECK(shrunk.failures.empty());
  CHECK(db.status().size == 2);
  CHECK(eventually([&] { return live() == 2; }));
  auto after_shrink = checkouts.load();
  CHECK(eventually([&] { return checkouts > after_shrink + 100; }));
  stop = true;
  for (auto& t : callers)
    t.join();

  CHECK(failures == 0);
  CHECK(slowest_us < std::chrono::duration_cast<std::chrono::microseconds>(checkout_timeout).count());
  CHECK(eventually([&] { return db.status().idle == 2; }));
  CHECK(idle_workers_of(other) == other_workers);
  for (auto& started : events.of<events::pool_worker_started>())
    CHECK(started.pool != "other");
  for (auto& exited : events.of<events::pool_worker_exited>())
    CHECK(exited.pool != "other");
}

TEST_CASE("a limiter's limit lowered mid-window keeps its spent count, and raised lets more hits through") {
  file_node node{base};
  auto api = rate_limit::find_limiter(node.n->system(), "api");
  REQUIRE(api);
  for (int i = 0; i < 6; ++i)
    REQUIRE((*api)->hit("client")->allowed);
  REQUIRE(node.reload(with(base, "limit = 10", "limit = 5")).applied);
  CHECK_FALSE((*api)->hit("client")->allowed); // 7 counted (denied hits count, as in Hammer) of 5
  CHECK((*api)->hit("another client")->allowed);
  REQUIRE(node.reload(with(base, "limit = 10", "limit = 8")).applied);
  CHECK((*api)->hit("client")->allowed); // 8 of 8
  CHECK_FALSE((*api)->hit("client")->allowed);
  auto same = rate_limit::find_limiter(node.n->system(), "api");
  REQUIRE(same);
  CHECK(same->get() == api->get()); // the same limiter: not restarted
}

TEST_CASE("a breaker whose threshold changes while OPEN stays OPEN") {
  file_node node{base};
  auto payments = breaker::find_breaker(node.n->system(), "payments");
  REQUIRE(payments);
  for (int i = 0; i < 4; ++i) {
    auto permit = (*payments)->try_acquire();
    REQUIRE(permit);
    (*payments)->on_error(*permit, 1ms);
  }
  REQUIRE((*payments)->state() == breaker::breaker_state::open);
  auto outcome = node.reload(with(base, "failure_threshold = 50", "failure_threshold = 90"));
  REQUIRE(outcome.applied);
  CHECK(outcome.changes.size() == 1);
  CHECK((*payments)->state() == breaker::breaker_state::open);
  CHECK((*payments)->config().failure_threshold == 90);
  CHECK_FALSE((*payments)->try_acquire());
}

TEST_CASE("a supervisor with its children is added, then removed; the rest keeps running untouched") {
  file_node node{base};
  test::event_capture events;
  auto before = tree_of(*node.n);
  auto extended = base + R"(
[supervisors.jobs]
strategy = "one_for_all"

[pools.jobs_pool]
size = 2
max_overflow = 0
supervisor = "jobs"

[rate_limiters.jobs_limit]
algorithm = "token_bucket"
capacity = 5
refill_per_s = 1
supervisor = "jobs"
)";
  auto added = node.reload(extended);
  REQUIRE(added.applied);
  CHECK(added.failures.empty());
  CHECK(added.summary == "reload: 0 changed, 3 added, 0 removed, 8 unchanged");
  CHECK(node.pool("jobs_pool").status().size == 2);
  CHECK(rate_limit::find_limiter(node.n->system(), "jobs_limit"));
  auto during = tree_of(*node.n);
  CHECK(during.count("jobs/jobs_pool") == 1);
  CHECK(during.count("jobs/jobs_limit") == 1);
  for (auto& [id, incarnation] : before)
    CHECK_MESSAGE(during.at(id) == incarnation, id);
  auto changed = events.of<events::config_changed>();
  REQUIRE(changed.size() == 3);
  CHECK(changed[0].change == "added");

  auto removed = node.reload(base);
  REQUIRE(removed.applied);
  CHECK(removed.summary == "reload: 0 changed, 0 added, 3 removed, 8 unchanged");
  CHECK(tree_of(*node.n) == before);
  CHECK(supervision::is(pool::find_pool(node.n->system(), "jobs_pool").error(), supervision::errc::not_found));
  CHECK_FALSE(rate_limit::find_limiter(node.n->system(), "jobs_limit"));
}

TEST_CASE("a pool moved to another supervisor is stopped under the old one and started under the new one") {
  file_node node{base};
  auto before = tree_of(*node.n);
  auto moved = node.reload(with(base, "[pools.other]\n", "[supervisors.edge]\n\n[pools.other]\nsupervisor = \"edge\"\n"));
  REQUIRE(moved.applied);
  CHECK(moved.failures.empty());
  CHECK(moved.summary == "reload: 1 changed, 1 added, 0 removed, 7 unchanged");
  auto after = tree_of(*node.n);
  CHECK(after.count("other") == 0);
  REQUIRE(after.count("edge/other") == 1);
  CHECK(after.at("edge/other").first != before.at("other").first);
  for (auto& id : {"api", "payments", "db"})
    CHECK_MESSAGE(after.at(id) == before.at(id), id);
  CHECK(node.pool("other").status().size == 2);
}

TEST_CASE("worker_args changes replace the workers one at a time, never more than one out of service") {
  auto sleepy = with(base, "size = 3\nmax_overflow = 0\nworker = \"echo\"",
                     "size = 3\nmax_overflow = 0\nworker = \"sleep\"\nworker_args = { delay_ms = 1 }");
  file_node node{sleepy};
  auto db = node.pool("db");
  auto originals = idle_workers_of(db);
  REQUIRE(originals.size() == 3);
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> fewest{3};
  std::thread watcher([&] {
    while (!stop) {
      auto s = db.status();
      fewest = std::min<std::size_t>(fewest, s.idle + s.busy);
      std::this_thread::sleep_for(100us);
    }
  });
  auto outcome = node.reload(with(sleepy, "delay_ms = 1", "delay_ms = 150"));
  CHECK(outcome.applied);
  REQUIRE(outcome.changes.size() == 1);
  CHECK(outcome.changes[0].details
        == std::vector<std::string>{"worker_args {delay_ms = 1} -> {delay_ms = 150} (workers replaced one at a time)"});
  bool replaced = eventually([&] {
    auto now = idle_workers_of(db);
    return now.size() == 3 && std::none_of(now.begin(), now.end(), [&](auto& w) { return originals.count(w) > 0; });
  });
  stop = true;
  watcher.join();
  CHECK(replaced);
  CHECK(fewest >= 2);
  auto start = std::chrono::steady_clock::now();
  auto answered = db.transaction([&](const caf::actor& w) {
    caf::scoped_actor self{node.n->system()};
    bool ok = false;
    self->request(w, 5s, pool::sleep_atom::value).receive([&](pool::sleep_atom) { ok = true; }, [](caf::error&) {});
    return ok;
  });
  REQUIRE(answered);
  CHECK(*answered);
  CHECK(std::chrono::steady_clock::now() - start >= 140ms); // the new worker_args
}

TEST_CASE("a file with errors, or a change that needs a restart, is rejected and changes nothing") {
  file_node node{base};
  test::event_capture events;
  auto before = tree_of(*node.n);
  auto sha = node.n->source().sha256;

  auto bad = node.reload(with(with(base, "size = 3", "size = -1"), "limit = 10", "limit = \"ten\""));
  CHECK_FALSE(bad.applied);
  REQUIRE(bad.errors.size() == 2);
  CHECK(bad.errors[0].find(node.path + ":9:") == 0);
  CHECK(bad.errors[0].find("rate_limiters.api.limit") != std::string::npos);
  CHECK(bad.errors[1].find("pools.db.size") != std::string::npos);
  CHECK(events.of<events::config_rejected>().size() == 2);

  auto renamed = node.reload(with(base, "name = \"reload-node\"", "name = \"another-name\""));
  CHECK_FALSE(renamed.applied);
  REQUIRE(renamed.errors.size() == 1);
  CHECK(renamed.errors[0].find("a restart of the node is needed") != std::string::npos);

  std::remove(node.path.c_str());
  auto missing = node.n->reload();
  CHECK_FALSE(missing.applied);
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].find("cannot read the file") != std::string::npos);

  CHECK(tree_of(*node.n) == before);
  CHECK(node.pool("db").status().size == 3);
  CHECK(node.n->source().sha256 == sha);
  CHECK_FALSE(node.n->source().last_reload);
  CHECK(node.n->config().pools.front().config.size == 3);
  CHECK(events.of<events::config_changed>().empty());
}

TEST_CASE("logging and memory thresholds change in place, and the summary counts each change") {
  auto with_memory = base + "\n[memory]\nlimit_mb = 4096\nhigh_percent = 85\n";
  file_node node{with_memory};
  test::event_capture events;
  auto before = tree_of(*node.n);
  auto outcome = node.reload(with(with(with_memory, "high_percent = 85", "high_percent = 80"), "level = \"warn\"",
                                  "level = \"info\"\nformat = \"json\""));
  REQUIRE(outcome.applied);
  CHECK(outcome.summary == "reload: 2 changed, 0 added, 0 removed, 7 unchanged");
  auto manager = memory::find_memory_manager(node.n->system());
  REQUIRE(manager);
  CHECK((*manager)->config().high_percent == 80);
  CHECK(tree_of(*node.n) == before);
  auto reloaded = events.of<events::config_reloaded>();
  REQUIRE(reloaded.size() == 1);
  CHECK(reloaded[0].summary == outcome.summary);
  CHECK(reloaded[0].sha256 == node.n->source().sha256);
  CHECK(node.n->source().last_reload);
}

TEST_CASE("the HTTP endpoint moves to a new address; one that cannot be bound keeps the old and says so") {
  auto served = [](int port) {
    httplib::Client client{"127.0.0.1", port};
    client.set_connection_timeout(2s);
    auto res = client.Get("/health");
    return res && res->status == 200;
  };
  auto http = base + "\n[http]\nlisten = \"127.0.0.1:0\"\n";
  file_node node{http};
  auto first = node.n->http_port();
  REQUIRE(served(first));
  auto port = test::free_loopback_port();
  auto moved = node.reload(with(http, "127.0.0.1:0", "127.0.0.1:" + std::to_string(port)));
  REQUIRE(moved.applied);
  CHECK(moved.failures.empty());
  CHECK(node.n->http_port() == port);
  CHECK(served(port));
  CHECK_FALSE(served(first));

  test::loopback_socket taken{1}; // listens: the port is taken
  auto refused = node.reload(with(http, "127.0.0.1:0", "127.0.0.1:" + std::to_string(taken.port())));
  CHECK(refused.applied);
  REQUIRE(refused.failures.size() == 1);
  CHECK(refused.failures[0].find("update http/: ") == 0);
  CHECK(node.n->http_port() == port);
  CHECK(served(port));
}

TEST_CASE("otpp-node reloads its file on SIGHUP and on POST /reload behind its token, and shows it in /status and /metrics") {
  ::setenv("OTPP_TEST_RELOAD_TOKEN", "reload-secret", 1);
  auto port = test::free_loopback_port();
  auto text = with(base, "level = \"warn\"", "level = \"info\"") + "\n[http]\nlisten = \"127.0.0.1:"
              + std::to_string(port) + "\"\ntoken_env = \"OTPP_TEST_RELOAD_TOKEN\"\n";
  char name[] = "/tmp/otpp-reload-node-XXXXXX";
  int fd = ::mkstemp(name);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::string path = name;
  write_file(path, text);
  test::child_process node{{OTPP_NODE_PATH, path}};
  REQUIRE(node.wait_for("node_started"));
  httplib::Client client{"127.0.0.1", port};
  client.set_read_timeout(30s);
  httplib::Headers token{{"Authorization", "Bearer reload-secret"}};
  auto size_of_db = [&] {
    auto res = client.Get("/pools/db", token);
    REQUIRE(res);
    REQUIRE(res->status == 200);
    return nlohmann::json::parse(res->body).at("size").get<int>();
  };
  REQUIRE(size_of_db() == 3);

  write_file(path, with(text, "size = 3", "size = 4"));
  node.signal(SIGHUP);
  CHECK(node.wait_for("reload: 1 changed, 0 added, 0 removed, 7 unchanged"));
  CHECK(size_of_db() == 4);

  write_file(path, with(text, "size = 3", "size = 5"));
  auto refused = client.Post("/reload");
  REQUIRE(refused);
  CHECK(refused->status == 401);
  CHECK(size_of_db() == 4);
  auto reloaded = client.Post("/reload", token, "", "text/plain");
  REQUIRE(reloaded);
  CHECK(reloaded->status == 200);
  auto answer = nlohmann::json::parse(reloaded->body);
  CHECK(answer.at("applied") == true);
  CHECK(answer.at("summary") == "reload: 1 changed, 0 added, 0 removed, 7 unchanged");
  CHECK(answer.at("changes").at(0).at("details").at(0) == "size 4 -> 5");
  CHECK(size_of_db() == 5);
  auto status = client.Get("/status", token);
  REQUIRE(status);
  auto config = nlohmann::json::parse(status->body).at("config");
  CHECK(config.at("path") == path);
  CHECK(config.at("sha256") == config::load_file(path).sha256);
  CHECK(config.at("last_reload").is_string());

  write_file(path, with(text, "size = 3", "size = \"five\""));
  auto bad = client.Post("/reload", token, "", "text/plain");
  REQUIRE(bad);
  CHECK(bad->status == 422);
  auto errors = nlohmann::json::parse(bad->body).at("errors");
  REQUIRE(errors.size() == 1);
  CHECK(errors.at(0).get<std::string>().find(path + ":18:") == 0);
  CHECK(node.wait_for("config_rejected"));
  CHECK(size_of_db() == 5);

  auto metrics = client.Get("/metrics", token);
  REQUIRE(metrics);
  CHECK(metrics->body.find("otpp_config_reloads_total{result=\"ok\"} 2") != std::string::npos);
  CHECK(metrics->body.find("otpp_config_reloads_total{result=\"rejected\"} 1") != std::string::npos);
  node.signal(SIGTERM);
  CHECK(node.wait() == 0);
  std::remove(path.c_str());
  ::unsetenv("OTPP_TEST_RELOAD_TOKEN");
}

} // TEST_SUITE
