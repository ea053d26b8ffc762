#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "otpp/config/top_view.hpp"

using namespace otpp::config;
using json = nlohmann::json;

namespace {

json series(json labels, double value) {
  return {{"labels", std::move(labels)}, {"value", value}};
}

json family(const char* type, std::vector<json> s) {
  return {{"type", type}, {"help", "..."}, {"series", std::move(s)}};
}

// A /status answer of a node "web" whose pool "db" crashed `crashes` workers
// so far and whose limiter "login" allowed `allowed` and denied `denied` hits.
std::string status_body(double crashes, double allowed, double denied, json children = nullptr) {
  if (children.is_null())
    children = json::array({
      {{"name", "db"}, {"kind", "pool"}, {"status", "degraded"}, {"reason", "workers crash in a loop"},
       {"restarts", 2}, {"last_reason", "exception: boom"}, {"children", json::array()}},
      {{"name", "payments"}, {"kind", "breaker"}, {"status", "healthy"}, {"reason", ""}, {"children", json::array()}},
    });
  json metrics{
    {"otpp_pool_workers", family("gauge", {series({{"pool", "db"}, {"state", "busy"}}, 1),
                                           series({{"pool", "db"}, {"state", "idle"}}, 3),
                                           series({{"pool", "db"}, {"state", "overflow"}}, 0)})},
    {"otpp_pool_waiting", family("gauge", {series({{"pool", "db"}}, 2)})},
    {"otpp_pool_worker_exits_total", family("counter", {series({{"pool", "db"}, {"reason", "crash"}}, crashes),
                                                        series({{"pool", "db"}, {"reason", "dismissed"}}, 4)})},
    {"otpp_supervisor_restarts_total", family("counter", {series({{"supervisor", "web"}}, 2),
                                                          series({{"supervisor", "storage"}}, 1)})},
    {"otpp_limiter_hits_total", family("counter", {series({{"limiter", "login"}, {"decision", "allow"}}, allowed),
                                                   series({{"limiter", "login"}, {"decision", "deny"}}, denied)})},
    {"otpp_breaker_state", family("gauge", {series({{"breaker", "payments"}, {"state", "closed"}}, 0),
                                            series({{"breaker", "payments"}, {"state", "half_open"}}, 0),
                                            series({{"breaker", "payments"}, {"state", "open"}}, 1)})},
    {"otpp_memory_level", family("gauge", {series({{"manager", "memory"}}, 1)})},
    {"otpp_memory_bytes", family("gauge", {series({{"manager", "memory"}}, 50.0 * 1024 * 1024)})},
    {"otpp_memory_limit_bytes", family("gauge", {series({{"manager", "memory"}}, 100.0 * 1024 * 1024)})},
    {"otpp_protected_operation_seconds",
     {{"type", "histogram"},
      {"help", "..."},
      {"series", json::array({{{"labels", {{"namespace", "a"}, {"service", "b"}}},
                               {"count", 3},
                               {"sum_seconds", 0.1},
                               {"buckets", {{"0.001", 1}}}}})}}},
  };
  json health{{"name", "web"},       {"kind", "supervisor"}, {"status", "degraded"},
              {"reason", "db: ..."}, {"children", children}};
  json peers = json::array({{{"name", "node-b"}, {"state", "down"}, {"since_unix_ms", 1}, {"last_error", "refused"}}});
  return json{{"node", "web"}, {"health", health}, {"metrics", metrics}, {"peers", peers}}.dump();
}

bool has_line(const std::vector<std::string>& lines, const std::string& text) {
  for (auto& l : lines)
    if (l == text)
      return true;
  return false;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (auto& l : lines)
    out += l + "\n";
  return out;
}

std::size_t chars(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xc0) != 0x80;
  return n;
}

} // namespace

