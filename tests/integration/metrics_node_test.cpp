#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/prometheus_text.hpp"

using namespace otpp;
using namespace std::chrono_literals;

namespace {

// A node with every kind of component: nested supervisors, pools of two
// worker kinds, a limiter of each algorithm, breakers of both windows, the
// memory manager, the HTTP endpoint, and the demo workload, which runs
// protected operations through them and crashes database workers.
const char* every_kind_toml = R"(
[node]
name = "metrics-node"
[logging]
level = "critical"
[supervisor]
intensity = 1000
period_ms = 1000
[rate_limiters.config_update]
algorithm = "token_bucket"
capacity = 15
refill_per_s = 5
[rate_limiters.events_in]
algorithm = "leaky_bucket"
capacity = 100
leak_per_s = 1.5
[rate_limiters.parsing]
algorithm = "sliding_window"
scale_ms = 60000
limit = 50
[rate_limiters.api]
algorithm = "fixed_window"
scale_ms = 1000
limit = 10
[pools.database]
size = 2
max_overflow = 2
worker = "echo"
supervisor = "storage"
[pools.analyzer]
size = 2
max_overflow = 1
worker = "sleep"
[pools.analyzer.worker_args]
delay_ms = 5
[breakers.config_server]
window = "count"
window_size = 10
minimum_calls = 5
failure_threshold = 50
wait_in_open_ms = 500
[breakers.timed]
window = "time"
window_size = 10
[memory]
limit_mb = 100000
[supervisors.storage]
strategy = "one_for_one"
intensity = 1000
period_ms = 1000
[demo]
duration_s = 60
clients = 2
rate_per_s = 50
crash_probability = 0.2
failure_probability = 0.5
keys = 4
)";

// The families each kind of component above exports.
const std::set<std::string> expected_families{
  "otpp_supervisor_restarts_total", "otpp_pool_workers", "otpp_pool_waiting", "otpp_pool_worker_exits_total",
  "otpp_limiter_hits_total", "otpp_breaker_state", "otpp_breaker_calls_total", "otpp_memory_bytes",
  "otpp_memory_limit_bytes", "otpp_memory_level", "otpp_protected_operation_seconds",
  "otpp_protected_operation_results_total"};

// A loopback port nothing listens on right now.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t size = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/otpp-metrics-node-XXXXXX";
  int fd = ::mkstemp(name);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream{name} << text;
  return name;
}

// otpp-node running `every_kind_toml`, and its /metrics once the demo has
// run protected operations and every expected family is there (or 20 s passed).
struct every_kind_node {
  int port = free_port();
  std::string file = write_temp(std::string{every_kind_toml} + "[http]\nlisten = \"127.0.0.1:" + std::to_string(port)
                                + "\"\n");
  test::child_process process{{OTPP_NODE_PATH, file}, test::child_process::output::both};
  std::string metrics;

  every_kind_node() {
    httplib::Client client{"127.0.0.1", port};
    client.set_connection_timeout(1s);
    client.set_read_timeout(5s);
    auto complete = [&] {
      auto r = client.Get("/metrics");
      if (!r || r->status != 200)
        return false;
      metrics = r->body;
      auto types = test::parse_prometheus(metrics).types;
      for (auto& name : expected_families)
        if (!types.count(name))
          return false;
      return metrics.find("otpp_protected_operation_seconds_count") != std::string::npos;
    };
    test::eventually(complete, 20s);
    REQUIRE_MESSAGE(!metrics.empty(), "otpp-node never answered /metrics on port " << port << ": " << process.seen());
  }
  ~every_kind_node() { ::unlink(file.c_str()); }

  std::set<std::string> families() const {
    std::set<std::string> out;
    for (auto& [name, type] : test::parse_prometheus(metrics).types)
      out.insert(name);
    return out;
  }
};

nlohmann::json dashboard() {
  std::ifstream in{OTPP_SOURCE_DIR "/docs/grafana/otpp-node.json"};
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

// Every PromQL text of a dashboard: panel targets' `expr` and template variable queries.
void queries_of(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto& [key, value] : j.items())
      if ((key == "expr" || key == "query") && value.is_string())
        out.push_back(value.get<std::string>());
      else
        queries_of(value, out);
  } else if (j.is_array()) {
    for (auto& x : j)
      queries_of(x, out);
  }
}

