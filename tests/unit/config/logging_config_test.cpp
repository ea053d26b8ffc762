#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/events/log_sink.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/config/node.hpp"

using namespace otpp;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> problems_of(const std::string& text, const config::environment& env = {}) {
  auto r = config::load_string(text, "node.toml", env);
  std::vector<std::string> out;
  for (auto& p : r.problems)
    out.push_back(p.to_string());
  CHECK(r.config.has_value() == out.empty());
  return out;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in{path};
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

} // namespace

TEST_SUITE("config.logging") {

TEST_CASE("the overload protection is on by default: 50 events per key per second, 1000 lines queued") {
  auto r = config::load_string("[logging]\nlevel = \"warn\"\n", "node.toml");
  REQUIRE(r.config);
  auto& l = r.config->logging;
  CHECK(l.burst_limit_enable);
  CHECK(l.burst_limit_max_count == 50);
  CHECK(l.burst_limit_window == 1000ms);
  CHECK(l.drop_mode_qlen == 1000);
}

TEST_CASE("the overload keys of [logging] are read, from the file and from the environment") {
  auto r = config::load_string(R"([logging]
burst_limit_enable = false
burst_limit_max_count = 5
burst_limit_window_ms = 250
drop_mode_qlen = 10
)",
                               "node.toml", {{"OTPP__LOGGING__DROP_MODE_QLEN", "20"}});
  REQUIRE(r.config);
  auto& l = r.config->logging;
  CHECK_FALSE(l.burst_limit_enable);
  CHECK(l.burst_limit_max_count == 5);
  CHECK(l.burst_limit_window == 250ms);
  CHECK(l.drop_mode_qlen == 20);
}

TEST_CASE("bad overload keys of [logging] are reported at their positions") {
  CHECK(problems_of(R"([logging]
burst_limit_enable = "yes"
burst_limit_max_count = 0
burst_limit_window_ms = -5
drop_mode_qlen = 1.5
burst_limit_windw_ms = 3
)") == std::vector<std::string>{
           "node.toml:2:22: logging.burst_limit_enable: must be true or false",
           "node.toml:3:25: logging.burst_limit_max_count: must be in [1, 1000000], got 0",
           "node.toml:4:25: logging.burst_limit_window_ms: must be in [1, 3600000], got -5",
           "node.toml:5:18: logging.drop_mode_qlen: must be an integer",
           "node.toml:6:1: logging.burst_limit_windw_ms: unknown key (did you mean 'burst_limit_window_ms'?)",
         });
}

TEST_CASE("apply_logging sends the node's events to its file as JSON lines named after the node, at its level") {
  char path[] = "/tmp/otpp-logging-XXXXXX";
  auto fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  config::logging_config l;
  l.format = "json";
  l.file = path;
  l.level = "warn";
  REQUIRE_FALSE(config::apply_logging(l, "web\"1"));
  events::emit(events::node_started{"web\"1", 1});                        // info: below warn
  events::emit(events::breaker_state_changed{"svc", "closed", "open"});    // warning
  events::emit(events::pool_start_error{"db", "sqlite", "no such file"}); // error
  events::flush_log();
  l.level = "critical"; // means error: warnings are left out
  REQUIRE_FALSE(config::apply_logging(l, "web\"1"));
  events::emit(events::breaker_state_changed{"svc", "open", "half_open"});
  events::emit(events::pool_start_error{"db", "sqlite", "again"});
  events::disable_log();
  auto lines = lines_of(path);
  std::remove(path);
  REQUIRE(lines.size() == 3);
  auto first = nlohmann::json::parse(lines[0]);
  CHECK(first["event"] == "breaker_state_changed");
  CHECK(first["node"] == "web\"1");
  CHECK(nlohmann::json::parse(lines[1])["event"] == "pool_start_error");
  CHECK(nlohmann::json::parse(lines[2])["reason"] == "again");
}

TEST_CASE("apply_logging refuses a file it cannot open") {
  config::logging_config l;
  l.file = "/dev/null/otpp.log"; // not a directory;
  auto err = config::apply_logging(l, "web");
  CHECK(err);
}

}
