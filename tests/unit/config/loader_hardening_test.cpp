#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "otpp/actors/redis/connection.hpp"
#include "otpp/config/loader.hpp"

using namespace otpp;

namespace {

std::vector<std::string> problems_of(const std::string& text, const config::environment& env = {}) {
  std::vector<std::string> result;
  for (auto& p : config::load_string(text, "f.toml", env).problems)
    result.push_back(p.to_string());
  return result;
}

std::string repeated(const std::string& part, int times, const std::string& separator) {
  std::string out;
  for (int i = 0; i < times; ++i)
    out += (i ? separator : "") + part;
  return out;
}

} // namespace

TEST_SUITE("config.hardening") {

TEST_CASE("a key, a table header or a value too deep for the parser is refused with its position") {
  CHECK(problems_of("[node]\n" + repeated("a", 50'000, ".") + " = 1\n")
        == std::vector<std::string>{"f.toml:2:128: : a dotted key or value has more than 64 parts"});
  CHECK(problems_of("[" + repeated("a", 50'000, ".") + "]\n")
        == std::vector<std::string>{"f.toml:1:129: : a dotted key or value has more than 64 parts"});
  CHECK(problems_of("x = " + std::string(100'000, '[') + "\n")
        == std::vector<std::string>{"f.toml:1:69: : tables or arrays nested more than 64 deep"});
  CHECK(problems_of("x = " + repeated("{a=", 1000, "") + "1" + std::string(1000, '}') + "\n").size() == 1);
  CHECK(problems_of("x = \"" + repeated("a", 1000, ".") + "\"\n# " + repeated("b", 1000, ".") + "\n") // strings, comments
        == std::vector<std::string>{"f.toml:1:1: x: unknown key"});
  auto env = problems_of("[logging]\n", {{"OTPP__LOGGING__LEVEL", "{" + repeated("a", 1000, ".") + " = 1}"}});
  REQUIRE(env.size() == 1);
  CHECK(env[0] == "env:OTPP__LOGGING__LEVEL:0:0: logging.level: a dotted key or value has more than 64 parts");
}

TEST_CASE("supervisor chains and cycles of any length are checked in one pass") {
  std::string chain, cycle;
  const int n = 20'000; // about 800 KB: quadratic or worse would not finish
  for (int i = 0; i < n; ++i) {
    chain += "[supervisors.s" + std::to_string(i) + "]\n" + (i ? "parent = \"s" + std::to_string(i - 1) + "\"\n" : "");
    cycle += "[supervisors.s" + std::to_string(i) + "]\nparent = \"s" + std::to_string((i + 1) % n) + "\"\n";
  }
  auto loaded = config::load_string(chain, "chain.toml");
  REQUIRE(loaded.config);
  REQUIRE(loaded.config->supervisors.size() == static_cast<std::size_t>(n));
  CHECK(loaded.config->supervisors.front().name == "s0"); // parents first
  CHECK(loaded.config->supervisors.back().name == "s" + std::to_string(n - 1));
  auto problems = problems_of(cycle);
  REQUIRE(problems.size() == 1); // told once, from its first member by name
  CHECK(problems[0].rfind("f.toml:2:10: supervisors.s0.parent: cycle: s0 -> s1 -> s2 -> ", 0) == 0);
  CHECK(problems[0].size() > 100'000);
  CHECK(problems_of("[supervisors.b]\nparent = \"a\"\n[supervisors.a]\nparent = \"b\"\n[supervisors.c]\nparent = \"a\"\n")
        == std::vector<std::string>{"f.toml:4:10: supervisors.a.parent: cycle: a -> b -> a"});
}

TEST_CASE("durations are refused above 366 days, naming the maximum") {
  CHECK(problems_of("[rate_limiting]\ncleanup_interval_ms = 10000000000000\n")
        == std::vector<std::string>{"f.toml:2:23: rate_limiting.cleanup_interval_ms: must be in [1, 31622400000], got "
                                    "10000000000000"});
  CHECK(problems_of("[memory]\nsample_interval_ms = 10000000000000\n").size() == 1);
  CHECK(problems_of("[supervisor]\nperiod_ms = 10000000000000\n")
        == std::vector<std::string>{
          "f.toml:2:13: supervisor.period_ms: must be in [1, 31622400000], got 10000000000000"});
  CHECK(problems_of("[supervisor]\nperiod_ms = 31622400000\n").empty());
}

TEST_CASE("an override may change a component of the file but not add one") {
  const std::string file = "[pools.geo]\nsize = 1\n";
  auto problems = problems_of(file, {{"OTPP__POOLS__GEOO__SIZE", "3"}});
  CHECK(problems
        == std::vector<std::string>{"env:OTPP__POOLS__GEOO__SIZE:0:0: pools.geoo.size: names 'geoo', which the file "
                                    "does not define in [pools] (did you mean 'geo'?); overrides change components, "
                                    "they do not add them"});
  auto changed = config::load_string(file, "f.toml", {{"OTPP__POOLS__GEO__SIZE", "3"}});
  REQUIRE(changed.config);
  CHECK(changed.config->pools.at(0).config.size == 3);
  auto logging = config::load_string(file, "f.toml", {{"OTPP__LOGGING__LEVEL", "debug"}}); // a single section
  REQUIRE(logging.config);
  CHECK(logging.config->logging.level == "debug");
}

TEST_CASE("passwords in Redis URLs never reach a message") {
  auto problems = problems_of("[rate_limiting.redis]\nurl = \"redis://app:s3cret@cache:port\"\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("s3cret") == std::string::npos);
  CHECK(problems[0].find("redis://app:***@cache:port") != std::string::npos);
  CHECK(redis::redact_url("redis://:pw@h:1/2") == "redis://:***@h:1/2");
  CHECK(redis::redact_url("redis://pw@h") == "redis://***@h");
  CHECK(redis::redact_url("redis://h:6379") == "redis://h:6379");
}

TEST_CASE("names hold letters, digits, '_', '-' and '.' only, so that none can forge a log line") {
  CHECK(problems_of("[node]\nname = \"web\\nnode_started node=evil\"\n")
        == std::vector<std::string>{
          "f.toml:2:8: node.name: a name must be 1 to 128 letters, digits, '_', '-' or '.'"});
  CHECK(problems_of("[pools.\"a b\"]\nsize = 1\n")
        == std::vector<std::string>{"f.toml:1:8: pools.a b: a name must be 1 to 128 letters, digits, '_', '-' or '.'"});
  CHECK(problems_of("[pools.\"db-1.eu_west\"]\nsize = 1\n").empty());
}

}
