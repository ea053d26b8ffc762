#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <caf/policy/work_sharing.hpp>
#include <caf/scheduler/coordinator.hpp>

#include "otpp/config/demo.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/config/node.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor_api.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"

using namespace otpp;
using namespace std::chrono_literals;


using otpp::test::eventually;

namespace {

const char* fixture = R"(
[node]
name = "test-node"
[logging]
level = "warn"
[rate_limiters.api]
algorithm = "fixed_window"
scale_ms = 1000
limit = 10
[pools.db]
size = 2
max_overflow = 0
supervisor = "storage"
[breakers.svc]
window_size = 10
[supervisors.storage]
strategy = "one_for_all"
)";

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/otpp-node-XXXXXX";
  int fd = ::mkstemp(name);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  return name;
}

// otpp-node with `args`, its stderr read by the test.
test::child_process node_process(std::vector<std::string> args) {
  args.insert(args.begin(), OTPP_NODE_PATH);
  return test::child_process{std::move(args), test::child_process::output::err};
}

} // namespace

TEST_SUITE("node") {

TEST_CASE("a node starts the tree its file describes and replaces a killed worker") {
  auto loaded = config::load_string(fixture, "fixture.toml");
  REQUIRE(loaded.config);
  auto started = config::node::start(*loaded.config);
  REQUIRE_MESSAGE(started, supervision::describe(started.error()));
  auto& node = **started;
  auto children = supervision::blocking::which_children(node.system(), node.root());
  REQUIRE(children);
  std::vector<std::string> ids;
  for (auto& c : *children)
    ids.push_back(c.id);
  CHECK(ids == std::vector<std::string>{"api", "svc", "storage"});
  caf::actor storage;
  for (auto& c : *children)
    if (c.id == "storage")
      storage = c.handle;
  auto inner = supervision::blocking::which_children(node.system(), storage);
  REQUIRE(inner);
  REQUIRE(inner->size() == 1);
  CHECK(inner->front().id == "db");
  auto old_pool = inner->front().handle;
  caf::anon_send_exit(old_pool, caf::exit_reason::kill);
  CHECK(eventually([&] {
    auto now = supervision::blocking::which_children(node.system(), storage);
    return now && now->size() == 1 && now->front().handle && now->front().handle != old_pool;
  }));
}

TEST_CASE("the node's HTTP endpoint serves /metrics, /health and /status, and 503 when unhealthy") {
  auto loaded = config::load_string(std::string{fixture} + "[http]\nlisten = \"127.0.0.1:0\"\n", "fixture.toml");
  REQUIRE(loaded.config);
  auto started = config::node::start(*loaded.config);
  REQUIRE_MESSAGE(started, supervision::describe(started.error()));
  auto& node = **started;
  REQUIRE(node.http_port() > 0);
  httplib::Client client{"127.0.0.1", node.http_port()};
  auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->body.find("# TYPE otpp_supervisor_restarts_total counter\n") != std::string::npos);
  CHECK(metrics->body.find("otpp_pool_workers{pool=\"db\",state=\"idle\"} 2\n") != std::string::npos);
  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto tree = nlohmann::json::parse(health->body);
  CHECK(tree["name"] == "test-node");
  CHECK(tree["kind"] == "supervisor");
  CHECK(tree["status"] == "healthy");
  auto status = client.Get("/status");
  REQUIRE(status);
  CHECK(status->body.find("{\"node\":\"test-node\",\"health\":{") == 0);
  CHECK(nlohmann::json::parse(status->body)["metrics"].contains("otpp_pool_workers"));

  // A memory limit far below what the process uses: critical, unhealthy.
  auto tight = config::load_string(std::string{fixture} + "[http]\nlisten = \"127.0.0.1:0\"\n[memory]\nlimit_mb = 1\n",
                                   "tight.toml");
  REQUIRE(tight.config);
  tight.config->name = "tight-node";
  auto starved = config::node::start(*tight.config);
  REQUIRE(starved);
  httplib::Client other{"127.0.0.1", (*starved)->http_port()};
  auto sick = other.Get("/health");
  REQUIRE(sick);
  CHECK(sick->status == 503);
  CHECK(sick->body.find("memory critical") != std::string::npos);
}

