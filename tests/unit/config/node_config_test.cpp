#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "otpp/config/loader.hpp"

using namespace otpp;
using config::load_string;

namespace {

const char* example = R"(
[node]
name = "scope-node-1"

[logging]
level = "info"
format = "text"
file = ""

[supervisor]
strategy = "one_for_one"
intensity = 3
period_ms = 5000

[rate_limiting]
backend = "memory"
cleanup_interval_ms = 30000
[rate_limiting.redis]
url = "redis://127.0.0.1:6379"
prefix = "otpp"
timeout_ms = 200
on_error = "fail_closed"

[rate_limiters.config_update]
algorithm = "token_bucket"
capacity = 15
refill_per_s = 0.1667

[pools.database]
size = 10
max_overflow = 5
strategy = "lifo"
worker = "sqlite"
[pools.database.worker_args]
path = "scope.db"

[breakers.config_server]
window = "count"
window_size = 20
minimum_calls = 10
failure_threshold = 50
wait_in_open_ms = 30000

[memory]
limit_mb = 0
high_percent = 80
critical_percent = 95

[supervisors.storage]
strategy = "rest_for_one"
[supervisors.cache]
parent = "storage"
)";

// The problems of `text`, one string each.
std::vector<std::string> problems_of(const std::string& text, const config::environment& env = {}) {
  auto r = load_string(text, "node.toml", env);
  std::vector<std::string> out;
  for (auto& p : r.problems)
    out.push_back(p.to_string());
  CHECK(r.config.has_value() == out.empty());
  return out;
}

} // namespace

