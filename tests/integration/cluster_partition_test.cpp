// Issue 8, test 6: partitions in network namespaces. Three otpp nodes
// (node-a, node-b, node-c: the lower name dials, so A dials B and C, B dials
// C), each an otpp-cluster-driver process (an otpp node from TOML, with
// pool "database" of echo workers, [http] /status, and commands on stdin)
// in its own network namespace, and redis-server in a fifth, all joined by
// a bridge in a "switch" namespace. Partitions are a switch port taken down
// or nftables drop rules in the input hooks. Where the machine refuses
// network namespaces, each case prints "SKIPPED: <reason>" (which CTest
// reports as skipped, see tests/cluster_partition_properties.cmake).
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/netns.hpp"

using namespace otpp;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

#define SKIP_WITHOUT_NETNS()                                                                                          \
  if (!test::netns_unavailable().empty()) {                                                                          \
    MESSAGE("SKIPPED: " << test::netns_unavailable());                                                               \
    return;                                                                                                          \
  }

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

int64_t ms_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t).count();
}

/// The `index`-th word of `line` ("" if none).
std::string word(const std::string& line, std::size_t index) {
  std::istringstream in{line};
  std::string w;
  for (std::size_t i = 0; i <= index; ++i)
    if (!(in >> w))
      return "";
  return w;
}

long long number(const std::string& text) {
  return std::atoll(text.c_str());
}

/// The value of `key=` in `line` (-1 if absent).
long long field(const std::string& line, const std::string& key) {
  auto at = line.find(" " + key + "=");
  return at == std::string::npos ? -1 : number(line.substr(at + key.size() + 2));
}

struct peer_view {
  std::string state;
  int64_t since_unix_ms = 0;
  std::string last_error;
};

const char* const nodes[] = {"a", "b", "c"};
constexpr int cluster_port = 4370;
constexpr int http_port = 8080;
constexpr int redis_port = 6379;

/// The namespaces, redis-server and the three nodes of one test; all of it
/// ends with the test (processes first, then the namespaces).
struct cluster_lab {
  test::netns_lab net{{{"a", 11}, {"b", 12}, {"c", 13}, {"redis", 20}}};
  std::string dir;
  std::unique_ptr<test::piped_process> redis;
  std::map<std::string, std::unique_ptr<test::piped_process>> drivers;
  int next_tag = 0;

  /// `pools`: the size of each node's pool "database".
  explicit cluster_lab(std::map<std::string, int> pools) {
    char pattern[] = "/tmp/otpp-partition-XXXXXX";
    if (!::mkdtemp(pattern))
      throw std::runtime_error("mkdtemp failed");
    dir = pattern;
    redis = std::make_unique<test::piped_process>(
      std::vector<std::string>{"ip", "netns", "exec", net.ns("redis"), "redis-server", "--port",
                               std::to_string(redis_port), "--bind", net.addr("redis"), "--save", "", "--appendonly",
                               "no", "--dir", dir, "--protected-mode", "no"},
      dir + "/redis.log");
    if (!redis->take_containing("Ready to accept connections", 10s))
      throw std::runtime_error("redis-server did not start in its namespace: " + redis->log());
    for (auto host : nodes) {
      auto file = dir + "/" + name(host) + ".toml";
      std::ofstream{file} << toml(host, pools.at(host));
      drivers[host] = std::make_unique<test::piped_process>(
        std::vector<std::string>{"ip", "netns", "exec", net.ns(host), OTPP_CLUSTER_DRIVER_PATH, file},
        dir + "/" + name(host) + ".log");
    }
    for (auto host : nodes)
      if (!drivers[host]->take("ready", 10s))
        throw std::runtime_error(name(host) + " did not start: " + drivers[host]->log());
  }