TEST_CASE("the demo workload runs against the example node and sums up what it saw") {
  auto database = write_temp(""); // an empty file is an empty SQLite database
  auto loaded = config::load_file(OTPP_SOURCE_DIR "/config/example.toml",
                                  {{"OTPP__DEMO__DURATION_S", "2"}, {"OTPP__DEMO__RATE_PER_S", "40"},
                                   {"OTPP__MEMORY__LIMIT_MB", "100000"},
                                   {"OTPP__POOLS__DATABASE__WORKER_ARGS__PATH", database}});
  REQUIRE_MESSAGE(loaded.config, (loaded.problems.empty() ? "" : loaded.problems.front().to_string()));
  REQUIRE(loaded.config->demo);
  CHECK(loaded.config->demo->duration == std::chrono::seconds(2));
  auto started = config::node::start(*loaded.config);
  REQUIRE(started);
  auto summary = config::run_demo(**started, *loaded.config->demo);
  CHECK(summary.reads > 0);
  CHECK(summary.updates_ok > 0);
  CHECK(summary.rate_limited > 0); // 40 updates a second per client against 15 tokens each
  auto table = config::status_table(**started);
  CHECK(table.find("scope-node-1             supervisor healthy   restarts=0") == 0);
  CHECK(table.find("\n    database             pool       healthy   idle=10 busy=0 overflow=0 waiting=0 exits/s=-\n")
        != std::string::npos);
  CHECK(table.find("  config_server          breaker") != std::string::npos);
  CHECK(table.find("level=normal") != std::string::npos);
  auto text = summary.to_text(**started);
  CHECK(text.find("== demo summary: scope-node-1 ==") == 0);
  CHECK(text.find("database pool: idle 10") != std::string::npos);
  CHECK(text.find("worker exits: crash " + std::to_string(summary.workers_crashed) + ",") != std::string::npos);
  CHECK(summary.audit_rows == static_cast<int64_t>(summary.updates_ok)); // no lost audit row
  CHECK(text.find("(none lost)") != std::string::npos);
  started->reset();
  for (auto suffix : {"", "-wal", "-shm"})
    std::remove((database + suffix).c_str());
}

// Whether `sys` runs CAF's work-sharing scheduler (else work stealing).
bool sharing(caf::actor_system& sys) {
  return dynamic_cast<caf::scheduler::coordinator<caf::policy::work_sharing>*>(&sys.scheduler()) != nullptr;
}

TEST_CASE("a node runs on the scheduler its [node] table names") {
  std::string text = fixture;
  text.replace(text.find("name = \"test-node\"\n"), 19,
               "name = \"test-node\"\nscheduler.policy = \"sharing\"\nscheduler.max-threads = 1\n");
  auto loaded = config::load_string(text, "fixture.toml");
  REQUIRE_MESSAGE(loaded.config, (loaded.problems.empty() ? "" : loaded.problems.front().to_string()));
  auto started = config::node::start(*loaded.config);
  REQUIRE(started);
  CHECK(sharing((*started)->system()));
  CHECK((*started)->system().scheduler().num_workers() == 1);
  auto by_default = config::node::start(*config::load_string(fixture, "fixture.toml").config);
  REQUIRE(by_default);
  CHECK_FALSE(sharing((*by_default)->system()));
  CHECK((*by_default)->system().scheduler().num_workers() == std::max(1u, std::thread::hardware_concurrency()));
}

TEST_CASE("a [demo] table needs the components it drives") {
  auto r = config::load_string("[demo]\nduration_s = 1\n", "demo.toml");
  REQUIRE_FALSE(r.config);
  CHECK(r.problems.front().to_string() == "demo.toml:1:1: demo: needs rate_limiters.config_update");
}

TEST_CASE("otpp-node --check answers 0 for a good file and 78 with every problem for a bad one") {
  auto good = write_temp(fixture);
  auto ok = node_process({"--check", good});
  CHECK(ok.wait() == 0);
  auto bad = write_temp("[pools.db]\nsize = -1\n[logging]\nlevel = \"loud\"\n"
                        "[pools.q]\nworker = \"sqlite\"\n[pools.q.worker_args]\nbusy_timeout_ms = \"abc\"\npathh = \"x\"\n");
  auto refused = node_process({"--check", bad});
  CHECK(refused.wait_for("nothing started"));
  CHECK(refused.wait() == 78);
  CHECK(refused.seen().find(bad + ":2:8: pools.db.size: must be in [0, 100000], got -1") != std::string::npos);
  CHECK(refused.seen().find(bad + ":4:9: logging.level:") != std::string::npos);
  // A kind's declared arguments: each misuse at its position, before anything starts.
  CHECK(refused.seen().find(bad + ":9:1: pools.q.worker_args.pathh: unknown argument (did you mean 'path'?)")
        != std::string::npos);
  CHECK(refused.seen().find(bad + ":7:1: pools.q.worker_args.path: missing (a required string)") != std::string::npos);
  CHECK(refused.seen().find(bad + ":8:19: pools.q.worker_args.busy_timeout_ms: must be an integer, got \"abc\"")
        != std::string::npos);
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

TEST_CASE("otpp-node runs until SIGTERM, then stops the tree in order and exits 0") {
  std::string text = fixture;
  text.replace(text.find("level = \"warn\""), 14, "level = \"info\""); // to see the start and stop lines
  auto info = write_temp(text);
  auto node = node_process({info});
  REQUIRE(node.wait_for("node_started node=\"test-node\""));
  node.signal(SIGTERM);
  CHECK(node.wait_for("node_stopped node=\"test-node\""));
  CHECK(node.wait() == 0);
  CHECK(node.seen().find("supervisor_shutdown node=\"test-node\" supervisor=\"storage\"")
        < node.seen().find("supervisor_shutdown node=\"test-node\" supervisor=\"test-node\""));
  std::remove(info.c_str());
}

}