TEST_SUITE("otpp-node top view") {

TEST_CASE("a /status answer is read into the tree, pools, breakers, limiters, memory and peers") {
  auto f = top::read_status(status_body(10, 100, 20), 5.0);
  CHECK(f.node == "web");
  CHECK(f.status == "degraded");
  CHECK(f.at_seconds == 5.0);
  REQUIRE(f.tree.size() == 3);
  CHECK(f.tree[0].name == "web");
  CHECK(f.tree[0].depth == 0);
  CHECK_FALSE(f.tree[0].restarts);
  CHECK(f.tree[1].name == "db");
  CHECK(f.tree[1].depth == 1);
  CHECK(f.tree[1].restarts == 2u);
  CHECK(f.tree[1].last_reason == "exception: boom");
  REQUIRE(f.pools.size() == 1);
  CHECK(f.pools[0].name == "db");
  CHECK(f.pools[0].idle == 3);
  CHECK(f.pools[0].busy == 1);
  CHECK(f.pools[0].waiting == 2);
  CHECK(f.pools[0].exits == 14);
  CHECK(f.pools[0].crashes == 10);
  REQUIRE(f.breakers.size() == 1);
  CHECK(f.breakers[0].state == "open");
  REQUIRE(f.limiters.size() == 1);
  CHECK(f.limiters[0].allowed == 100);
  CHECK(f.limiters[0].denied == 20);
  REQUIRE(f.memory.size() == 1);
  CHECK(f.memory[0].level == "elevated");
  CHECK(f.supervisor_restarts == 3);
  REQUIRE(f.peers.size() == 1);
  CHECK(f.peers[0].state == "down");
  CHECK(f.peers[0].last_error == "refused");
}

TEST_CASE("the first answer shows no rates, the next shows exits, crashes, hits and denials per second") {
  top::view v;
  v.url = "http://127.0.0.1:9464";
  v.update(top::read_status(status_body(10, 100, 20), 10.0));
  auto first = top::lines(v);
  CHECK(first[0] == "otpp-node top  web  degraded  restarts 3  http://127.0.0.1:9464");
  CHECK(has_line(first, "db                             4     3     1     0     2        -        -"));
  CHECK(has_line(first, "login                             -        -        120         20"));
  v.update(top::read_status(status_body(16, 110, 24), 12.0)); // 2 s later: 6 crashes, 10 allowed, 4 denied
  auto lines = top::lines(v);
  CHECK(has_line(lines, "POOL                        LIVE  IDLE  BUSY  OVFL  WAIT  EXITS/S  CRASH/S"));
  CHECK(has_line(lines, "db                             4     3     1     0     2      3.0      3.0"));
  CHECK(has_line(lines, "LIMITER                      HITS/S DENIED/S       HITS     DENIED"));
  CHECK(has_line(lines, "login                           7.0      2.0        134         24"));
  CHECK(has_line(lines, "payments                   open"));
  CHECK(has_line(lines, "memory                     elevated     50.0 MB   100.0 MB"));
  CHECK(has_line(lines, "node-b                     down         refused"));
  CHECK(has_line(lines, "SUPERVISION TREE           KIND       STATE     RESTARTS  LAST REASON"));
  CHECK(has_line(lines, "  db                       pool       degraded         2  exception: boom"));
  CHECK(has_line(lines, "  payments                 breaker    healthy          -"));
}

TEST_CASE("a counter that went down was reset and counts from zero, and no earlier reading or no time gives no rate") {
  CHECK(top::per_second(10.0, 16.0, 2.0) == doctest::Approx(3.0));
  CHECK(top::per_second(10.0, 4.0, 2.0) == doctest::Approx(2.0));
  CHECK_FALSE(top::per_second(std::nullopt, 4.0, 2.0));
  CHECK_FALSE(top::per_second(1.0, 4.0, 0.0));
}

TEST_CASE("the screen fits an 80x24 terminal: the header first, the keys last, the rest scrolls") {
  auto children = json::array();
  for (int i = 0; i < 40; ++i)
    children.push_back({{"name", "child-" + std::to_string(i) + std::string(60, 'x')},
                        {"kind", "worker"},
                        {"status", "healthy"},
                        {"reason", ""},
                        {"restarts", i},
                        {"last_reason", "exception: " + std::string(600, 'r')},
                        {"children", json::array()}});
  top::view v;
  v.url = "http://127.0.0.1:9464";
  v.update(top::read_status(status_body(1, 1, 1, children), 1.0));
  auto all = top::lines(v);
  CHECK(joined(all).find("exception: " + std::string(600, 'r') + "\n") != std::string::npos); // plain lines: whole
  std::size_t scroll = 0;
  auto s = top::screen(v, 80, 24, scroll);
  REQUIRE(s.size() == 24);
  for (auto& line : s)
    CHECK(chars(line) <= 80);
  CHECK(s[0].rfind("otpp-node top  web", 0) == 0);
  CHECK(s[1].rfind("SUPERVISION TREE", 0) == 0);
  auto body = all.size() - 1; // the header is one line
  CHECK(s[23] == "q: quit  up/down, PgUp/PgDn: scroll  (lines 1-22 of " + std::to_string(body) + ")");
  scroll = 1000; // beyond the end: the last line stays at the bottom
  s = top::screen(v, 80, 24, scroll);
  CHECK(scroll == body - 22);
  CHECK(s[22] == all.back());
  CHECK(s[1] == all[1 + scroll].substr(0, 80));
  // A short body does not scroll; the footer stays on the last row.
  top::view small;
  small.url = "u";
  small.update(top::read_status(status_body(1, 1, 1, json::array()), 1.0));
  scroll = 5;
  s = top::screen(small, 80, 24, scroll);
  CHECK(scroll == 0);
  REQUIRE(s.size() == 24);
  CHECK(s[23] == "q: quit");
  CHECK(s[22].empty());
}

TEST_CASE("control characters in names cannot reach the terminal") {
  auto children = json::array({{{"name", "evil\x1b[2J\n\xc2\x9b"}, {"kind", "worker"}, {"status", "healthy"},
                                {"reason", ""}, {"last_reason", "line\r\nbreak"}, {"children", json::array()}}});
  top::view v;
  v.url = "http://x:1";
  v.update(top::read_status(status_body(1, 1, 1, children), 1.0));
  auto text = joined(top::lines(v));
  CHECK(text.find("evil\\x1b[2J\\x0a\\u009b") != std::string::npos);
  CHECK(text.find("line\\x0d\\x0abreak") != std::string::npos);
  for (unsigned char c : text)
    CHECK((c >= 0x20 || c == '\n'));
}

TEST_CASE("a failed poll shows its error above the last answer, or alone before any answer") {
  top::view v;
  v.url = "http://127.0.0.1:9464";
  v.fail("cannot reach http://127.0.0.1:9464: Connection");
  auto lines = top::lines(v);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "otpp-node top  http://127.0.0.1:9464");
  CHECK(lines[1] == "error: cannot reach http://127.0.0.1:9464: Connection (retrying every second)");
  v.update(top::read_status(status_body(1, 1, 1), 1.0));
  v.fail("cannot reach http://127.0.0.1:9464: Connection");
  lines = top::lines(v);
  CHECK(lines[1].rfind("error: cannot reach", 0) == 0);
  CHECK(lines[2].rfind("SUPERVISION TREE", 0) == 0);
  v.update(top::read_status(status_body(1, 1, 1), 2.0));
  CHECK(top::lines(v)[1].rfind("SUPERVISION TREE", 0) == 0);
}