  ~cluster_lab() {
    drivers.clear();
    redis.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  static std::string name(const std::string& host) { return "node-" + host; }

  std::string toml(const std::string& host, int pool_size) const {
    std::string peers;
    for (auto other : nodes)
      if (other != host)
        peers += std::string{peers.empty() ? "" : ", "} + "\"" + name(other) + "@" + net.addr(other) + ":"
                 + std::to_string(cluster_port) + "\"";
    std::ostringstream out;
    out << "[node]\nname = \"" << name(host) << "\"\n"
        << "[logging]\nlevel = \"info\"\n"
        << "[pools.database]\nsize = " << pool_size << "\nmax_overflow = 0\nworker = \"echo\"\n"
        << "[http]\nlisten = \"127.0.0.1:" << http_port << "\"\n" // the namespace's own loopback
        << "[cluster]\nnode_name = \"" << name(host) << "\"\nlisten = \"" << net.addr(host) << ":" << cluster_port
        << "\"\npeers = [" << peers << "]\n"
        << "heartbeat_interval_ms = 100\nconnection_timeout_ms = 500\nconnect_timeout_ms = 500\n"
        << "reconnect_backoff_ms = [50, 1000]\ninsecure_plaintext = true\n";
    return out.str();
  }

  std::string redis_url() const { return "redis://" + net.addr("redis") + ":" + std::to_string(redis_port); }

  /// Sends a command to `host`'s driver; returns its tag.
  std::string send(const std::string& host, const std::string& command) {
    auto tag = "t" + std::to_string(++next_tag);
    drivers.at(host)->send(tag + " " + command);
    return tag;
  }

  /// The answer to `tag` without the tag, or "" if none came within `bound`.
  std::string answer(const std::string& host, const std::string& tag, std::chrono::milliseconds bound = 5s) {
    auto line = drivers.at(host)->take(tag + " ", bound);
    return line ? line->substr(tag.size() + 1) : "";
  }

  std::string ask(const std::string& host, const std::string& command, std::chrono::milliseconds bound = 5s) {
    return answer(host, send(host, command), bound);
  }

  /// The peers in `host`'s /status (empty if it does not answer).
  std::map<std::string, peer_view> peers(const std::string& host) {
    std::string body;
    test::in_netns(net.ns(host), [&] {
      httplib::Client http{"127.0.0.1", http_port};
      http.set_connection_timeout(1s);
      http.set_read_timeout(1s);
      if (auto res = http.Get("/status"))
        body = res->body;
    });
    static const std::regex peer{
      R"re(\{"name":"([^"]*)","state":"([^"]*)","since_unix_ms":(-?[0-9]+),"last_error":"((?:[^"\\]|\\.)*)"\})re"};
    std::map<std::string, peer_view> out;
    for (auto i = std::sregex_iterator(body.begin(), body.end(), peer); i != std::sregex_iterator(); ++i)
      out[(*i)[1]] = {(*i)[2], number((*i)[3]), (*i)[4]};
    return out;
  }

  std::string state(const std::string& host, const std::string& peer) { return peers(host)[name(peer)].state; }

  bool all_up() {
    for (auto host : nodes)
      for (auto other : nodes)
        if (std::string{host} != other && state(host, other) != "up")
          return false;
    return true;
  }

  /// Each node's view of the others, for failure messages.
  std::string views() {
    std::string out;
    for (auto host : nodes)
      for (auto& [peer, v] : peers(host))
        out += name(host) + " sees " + peer + " " + v.state + " since " + std::to_string(v.since_unix_ms) + " ("
               + v.last_error + ")\n";
    return out;
  }

  /// The last lines of every node's log.
  std::string logs() {
    std::string out;
    for (auto host : nodes) {
      auto log = drivers.at(host)->log();
      auto from = log.size() > 3000 ? log.size() - 3000 : 0;
      out += "--- " + name(host) + " log (tail)\n" + log.substr(from);
    }
    return out;
  }

  /// The status line of the pool "database" of `host`.
  std::string local_pool(const std::string& host) { return ask(host, "status database"); }
};

std::string settled_pool(int size) {
  return "status idle=" + std::to_string(size) + " busy=0 waiting=0 size=" + std::to_string(size);
}

} // namespace

TEST_SUITE("cluster.partition") {

TEST_CASE("three nodes in network namespaces: a node cut off is down at both others within 0.7 s and their checkouts "
          "pending on it fail with node_down, a connect to it fails within connect_timeout_ms, the other peer keeps "
          "working, and all are up within 2 s of the heal") {
  SKIP_WITHOUT_NETNS();
  cluster_lab lab{{{"a", 2}, {"b", 2}, {"c", 2}}};
  REQUIRE_MESSAGE(test::eventually([&] { return lab.all_up(); }, 10s), lab.views() << lab.logs());
  // A and B each hold one of C's two workers and queue two more checkouts at C.
  REQUIRE(word(lab.ask("a", "checkout database@node-c 2000 hold"), 0) == "ok");
  REQUIRE(word(lab.ask("b", "checkout database@node-c 2000 hold"), 0) == "ok");
  std::vector<std::pair<std::string, std::string>> pending;
  for (auto host : {"a", "b"})
    for (int i = 0; i < 2; ++i)
      pending.emplace_back(host, lab.send(host, "checkout database@node-c 10000 hold"));
  REQUIRE_MESSAGE(test::eventually([&] { return field(lab.local_pool("c"), "waiting") == 4; }, 5s),
                  lab.local_pool("c"));
  auto a_sees_b = lab.peers("a")["node-b"];
  auto b_sees_a = lab.peers("b")["node-a"];

  // Drop rules rather than the switch port: a port taken down also fails the
  // hosts' ARP entries, and re-resolving them after the heal takes up to a
  // second of the kernel's ARP retransmission time, which is not ours to measure.
  auto cut_ms = unix_ms();
  lab.net.add_input_rule("c", "ip saddr { " + lab.net.addr("a") + ", " + lab.net.addr("b") + " } drop");
  lab.net.add_input_rule("a", "ip saddr " + lab.net.addr("c") + " drop");
  lab.net.add_input_rule("b", "ip saddr " + lab.net.addr("c") + " drop");
  REQUIRE_MESSAGE(test::eventually([&] { return lab.state("a", "c") == "down" && lab.state("b", "c") == "down"; }, 3s),
                  lab.views());
  auto a_down = lab.peers("a")["node-c"].since_unix_ms - cut_ms;
  auto b_down = lab.peers("b")["node-c"].since_unix_ms - cut_ms;
  MESSAGE("node-c declared down " << a_down << " ms (node-a) and " << b_down << " ms (node-b) after the cut");
  CHECK(a_down <= 700);
  CHECK(b_down <= 700);
  for (auto& [host, tag] : pending) {
    auto r = lab.answer(host, tag, 3s);
    auto failed_after = number(word(r, 2)) - cut_ms;
    MESSAGE("pending checkout at node-" << host << ": " << r.substr(0, r.find(' ')) << " " << failed_after
                                        << " ms after the cut");
    CHECK(word(r, 0) == "node_down");
    CHECK(failed_after <= 700);
  }

  // A connect to C fails within connect_timeout_ms, while node-a's checkouts
  // from node-b's pool go on normally (its connector to C retries meanwhile).
  auto connect = lab.send("a", "connect " + lab.net.addr("c") + " " + std::to_string(cluster_port) + " 500");
  int64_t slowest = 0;
  int fine = 0;
  for (auto until = clock_type::now() + 1500ms; clock_type::now() < until;) {
    auto r = lab.ask("a", "checkout database@node-b 1000 release", 3s);
    fine += word(r, 0) == "ok" ? 1 : 0;
    slowest = std::max<int64_t>(slowest, number(word(r, 1)));
    if (word(r, 0) != "ok")
      MESSAGE("checkout of database@node-b during the partition: " << r);
    std::this_thread::sleep_for(20ms); // pacing
  }
  auto connected = lab.answer("a", connect, 3s);
  MESSAGE("connect to node-c during the partition: " << connected);
  CHECK(word(connected, 0) == "failed");
  CHECK(number(word(connected, 1)) <= 550);
  MESSAGE(fine << " checkouts of database@node-b during the partition, slowest " << slowest << " ms");
  CHECK(fine >= 10);
  CHECK(slowest <= 250);
  CHECK(lab.peers("a")["node-b"].since_unix_ms == a_sees_b.since_unix_ms);
  CHECK(lab.peers("b")["node-a"].since_unix_ms == b_sees_a.since_unix_ms);
  CHECK(lab.state("a", "b") == "up");
  auto dialer_error = lab.peers("a")["node-c"].last_error;
  MESSAGE("node-a's last error for node-c: " << dialer_error);

  auto healed_at = clock_type::now();
  for (auto host : {"a", "b", "c"})
    lab.net.flush_rules(host);
  bool whole = test::eventually([&] { return lab.all_up(); }, 2s);
  auto whole_after = ms_since(healed_at);
  CHECK_MESSAGE(whole, lab.views());
  if (!whole)
    whole = test::eventually([&] { return lab.all_up(); }, 10s);
  MESSAGE("all three up " << ms_since(healed_at) << " ms after the heal");
  REQUIRE(whole);
  (void) whole_after;
  CHECK(word(lab.ask("a", "checkout database@node-c 1000 release"), 0) == "ok");
  CHECK(word(lab.ask("b", "checkout database@node-c 1000 release"), 0) == "ok");
  CHECK_MESSAGE(test::eventually([&] { return lab.local_pool("c") == settled_pool(2); }, 3s), lab.local_pool("c"));
}

TEST_CASE("three nodes in network namespaces: 20 s of 10 percent packet loss each way between two nodes under "
          "checkout load bring no false node-down, and no worker is lost or handed out twice") {
  SKIP_WITHOUT_NETNS();
  cluster_lab lab{{{"a", 2}, {"b", 3}, {"c", 1}}};
  REQUIRE_MESSAGE(test::eventually([&] { return lab.all_up(); }, 10s), lab.views() << lab.logs());
  auto a_sees_b = lab.peers("a")["node-b"];
  auto b_sees_a = lab.peers("b")["node-a"];
  for (auto [host, other] : {std::pair{"a", "b"}, std::pair{"b", "a"}})
    lab.net.add_input_rule(host, "ip saddr " + lab.net.addr(other)
                                   + " meta l4proto tcp numgen random mod 100 < 10 counter drop");
  auto a_to_b = lab.send("a", "load database@node-b 4 20000 1000 1");
  auto b_to_a = lab.send("b", "load database@node-a 2 20000 1000 1");
  auto ra = lab.answer("a", a_to_b, 40s);
  auto rb = lab.answer("b", b_to_a, 40s);
  auto dropped_at_a = lab.net.counted_packets("a");
  auto dropped_at_b = lab.net.counted_packets("b");
  lab.net.flush_rules("a");
  lab.net.flush_rules("b");
  MESSAGE("node-a -> database@node-b: " << ra);
  MESSAGE("node-b -> database@node-a: " << rb);
  MESSAGE("packets dropped: " << dropped_at_a << " into node-a, " << dropped_at_b << " into node-b");
  REQUIRE(word(ra, 0) == "load");
  REQUIRE(word(rb, 0) == "load");
  CHECK(dropped_at_a > 0);
  CHECK(dropped_at_b > 0);
  for (auto& r : {ra, rb}) {
    CHECK(field(r, "ok") > 0);
    CHECK(field(r, "node_down") == 0); // every checkout succeeds or times out
    CHECK(field(r, "other") == 0);
    // A worker held by two threads at once within one connection to its node
    // (after a node-down, a void lease's worker may rightly go out again).
    CHECK(field(r, "double") == 0);
    CHECK(field(r, "echo_failed") == 0);
  }
  // No false node-down: neither side left `up`, no node_down record.
  auto a_now = lab.peers("a")["node-b"];
  auto b_now = lab.peers("b")["node-a"];
  CHECK_MESSAGE(a_now.state == "up", lab.views());
  CHECK_MESSAGE(b_now.state == "up", lab.views());
  CHECK_MESSAGE(a_now.since_unix_ms == a_sees_b.since_unix_ms, lab.views());
  CHECK_MESSAGE(b_now.since_unix_ms == b_sees_a.since_unix_ms, lab.views());
  CHECK_MESSAGE(lab.drivers.at("a")->log().find("node_down") == std::string::npos, lab.logs());
  CHECK_MESSAGE(lab.drivers.at("b")->log().find("node_down") == std::string::npos, lab.logs());
  // Every worker is back and idle.
  CHECK_MESSAGE(test::eventually([&] { return lab.local_pool("b") == settled_pool(3); }, 5s), lab.local_pool("b"));
  CHECK_MESSAGE(test::eventually([&] { return lab.local_pool("a") == settled_pool(2); }, 5s), lab.local_pool("a"));
  CHECK(lab.all_up());
}

TEST_CASE("three nodes in network namespaces: with node-a and node-b cut apart, hits of all three nodes on one "
          "Redis token bucket of capacity 1000 allow exactly 1000") {
  SKIP_WITHOUT_NETNS();
  cluster_lab lab{{{"a", 1}, {"b", 1}, {"c", 1}}};
  REQUIRE_MESSAGE(test::eventually([&] { return lab.all_up(); }, 10s), lab.views() << lab.logs());
  lab.net.add_input_rule("a", "ip saddr " + lab.net.addr("b") + " drop");
  lab.net.add_input_rule("b", "ip saddr " + lab.net.addr("a") + " drop");
  REQUIRE_MESSAGE(test::eventually([&] { return lab.state("a", "b") == "down" && lab.state("b", "a") == "down"; }, 3s),
                  lab.views());
  CHECK(lab.state("c", "a") == "up");
  CHECK(lab.state("c", "b") == "up");
  std::vector<std::unique_ptr<test::child_process>> hitters;
  for (auto host : nodes)
    hitters.push_back(std::make_unique<test::child_process>(
      std::vector<std::string>{"ip", "netns", "exec", lab.net.ns(host), OTPP_LIMITER_HITS_PATH, lab.redis_url(),
                               "token_bucket", "1000", "600", "2"},
      test::child_process::output::both));
  long total = 0;
  for (std::size_t i = 0; i < hitters.size(); ++i) {
    auto out = hitters[i]->read_all();
    auto code = hitters[i]->wait();
    MESSAGE("node-" << std::string{nodes[i]} << ": " << out.substr(0, out.find('\n')) << " of 1200 hits allowed");
    CHECK_MESSAGE(code == 0, out);
    total += std::atol(out.c_str());
  }
  CHECK(total == 1000);
  CHECK(lab.state("a", "b") == "down");
  lab.net.flush_rules("a");
  lab.net.flush_rules("b");
  CHECK_MESSAGE(test::eventually([&] { return lab.all_up(); }, 2s), lab.views());
}

TEST_CASE("three nodes in network namespaces: a node cut off from Redis answers its hits within timeout_ms by its "
          "failure policy while the others are unaffected, and recovers within 2 s of the heal") {
  SKIP_WITHOUT_NETNS();
  cluster_lab lab{{{"a", 1}, {"b", 1}, {"c", 1}}};
  REQUIRE_MESSAGE(test::eventually([&] { return lab.all_up(); }, 10s), lab.views() << lab.logs());
  auto url = lab.redis_url();
  for (auto host : nodes)
    REQUIRE(field(lab.ask(host, "hits " + url + " 5 200 fail_closed"), "allowed") == 5);
  REQUIRE(field(lab.ask("c", "hits " + url + " 5 200 fail_open"), "degraded") == 0);

  lab.net.add_input_rule("c", "ip saddr " + lab.net.addr("redis") + " drop");
  lab.net.add_input_rule("redis", "ip saddr " + lab.net.addr("c") + " drop");
  auto closed = lab.send("c", "hits " + url + " 10 200 fail_closed");
  auto open = lab.send("c", "hits " + url + " 10 200 fail_open");
  auto at_a = lab.send("a", "hits " + url + " 300 200 fail_closed");
  auto at_b = lab.send("b", "hits " + url + " 300 200 fail_closed");
  auto rc = lab.answer("c", closed, 10s);
  auto ro = lab.answer("c", open, 10s);
  auto ra = lab.answer("a", at_a, 10s);
  auto rb = lab.answer("b", at_b, 10s);
  MESSAGE("node-c fail_closed during the cut: " << rc);
  MESSAGE("node-c fail_open during the cut: " << ro);
  MESSAGE("node-a: " << ra);
  MESSAGE("node-b: " << rb);
  CHECK(field(rc, "degraded") == 10);
  CHECK(field(rc, "allowed") == 0);
  CHECK(field(ro, "degraded") == 10);
  CHECK(field(ro, "allowed") == 10);
  for (auto& r : {rc, ro}) {
    CHECK(field(r, "errors") == 0);
    CHECK(field(r, "max_ms") >= 0);
    CHECK(field(r, "max_ms") <= 200 + 50); // timeout_ms, and scheduling slack
  }
  for (auto& r : {ra, rb}) {
    CHECK(field(r, "allowed") == 300);
    CHECK(field(r, "degraded") == 0);
    CHECK(field(r, "errors") == 0);
    CHECK(field(r, "max_ms") < 200);
  }

  lab.net.flush_rules("c");
  lab.net.flush_rules("redis");
  auto closed_back = lab.send("c", "recover " + url + " 200 fail_closed 5000");
  auto open_back = lab.send("c", "recover " + url + " 200 fail_open 5000");
  auto back_closed = lab.answer("c", closed_back, 10s);
  auto back_open = lab.answer("c", open_back, 10s);
  MESSAGE("node-c after the heal: fail_closed limiter " << back_closed << ", fail_open limiter " << back_open);
  for (auto& r : {back_closed, back_open}) {
    CHECK(word(r, 0) == "recovered");
    CHECK(number(word(r, 1)) <= 2000);
  }
  CHECK(lab.all_up()); // the cluster itself never noticed
}

}