TEST_SUITE("config") {

TEST_CASE("the example configuration loads with every value") {
  auto r = load_string(example, "node.toml");
  REQUIRE_MESSAGE(r.config, (r.problems.empty() ? "" : r.problems.front().to_string()));
  auto& c = *r.config;
  CHECK(c.name == "scope-node-1");
  CHECK(c.root.flags.intensity == 3);
  REQUIRE(c.limiters.size() == 1);
  CHECK(c.limiters[0].config.name == "config_update");
  CHECK(c.limiters[0].config.algorithm == rate_limit::algorithm::token_bucket);
  CHECK(c.limiters[0].config.capacity == 15);
  CHECK(c.limiters[0].config.rate_per_s == doctest::Approx(0.1667));
  REQUIRE(c.pools.size() == 1);
  CHECK(c.pools[0].config.size == 10);
  CHECK(c.pools[0].config.args.get_string("path") == "scope.db");
  REQUIRE(c.breakers.size() == 1);
  CHECK(c.breakers[0].config.window_size == 20);
  CHECK(c.breakers[0].config.wait_in_open == std::chrono::seconds(30));
  REQUIRE(c.memory);
  CHECK(c.memory->high_percent == 80);
  REQUIRE(c.supervisors.size() == 2);
  CHECK(c.supervisors[0].name == "storage"); // parents first
  CHECK(c.supervisors[1].parent == "storage");
  CHECK(c.supervisors[0].flags.strategy == supervision::strategy::rest_for_one);
}

TEST_CASE("every problem is reported at once, each with its file, line, column and key path") {
  auto problems = problems_of(R"([pools.database]
size = -1
max_overflo = 5
worker = "mysql"

[rate_limiters.api]
algorithm = "token_bucket"
capacity = "ten"
refill_per_s = 1

[breakers.svc]
failure_threshold = 150

[logging]
level = "loud"
)");
  for (auto& p : problems) // other tests register kinds of their own after these
    if (auto at = p.find("sqlite, test."); at != std::string::npos)
      p = p.substr(0, at + 6) + ")";
  CHECK(problems == std::vector<std::string>{
                      "node.toml:2:8: pools.database.size: must be in [0, 100000], got -1",
                      "node.toml:3:1: pools.database.max_overflo: unknown key (did you mean 'max_overflow'?)",
                      "node.toml:4:10: pools.database.worker: unknown worker kind 'mysql' (registered: echo, postgres, redis, sleep, sqlite)",
                      "node.toml:8:12: rate_limiters.api.capacity: must be an integer",
                      "node.toml:12:21: breakers.svc.failure_threshold: must be in (0, 100], got 150",
                      "node.toml:15:9: logging.level: must be one of trace, debug, info, warn, error, critical, got "
                      "'loud'",
                    });
  CHECK(problems_of("[breakers.svc]\nslow_threshold = 0\n")
        == std::vector<std::string>{"node.toml:2:18: breakers.svc.slow_threshold: must be in (0, 100], got 0"});
  CHECK(problems_of("[memory]\nhigh_percent = 60\n")
        == std::vector<std::string>{"node.toml:1:1: memory: invalid_argument: memory: thresholds must satisfy 0 < "
                                    "elevated < high < critical <= 100, got 70.000000, 60.000000, 95.000000"});
}

TEST_CASE("syntax errors, wrong types and unknown sections are clear errors") {
  CHECK(problems_of("[pools\nsize = 1\n").front().find("node.toml:1:") == 0);
  CHECK(problems_of("pools = 3\n") == std::vector<std::string>{"node.toml:1:9: pools: must be a table"});
  CHECK(problems_of("[pool.x]\n") == std::vector<std::string>{"node.toml:1:2: pool: unknown key (did you mean 'pools'?)"});
  CHECK(problems_of("[rate_limiters.x]\nalgorithm = \"leaky\"\n")
        == std::vector<std::string>{"node.toml:2:13: rate_limiters.x.algorithm: must be one of fixed_window, "
                                    "sliding_window, token_bucket, leaky_bucket, got 'leaky'"});
  CHECK(problems_of("[rate_limiters.x]\nalgorithm = \"fixed_window\"\nscale_ms = 0\nlimit = 5\n")
        == std::vector<std::string>{"node.toml:3:12: rate_limiters.x.scale_ms: must be in [1, 31622400000], got 0"});
  CHECK(problems_of("[rate_limiters.x]\nalgorithm = \"fixed_window\"\n")
        == std::vector<std::string>{"node.toml:1:1: rate_limiters.x.scale_ms: missing (needed by fixed_window)",
                                    "node.toml:1:1: rate_limiters.x.limit: missing (needed by fixed_window)"});
}

TEST_CASE("the node's scheduler: policy and max-threads, checked") {
  auto r = load_string("[node]\nscheduler.policy = \"sharing\"\nscheduler.max-threads = 1\n", "node.toml");
  REQUIRE(r.config);
  CHECK(r.config->scheduler.policy == "sharing");
  CHECK(r.config->scheduler.max_threads == 1);
  auto defaults = load_string("[node]\nname = \"n\"\n", "node.toml");
  REQUIRE(defaults.config);
  CHECK(defaults.config->scheduler.policy == "stealing");
  CHECK(defaults.config->scheduler.max_threads == 0);
  CHECK(problems_of("[node]\nscheduler.policy = \"fair\"\nscheduler.max-threads = 0\nscheduler.max_threads = 2\n")
        == std::vector<std::string>{
          "node.toml:2:20: node.scheduler.policy: must be one of stealing, sharing, got 'fair'",
          "node.toml:3:25: node.scheduler.max-threads: must be in [1, 1024], got 0",
          "node.toml:4:11: node.scheduler.max_threads: unknown key (did you mean 'max-threads'?)"});
}

TEST_CASE("the Redis backend through Sentinel: sentinels and master_name instead of url, checked") {
  auto r = load_string("[rate_limiting.redis]\nsentinels = [\"10.0.0.1:26379\", \"[::1]:26380\"]\n"
                       "master_name = \"main\"\nconnections = 2\n",
                       "node.toml");
  REQUIRE(r.config);
  auto& o = r.config->rate_limiting.redis;
  CHECK(o.sentinels == std::vector<std::string>{"10.0.0.1:26379", "[::1]:26380"});
  CHECK(o.master_name == "main");
  CHECK(o.connections == 2);
  CHECK(o.block == 0);
  auto blocks = load_string("[rate_limiting.redis]\nblock = 64\nblock_lease_ms = 250\n", "node.toml");
  REQUIRE(blocks.config);
  CHECK(blocks.config->rate_limiting.redis.block == 64);
  CHECK(blocks.config->rate_limiting.redis.block_lease == std::chrono::milliseconds{250});
  CHECK(problems_of("[rate_limiting.redis]\nblock = -1\nblock_lease_ms = 0\n")
        == std::vector<std::string>{"node.toml:2:9: rate_limiting.redis.block: must be in [0, 9007199254740991], got -1",
                                    "node.toml:3:18: rate_limiting.redis.block_lease_ms: must be in [1, 3600000], got 0"});
  CHECK(load_string("[rate_limiting.redis]\nurl = \"redis://h\"\n", "node.toml").config->rate_limiting.redis.connections
        == 4);
  CHECK(problems_of("[rate_limiting.redis]\nurl = \"redis://h\"\nsentinels = [\"h\", 5, \"h:0\", \"h:1\"]\n"
                    "connections = 0\n")
        == std::vector<std::string>{
          "node.toml:1:1: rate_limiting.redis.master_name: missing (needed with sentinels)",
          "node.toml:3:13: rate_limiting.redis.sentinels: give either url or sentinels, not both",
          "node.toml:3:14: rate_limiting.redis.sentinels[0]: bad_url: bad host:port 'h': no port",
          "node.toml:3:19: rate_limiting.redis.sentinels[1]: must be a string \"host:port\"",
          "node.toml:3:22: rate_limiting.redis.sentinels[2]: bad_url: bad host:port 'h:0': the port must be a number "
          "in [1, 65535]",
          "node.toml:4:15: rate_limiting.redis.connections: must be in [1, 1024], got 0"});
  CHECK(problems_of("[rate_limiting.redis]\nmaster_name = \"main\"\nsentinels = []\n")
        == std::vector<std::string>{
          "node.toml:3:13: rate_limiting.redis.sentinels: must be a non-empty array of \"host:port\" strings"});
  CHECK(problems_of("[rate_limiting.redis]\nmaster_name = \"main\"\n")
        == std::vector<std::string>{"node.toml:2:15: rate_limiting.redis.master_name: only applies with sentinels"});
  CHECK(problems_of("[rate_limiting.redis]\nsentinels = [\"h:1\"]\nmaster_name = \"\"\n")
        == std::vector<std::string>{"node.toml:3:15: rate_limiting.redis.master_name: must not be empty"});
}

TEST_CASE("worker arguments a kind does not accept are errors, with the closest one") {
  CHECK(problems_of("[pools.db]\nsize = 1\nworker = \"postgres\"\n[pools.db.worker_args]\n"
                    "url = \"postgresql://127.0.0.1/x\"\nstatment_timeout_ms = 5\n")
        == std::vector<std::string>{"node.toml:6:1: pools.db.worker_args.statment_timeout_ms: unknown argument (did "
                                    "you mean 'statement_timeout_ms'?)"});
  CHECK(problems_of("[pools.db]\nsize = 1\nworker = \"sqlite\"\n[pools.db.worker_args]\npath = \"x.db\"\n").empty());
  CHECK(problems_of("[pools.db]\nsize = 1\nworker = \"echo\"\n[pools.db.worker_args]\ndelay_ms = 5\n")
        == std::vector<std::string>{"node.toml:5:1: pools.db.worker_args.delay_ms: unknown argument"});
  CHECK(problems_of("[pools.db]\nsize = 1\n[pools.db.worker_args]\ndelay_ms = 5\n") // the default kind, echo
        == std::vector<std::string>{"node.toml:4:1: pools.db.worker_args.delay_ms: unknown argument"});
}

TEST_CASE("worker arguments of the wrong type, out of range or missing are errors at --check, with positions") {
  CHECK(problems_of("[pools.db]\nsize = 1\nworker = \"sqlite\"\n[pools.db.worker_args]\npath = \"x.db\"\n"
                    "busy_timeout_ms = \"abc\"\njournal_mode = \"wall\"\n")
        == std::vector<std::string>{
          "node.toml:6:19: pools.db.worker_args.busy_timeout_ms: must be an integer, got \"abc\"",
          "node.toml:7:16: pools.db.worker_args.journal_mode: must be one of delete, truncate, persist, memory, wal, "
          "off, got \"wall\""});
  CHECK(problems_of("[pools.db]\nsize = 1\nworker = \"sqlite\"\n[pools.db.worker_args]\npath = \"x.db\"\n"
                    "busy_timeout_ms = 4294967296\n")
        == std::vector<std::string>{
          "node.toml:6:19: pools.db.worker_args.busy_timeout_ms: must be in [0, 2147483647], got 4294967296"});
  CHECK(problems_of("[pools.db]\nsize = 1\nworker = \"sqlite\"\n")
        == std::vector<std::string>{"node.toml:1:1: pools.db.worker_args.path: missing (a required string)"});
  CHECK(problems_of("[pools.r]\nsize = 1\nworker = \"redis\"\nworker_args.url = \"http://x\"\n").size() == 1);
}

TEST_CASE("a pool's validated arguments carry the kind's defaults") {
  auto r = load_string("[pools.db]\nsize = 1\nworker = \"sqlite\"\nworker_args.path = \"x.db\"\n", "node.toml");
  REQUIRE(r.config);
  auto& args = r.config->pools.at(0).config.args;
  CHECK(args.get_string("path") == "x.db");
  CHECK(args.get_int("busy_timeout_ms") == 5000);
  CHECK(args.get_string("journal_mode") == "wal");
}

TEST_CASE("references to undefined supervisors and cycles of parents are errors") {
  CHECK(problems_of("[supervisors.a]\nparent = \"b\"\n")
        == std::vector<std::string>{"node.toml:2:10: supervisors.a.parent: no supervisor 'b'"});
  CHECK(problems_of("[supervisors.a]\nparent = \"b\"\n[supervisors.b]\nparent = \"a\"\n")
        == std::vector<std::string>{"node.toml:2:10: supervisors.a.parent: cycle: a -> b -> a"});
  CHECK(problems_of("[supervisors.a]\nparent = \"b\"\n[supervisors.b]\nparent = \"c\"\n")
        == std::vector<std::string>{"node.toml:4:10: supervisors.b.parent: no supervisor 'c'"});
  CHECK(problems_of("[supervisors.x]\nparent = \"a\"\n[supervisors.a]\nparent = \"b\"\n[supervisors.b]\nparent = \"a\"\n")
        == std::vector<std::string>{"node.toml:4:10: supervisors.a.parent: cycle: a -> b -> a"});
  CHECK(problems_of("[pools.p]\nsupervisor = \"nowhere\"\n")
        == std::vector<std::string>{"node.toml:2:14: pools.p.supervisor: no supervisor 'nowhere'"});
  CHECK(problems_of("[pools.x]\n[breakers.x]\n")
        == std::vector<std::string>{"node.toml:0:0: breakers.x: the name 'x' is already used by pools.x"});
}

TEST_CASE("empty files, binary garbage, deep nesting and huge files are rejected cleanly") {
  CHECK(problems_of("  \n\n") == std::vector<std::string>{"node.toml:1:1: : the file is empty"});
  auto garbage = problems_of(std::string("\x00\xff\xfe\x01garbage", 11));
  REQUIRE(garbage.size() == 1);
  CHECK(garbage.front().find("node.toml:1:") == 0);
  std::string deep = "x = " + std::string(10000, '[') + std::string(10000, ']') + "\n";
  REQUIRE(problems_of(deep).size() == 1);
  auto path = std::string{"/tmp/otpp-huge-"} + std::to_string(::getpid()) + ".toml";
  {
    std::ofstream out{path};
    out << "# " << std::string(2 * 1024 * 1024, 'x') << "\n";
  }
  auto huge = config::load_file(path);
  std::remove(path.c_str());
  REQUIRE(huge.problems.size() == 1);
  CHECK(huge.problems.front().message == "the file is larger than 1 MiB");
  CHECK(config::load_file("/nonexistent/otpp.toml").problems.front().message == "cannot read the file");
}

TEST_CASE("environment variables override single values and are validated the same way") {
  auto r = load_string(example, "node.toml",
                       {{"OTPP__LOGGING__LEVEL", "debug"}, {"OTPP__POOLS__DATABASE__SIZE", "20"},
                        {"OTPP__RATE_LIMITING__REDIS__PREFIX", "other"}, {"UNRELATED", "x"}});
  REQUIRE(r.config);
  CHECK(r.config->logging.level == "debug");
  CHECK(r.config->pools[0].config.size == 20);
  CHECK(r.config->rate_limiting.redis.prefix == "other");
  CHECK(problems_of(example, {{"OTPP__POOLS__DATABASE__SIZE", "-3"}})
        == std::vector<std::string>{"env:OTPP__POOLS__DATABASE__SIZE:0:0: pools.database.size: must be in [0, 100000], got -3"});
  CHECK(problems_of(example, {{"OTPP__LOGGING", "x"}})
        == std::vector<std::string>{"env:OTPP__LOGGING:0:0: logging: expected OTPP__SECTION__KEY=value"});
}

}