// The otpp_ metric names a PromQL expression refers to.
std::set<std::string> metrics_named(const std::string& expr) {
  std::set<std::string> out;
  std::regex name{R"(\botpp_[a-zA-Z0-9_:]*)"};
  for (std::sregex_iterator i{expr.begin(), expr.end(), name}, end; i != end; ++i)
    out.insert(i->str());
  return out;
}

} // namespace

TEST_SUITE("metrics.node") {

TEST_CASE("a node with every kind of component exports each kind's families, parseable line by line") {
  every_kind_node node;
  auto families = node.families();
  for (auto& name : expected_families) {
    CAPTURE(name);
    CHECK(families.count(name) == 1);
  }
  auto text = test::parse_prometheus(node.metrics);
  for (auto& name : families)
    CHECK_MESSAGE(!text.helps[name].empty(), name);
  std::set<std::string> pools;
  for (auto& s : text.samples)
    if (s.name == "otpp_pool_workers")
      pools.insert(s.labels.at(0).second);
  CHECK(pools == std::set<std::string>{"analyzer", "database"});
}

TEST_CASE("promtool check metrics is clean on the /metrics of a node with every kind of component") {
  every_kind_node node;
  auto checked = test::promtool_check(node.metrics);
  if (!checked) {
    MESSAGE("SKIPPED: promtool is not installed (Debian: apt-get install prometheus)");
    return;
  }
  CHECK_MESSAGE(checked->code == 0, checked->output);
  CHECK_MESSAGE(checked->output.empty(), checked->output);
}

TEST_CASE("the Grafana dashboard is a dashboard model with a datasource and an instance variable") {
  auto d = dashboard();
  CHECK(d.at("schemaVersion").get<int>() >= 36);
  CHECK_FALSE(d.at("title").get<std::string>().empty());
  CHECK_FALSE(d.at("uid").get<std::string>().empty());
  std::set<std::string> variables;
  for (auto& v : d.at("templating").at("list")) {
    variables.insert(v.at("name").get<std::string>());
    if (v.at("name") == "datasource")
      CHECK(v.at("type") == "datasource");
  }
  CHECK(variables.count("datasource") == 1);
  CHECK(variables.count("instance") == 1);
  REQUIRE_FALSE(d.at("panels").empty());
  std::set<int> ids;
  for (auto& p : d.at("panels")) {
    CAPTURE(p.dump());
    CHECK(ids.insert(p.at("id").get<int>()).second);
    CHECK(p.at("gridPos").contains("w"));
    if (p.at("type") == "row")
      continue;
    CHECK(p.at("datasource").at("uid") == "${datasource}");
    REQUIRE_FALSE(p.at("targets").empty());
    for (auto& t : p.at("targets"))
      CHECK(t.at("expr").get<std::string>().find("instance=~\"$instance\"") != std::string::npos);
  }
  std::set<std::string> named;
  std::vector<std::string> queries;
  queries_of(d, queries);
  for (auto& q : queries)
    for (auto& m : metrics_named(q))
      named.insert(m);
  for (auto name : {"otpp_supervisor_restarts_total", "otpp_pool_workers", "otpp_pool_waiting",
                    "otpp_pool_worker_exits_total", "otpp_breaker_state", "otpp_limiter_hits_total", "otpp_memory_bytes",
                    "otpp_memory_limit_bytes", "otpp_memory_level"}) {
    CAPTURE(name);
    CHECK(named.count(name) == 1);
  }
}

TEST_CASE("every metric the Grafana dashboard's expressions name is one a node exports") {
  std::vector<std::string> queries;
  queries_of(dashboard(), queries);
  REQUIRE_FALSE(queries.empty());
  every_kind_node node;
  auto text = test::parse_prometheus(node.metrics);
  for (auto& q : queries)
    for (auto& name : metrics_named(q)) {
      CAPTURE(q);
      CAPTURE(name);
      auto exported = text.types.count(name) == 1;
      for (auto suffix : {"_bucket", "_sum", "_count"}) {
        std::string tail = suffix;
        if (name.size() > tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0) {
          auto base = name.substr(0, name.size() - tail.size());
          exported = exported || (text.types.count(base) && text.types.at(base) == "histogram");
        }
      }
      CHECK(exported);
    }
}

}
