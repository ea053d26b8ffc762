#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "otpp/config/loader.hpp"

using namespace otpp;

namespace {

std::vector<std::string> problems_of(const std::string& text) {
  auto r = config::load_string(text, "node.toml");
  std::vector<std::string> out;
  for (auto& p : r.problems)
    out.push_back(p.to_string());
  CHECK(r.config.has_value() == out.empty());
  return out;
}

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  for (auto& p : problems)
    if (p.find(text) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_SUITE("config.cluster") {

TEST_CASE("a [cluster] section loads with every value, and a node without one has no cluster") {
  auto r = config::load_string(R"([cluster]
node_name = "node-a"
listen = "127.0.0.1:4370"
peers = ["node-b@127.0.0.1:4371", "node-c@[::1]:4372"]
heartbeat_interval_ms = 100
connection_timeout_ms = 500
connect_timeout_ms = 400
reconnect_backoff_ms = [50, 2000]
)",
                               "node.toml");
  REQUIRE_MESSAGE(r.config, (r.problems.empty() ? "" : r.problems.front().to_string()));
  REQUIRE(r.config->cluster);
  auto& k = *r.config->cluster;
  CHECK(k.node_name == "node-a");
  CHECK(k.listen.port == 4370);
  REQUIRE(k.peers.size() == 2);
  CHECK(k.peers[0].name == "node-b");
  CHECK(k.peers[1].at.host == "::1");
  CHECK(k.peers[1].at.port == 4372);
  CHECK(k.heartbeat_interval.count() == 100);
  CHECK(k.connection_timeout.count() == 500);
  CHECK(k.connect_timeout.count() == 400);
  CHECK(k.reconnect_backoff_min.count() == 50);
  CHECK(k.reconnect_backoff_max.count() == 2000);
  CHECK_FALSE(k.tls);
  CHECK_FALSE(config::load_string("[node]\nname = \"x\"\n", "node.toml").config->cluster);
}

TEST_CASE("bad peers, a node among its own peers and duplicate peers are errors at their positions") {
  auto p = problems_of(R"([cluster]
node_name = "node-a"
peers = ["node-b", "node-a@127.0.0.1:1", "node-c@127.0.0.1:2", "node-c@127.0.0.1:3", "bad name@h:1", 7]
)");
  CHECK(p == std::vector<std::string>{
               "node.toml:3:10: cluster.peers[0]: invalid_spec: expected name@host:port, got 'node-b'",
               "node.toml:3:20: cluster.peers[1]: is this node itself ('node-a'); list only the other nodes",
               "node.toml:3:64: cluster.peers[3]: a second peer named 'node-c'",
               "node.toml:3:86: cluster.peers[4]: invalid_spec: the node name 'bad name' must match "
               "[A-Za-z0-9_-]{1,64} (in 'bad name@h:1')",
               "node.toml:3:102: cluster.peers[5]: must be a string \"name@host:port\""});
}

TEST_CASE("the connection timeout must cover three heartbeats") {
  auto p = problems_of("[cluster]\nnode_name = \"a\"\nheartbeat_interval_ms = 200\nconnection_timeout_ms = 500\n");
  CHECK(p == std::vector<std::string>{
               "node.toml:4:25: cluster.connection_timeout_ms: must be >= 3 x heartbeat_interval_ms (600), got 500"});
  CHECK(problems_of("[cluster]\nnode_name = \"a\"\nheartbeat_interval_ms = 200\nconnection_timeout_ms = 600\n").empty());
}

TEST_CASE("a non-loopback listen address needs TLS or insecure_plaintext") {
  auto p = problems_of("[cluster]\nnode_name = \"a\"\nlisten = \"10.0.0.5:4370\"\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0].find("node.toml:3:10: cluster.listen: '10.0.0.5:4370' is not a loopback address") == 0);
  CHECK(problems_of("[cluster]\nnode_name = \"a\"\nlisten = \"10.0.0.5:4370\"\ninsecure_plaintext = true\n").empty());
  CHECK(problems_of("[cluster]\nnode_name = \"a\"\nlisten = \"localhost:4370\"\n").empty());
  CHECK(problems_of("[cluster]\nnode_name = \"a\"\nlisten = \"[::1]:4370\"\n").empty());
}

TEST_CASE("a [cluster.tls] table needs certificate, key and cafile, all readable") {
  auto p = problems_of("[cluster]\nnode_name = \"a\"\n[cluster.tls]\ncertificate = \"/nonexistent/node.pem\"\n");
  CHECK(mentions(p, "node.toml:4:15: cluster.tls.certificate: cannot read '/nonexistent/node.pem'"));
  CHECK(mentions(p, "cluster.tls.key: missing: certificate, key and cafile are all required"));
  CHECK(mentions(p, "cluster.tls.cafile: missing"));
  CHECK(p.size() == 3);
  auto readable = std::string{OTPP_SOURCE_DIR} + "/README.md";
  CHECK(problems_of("[cluster]\nnode_name = \"a\"\nlisten = \"10.0.0.5:1\"\n[cluster.tls]\ncertificate = \"" + readable
                    + "\"\nkey = \"" + readable + "\"\ncafile = \"" + readable + "\"\n")
          .empty());
}

TEST_CASE("node names, addresses, numbers and unknown keys are checked, all at once") {
  auto p = problems_of(R"([cluster]
node_name = "a.b"
listen = "127.0.0.1"
heartbeat_interval_ms = 0
reconnect_backoff_ms = [500, 100]
conect_timeout_ms = 5
)");
  CHECK(mentions(p, "node.toml:2:13: cluster.node_name: must match [A-Za-z0-9_-]{1,64}, got 'a.b'"));
  CHECK(mentions(p, "node.toml:3:10: cluster.listen: invalid_spec: expected host:port, got '127.0.0.1'"));
  CHECK(mentions(p, "node.toml:4:25: cluster.heartbeat_interval_ms: must be in [1, 3600000], got 0"));
  CHECK(mentions(p, "node.toml:5:24: cluster.reconnect_backoff_ms: must be [min, max]"));
  CHECK(mentions(p, "node.toml:6:1: cluster.conect_timeout_ms: unknown key (did you mean 'connect_timeout_ms'?)"));
  CHECK(problems_of("[cluster]\nlisten = \"127.0.0.1:1\"\n") == std::vector<std::string>{
                                                                 "node.toml:1:1: cluster.node_name: missing"});
}

}
