#include <doctest/doctest.h>

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/redis_server.hpp"

using namespace otpp;
using namespace std::chrono_literals;

namespace {

// A node whose log sees every kind of trouble: its database workers crash
// (the demo kills them), its breaker opens and closes (the demo's updates
// fail half the time), its limiter counts in a Redis the test stops, and a
// child crashes when the test creates its trigger file.
std::string config_text(const test::redis_server& redis, const std::string& trigger) {
  std::ostringstream out;
  out << "[node]\nname = \"json-node\"\n"
      << "[logging]\nformat = \"json\"\nlevel = \"info\"\n"
      << "[supervisor]\nintensity = 100\nperiod_ms = 1000\n"
      << "[rate_limiting]\nbackend = \"redis\"\n"
      << "[rate_limiting.redis]\nurl = \"" << redis.url() << "\"\ntimeout_ms = 100\non_error = \"fail_open\"\n"
      << "[rate_limiters.config_update]\nalgorithm = \"token_bucket\"\ncapacity = 1000000\nrefill_per_s = 1000000\n"
      << "[pools.database]\nsize = 2\nmax_overflow = 0\nworker = \"echo\"\n"
      << "[breakers.config_server]\nwindow_size = 10\nminimum_calls = 5\nfailure_threshold = 50\n"
      << "wait_in_open_ms = 200\nautomatic_half_open = true\nhalf_open_permits = 2\n"
      << "[children.crasher]\nkind = \"test.crash_on_file\"\n"
      << "[children.crasher.args]\nfile = \"" << trigger << "\"\n"
      << "[demo]\nduration_s = 600\nclients = 2\nrate_per_s = 100\ncrash_probability = 0.2\n"
      << "failure_probability = 0.5\n";
  return out.str();
}

std::string event_key(const std::string& name) {
  return "\"event\":\"" + name + "\"";
}

} // namespace

TEST_SUITE("json log run") {

TEST_CASE("every line a JSON-format node logs through crashes, a breaker, a Redis outage and SIGTERM is a JSON object") {
  test::redis_server redis;
  char dir_template[] = "/tmp/otpp-json-log-XXXXXX";
  REQUIRE(::mkdtemp(dir_template));
  std::string dir = dir_template;
  auto trigger = dir + "/crash-now";
  auto config = dir + "/node.toml";
  std::ofstream{config} << config_text(redis, trigger);
  test::child_process node{{OTPP_CRASH_NODE_PATH, config}, test::child_process::output::err};
  REQUIRE_MESSAGE(node.wait_for(event_key("node_started"), 10s), node.seen());

  std::ofstream{trigger} << "now"; // the crasher crashes; its supervisor restarts it
  CHECK_MESSAGE(node.wait_for("\"child\":\"crasher\",\"restarts\":1", 10s), node.seen());
  CHECK_MESSAGE(node.wait_for(event_key("pool_worker_exited"), 10s), node.seen());
  CHECK_MESSAGE(node.wait_for(event_key("breaker_state_changed"), 10s), node.seen());
  redis.stop(); // the limiter's hits fail: its backend is degraded
  CHECK_MESSAGE(node.wait_for(event_key("limiter_backend_degraded"), 10s), node.seen());

  node.signal(SIGTERM);
  node.read_all();
  CHECK(node.wait() == 0);
  std::remove(config.c_str());
  ::rmdir(dir.c_str());

  std::istringstream lines{node.seen()};
  std::set<std::string> events;
  std::size_t count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    CAPTURE(line);
    nlohmann::ordered_json record;
    REQUIRE_NOTHROW(record = nlohmann::ordered_json::parse(line));
    REQUIRE(record.is_object());
    auto it = record.begin();
    for (auto key : {"time", "level", "event", "node"}) { // the fixed keys first, in this order
      REQUIRE(it != record.end());
      CHECK(it.key() == key);
      ++it;
    }
    CHECK(record["time"].is_string());
    CHECK(record["level"].is_string());
    CHECK(record["node"] == "json-node");
    events.insert(record["event"].get<std::string>());
  }
  CHECK(count > 10);
  for (auto expected : {"node_started", "child_started", "child_terminated", "pool_worker_started", "pool_worker_exited",
                        "breaker_state_changed", "limiter_backend_degraded", "node_stopping", "supervisor_shutdown",
                        "node_stopped"})
    CHECK_MESSAGE(events.count(expected) == 1, expected);
}

}