TEST_CASE("an answer that is not a node's /status is refused with the reason") {
  CHECK_THROWS_WITH_AS(top::read_status("<html>", 0), doctest::Contains("the answer is not JSON"), std::runtime_error);
  CHECK_THROWS_WITH_AS(top::read_status("[1]", 0), "the answer is not a JSON object", std::runtime_error);
  CHECK_THROWS_WITH_AS(top::read_status("{\"node\":\"x\"}", 0), doctest::Contains("no \"health\" object"),
                       std::runtime_error);
}

TEST_CASE("a URL may omit the scheme and the port, never hold a path") {
  CHECK(top::normalize_url("http://127.0.0.1:9464") == "http://127.0.0.1:9464");
  CHECK(top::normalize_url("127.0.0.1:9464/") == "http://127.0.0.1:9464");
  CHECK(top::normalize_url("https://node.example") == "https://node.example:443");
  CHECK(top::normalize_url("[::1]:9464") == "http://[::1]:9464");
  CHECK_THROWS_WITH_AS(top::normalize_url("ftp://x:1"), doctest::Contains("the scheme must be http or https"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(top::normalize_url("http://x:1/status"), doctest::Contains("without a path"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(top::normalize_url("http://x/status"), doctest::Contains("without a path"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(top::normalize_url("http://x:99999"), doctest::Contains("1 to 65535"), std::runtime_error);
  CHECK_THROWS_WITH_AS(top::normalize_url("[::1:9464"), doctest::Contains("closing ']'"), std::runtime_error);
}

}
