#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "otpp/actors/events/event.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/config/node.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/cluster_nodes.hpp"
#include "tests/support/event_capture.hpp"
#include "tests/support/eventually.hpp"

using namespace otpp;
using namespace std::chrono_literals;

namespace {

const char* node_toml = R"(
[node]
name = "http-node"
[logging]
level = "warn"
[pools.db]
size = 1
max_overflow = 0
)";

// A node of `node_toml` plus `http` (the [http] table's lines).
std::unique_ptr<config::node> start_node(const std::string& http) {
  auto loaded = config::load_string(std::string{node_toml} + "[http]\n" + http, "http.toml");
  REQUIRE_MESSAGE(loaded.config, (loaded.problems.empty() ? "" : loaded.problems.front().to_string()));
  auto started = config::node::start(*loaded.config);
  REQUIRE_MESSAGE(started, supervision::describe(started.error()));
  REQUIRE((*started)->http_port() > 0);
  return std::move(*started);
}

// The problems of a file with `http` as its [http] table, as text.
std::string problems_of(const std::string& http) {
  auto loaded = config::load_string(std::string{node_toml} + "[http]\n" + http, "http.toml");
  std::string out;
  for (auto& p : loaded.problems)
    out += p.to_string() + "\n";
  return out;
}

// A TCP connection written and read by hand; every read waits at most 10 s.
class raw_client {
public:
  explicit raw_client(int port, const std::string& host = "127.0.0.1") {
    bool v6 = host.find(':') != std::string::npos;
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int rc;
    if (v6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(static_cast<uint16_t>(port));
      ::inet_pton(AF_INET6, host.c_str(), &a.sin6_addr);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    REQUIRE(rc == 0);
  }
  ~raw_client() { ::close(fd_); }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  // False when the endpoint no longer takes bytes (it answered and closed).
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }

  // What arrives until the endpoint closes, an error, or 10 s without a byte.
  std::string read_to_end() {
    std::string out;
    char buf[4096];
    for (;;) {
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0)
        return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

  // True when something (or the close) is there to read now.
  bool answered() {
    char c;
    auto n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0;
  }

private:
  int fd_ = -1;
};

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + extra + "\r\n";
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

int health_status(int port, const std::string& host = "127.0.0.1") {
  httplib::Client client{host, port};
  client.set_connection_timeout(5s);
  client.set_read_timeout(5s);
  auto r = client.Get("/health");
  return r ? r->status : -1;
}

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/otpp-http-XXXXXX";
  int fd = ::mkstemp(name);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  return name;
}

} // namespace

TEST_SUITE("http endpoint") {

TEST_CASE("the endpoint emits http_listening with the address and the port it bound, port 0 included") {
  test::event_capture events;
  auto node = start_node("listen = \"127.0.0.1:0\"\n");
  auto seen = events.of<events::http_listening>();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].address == "127.0.0.1");
  CHECK(seen[0].port == static_cast<uint64_t>(node->http_port()));
  CHECK_FALSE(seen[0].tls);
}

TEST_CASE("/metrics answers in the Prometheus text format 0.0.4") {
  auto node = start_node("listen = \"127.0.0.1:0\"\n");
  httplib::Client client{"127.0.0.1", node->http_port()};
  auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(metrics->body.find("# TYPE otpp_pool_workers gauge\n") != std::string::npos);
  CHECK(metrics->body.find("otpp_pool_workers{pool=\"db\",state=\"idle\"} 1\n") != std::string::npos);
}

TEST_CASE("/status is one JSON object: the node, its health tree and its metrics, no peers on a single node") {
  auto node = start_node("listen = \"127.0.0.1:0\"\n");
  httplib::Client client{"127.0.0.1", node->http_port()};
  auto res = client.Get("/status");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "application/json");
  auto status = nlohmann::json::parse(res->body);
  CHECK(status["node"] == "http-node");
  CHECK(status["health"]["name"] == "http-node");
  CHECK(status["health"]["kind"] == "supervisor");
  CHECK(status["health"]["status"] == "healthy");
  REQUIRE(status["health"]["children"].size() == 1);
  CHECK(status["health"]["children"][0]["name"] == "db");
  CHECK(status["health"]["children"][0]["kind"] == "pool");
  CHECK(status["metrics"]["otpp_pool_workers"]["type"] == "gauge");
  CHECK_FALSE(status.contains("peers"));
  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(nlohmann::json::parse(health->body) == status["health"]);
}

TEST_CASE("a pool that does not exist is answered 404 with a JSON error, whatever bytes its name holds") {
  auto node = start_node("listen = \"127.0.0.1:0\"\n");
  httplib::Client client{"127.0.0.1", node->http_port()};
  for (std::string name : {"nope", "%FF%22%7B%0A"}) {
    CAPTURE(name);
    auto res = client.Get(("/pools/" + name).c_str());
    REQUIRE(res);
    CHECK(res->status == 404);
    auto body = nlohmann::json::parse(res->body); // valid JSON, valid UTF-8
    CHECK(body["error"].get<std::string>().find("not_found") != std::string::npos);
    auto probe = client.Post(("/pools/" + name + "/probe").c_str());
    REQUIRE(probe);
    CHECK(probe->status == 404);
    CHECK(nlohmann::json::parse(probe->body)["ok"] == false);
  }
  auto error = nlohmann::json::parse(client.Get("/pools/%FF%22%7B%0A")->body)["error"].get<std::string>();
  CHECK(error.find("\\xff\"{\n") != std::string::npos);
  auto db = client.Get("/pools/db");
  REQUIRE(db);
  CHECK(db->status == 200);
  CHECK(nlohmann::json::parse(db->body)
        == nlohmann::json{{"state", "ready"}, {"idle", 1},         {"busy", 0},        {"overflow", 0},
                          {"waiting", 0},     {"size", 1},         {"max_overflow", 0}});
}

TEST_CASE("a request head that trickles in is answered 408 once read_timeout_ms has passed since its first byte") {
  auto node = start_node("listen = \"127.0.0.1:0\"\nread_timeout_ms = 300\n");
  raw_client slow{node->http_port()};
  // One byte every 50 ms: each read waits far less than the timeout, the
  // request as a whole far longer (httplib's own timeouts are per read).
  std::string head = get("/health", "X-Padding: " + std::string(200, 'a') + "\r\n");
  std::size_t sent = 0;
  auto start = std::chrono::steady_clock::now();
  while (sent < head.size() - 1 && !slow.answered() && std::chrono::steady_clock::now() - start < 20s) {
    if (!slow.send(head.substr(sent++, 1)))
      break;
    std::this_thread::sleep_for(50ms); // the client's pace, not a synchronisation
  }
  CHECK(sent < head.size() - 1);
  CHECK(starts_with(slow.read_to_end(), "HTTP/1.1 408"));
}

TEST_CASE("slow clients cost a connection each: with 24 of them connected /health still answers") {
  auto node = start_node("listen = \"127.0.0.1:0\"\nread_timeout_ms = 60000\n");
  std::vector<std::unique_ptr<raw_client>> slow;
  for (int i = 0; i < 24; ++i) {
    slow.push_back(std::make_unique<raw_client>(node->http_port()));
    REQUIRE(slow.back()->send("GET /health HTTP/1.1\r\nHo"));
  }
  // httplib's own pool has 8 threads: the 25th connection would wait for 16 of them to time out.
  CHECK(health_status(node->http_port()) == 200);
  for (auto& s : slow)
    CHECK_FALSE(s->answered());
}

TEST_CASE("a connection beyond max_connections is answered 503 at once and closed") {
  auto node = start_node("listen = \"127.0.0.1:0\"\nmax_connections = 2\nread_timeout_ms = 60000\n");
  auto first = std::make_unique<raw_client>(node->http_port());
  auto second = std::make_unique<raw_client>(node->http_port());
  REQUIRE(first->send("GET /health HTTP/1.1\r\n"));
  REQUIRE(second->send("GET /health HTTP/1.1\r\n"));
  raw_client third{node->http_port()};
  third.send(get("/health"));
  CHECK(starts_with(third.read_to_end(), "HTTP/1.1 503 Service Unavailable"));
  first.reset();
  CHECK(test::eventually([&] { return health_status(node->http_port()) == 200; }, 10s));
}

TEST_CASE("a request head with too many headers or too many bytes is answered 431") {
  auto node = start_node("listen = \"127.0.0.1:0\"\nmax_headers = 16\nmax_header_bytes = 4096\n");
  std::string many;
  for (int i = 0; i < 17; ++i)
    many += "X-H" + std::to_string(i) + ": 1\r\n";
  raw_client a{node->http_port()};
  a.send(get("/health", many));
  CHECK(starts_with(a.read_to_end(), "HTTP/1.1 431"));
  raw_client b{node->http_port()};
  b.send(get("/health", "X-Big: " + std::string(5000, 'b') + "\r\n"));
  CHECK(starts_with(b.read_to_end(), "HTTP/1.1 431"));
  // A header line without an end is bounded too.
  raw_client c{node->http_port()};
  c.send("GET /health HTTP/1.1\r\nX-Endless: " + std::string(8000, 'c'));
  CHECK(starts_with(c.read_to_end(), "HTTP/1.1 431"));
  // At the bounds, it is served: Host, Connection and 14 more are 16 headers.
  std::string fourteen;
  for (int i = 0; i < 14; ++i)
    fourteen += "X-H" + std::to_string(i) + ": 1\r\n";
  raw_client d{node->http_port()};
  d.send(get("/health", fourteen));
  CHECK(starts_with(d.read_to_end(), "HTTP/1.1 200"));
}

TEST_CASE("a body over max_body_bytes is answered 413 before any byte of it is sent") {
  auto node = start_node("listen = \"127.0.0.1:0\"\nmax_body_bytes = 1024\n");
  for (std::string path : {"/pools/db/probe", "/no/such/route"}) {
    CAPTURE(path);
    // Only the head: an endpoint that waited for the 256 MB would never answer.
    raw_client c{node->http_port()};
    c.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 268435456\r\n\r\n");
    CHECK(starts_with(c.read_to_end(), "HTTP/1.1 413"));
  }
  raw_client expecting{node->http_port()};
  expecting.send("POST /pools/db/probe HTTP/1.1\r\nHost: x\r\nContent-Length: 268435456\r\nExpect: 100-continue\r\n\r\n");
  CHECK(starts_with(expecting.read_to_end(), "HTTP/1.1 413"));
  raw_client chunked{node->http_port()};
  chunked.send("POST /pools/db/probe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(starts_with(chunked.read_to_end(), "HTTP/1.1 411"));
  // A body within the bound is read and the request served.
  raw_client small{node->http_port()};
  small.send("POST /pools/db/probe HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello");
  auto answer = small.read_to_end();
  CHECK(starts_with(answer, "HTTP/1.1 200"));
  CHECK(answer.find("\"ok\":true") != std::string::npos);
}

TEST_CASE("with a token every route but /health needs Authorization: Bearer, from an environment variable or a file") {
  ::setenv("OTPP_TEST_HTTP_TOKEN", "s3cret-token", 1);
  auto file = write_temp("  file-token\n");
  for (auto [setting, token] : {std::pair<std::string, std::string>{"token_env = \"OTPP_TEST_HTTP_TOKEN\"\n", "s3cret-token"},
                                std::pair<std::string, std::string>{"token_file = \"" + file + "\"\n", "file-token"}}) {
    CAPTURE(setting);
    auto node = start_node("listen = \"127.0.0.1:0\"\n" + setting);
    httplib::Client client{"127.0.0.1", node->http_port()};
    for (std::string path : {"/metrics", "/status", "/pools/db"}) {
      CAPTURE(path);
      auto none = client.Get(path.c_str());
      REQUIRE(none);
      CHECK(none->status == 401);
      CHECK(none->get_header_value("WWW-Authenticate") == "Bearer");
      auto wrong = client.Get(path.c_str(), {{"Authorization", "Bearer " + token + "x"}});
      REQUIRE(wrong);
      CHECK(wrong->status == 401);
      auto right = client.Get(path.c_str(), {{"Authorization", "Bearer " + token}});
      REQUIRE(right);
      CHECK(right->status == 200);
    }
    auto probe = client.Post("/pools/db/probe");
    REQUIRE(probe);
    CHECK(probe->status == 401);
    auto health = client.Get("/health");
    REQUIRE(health);
    CHECK(health->status == 200);
  }
  // A refused request's body is not read either.
  auto node = start_node("listen = \"127.0.0.1:0\"\ntoken_env = \"OTPP_TEST_HTTP_TOKEN\"\n");
  raw_client c{node->http_port()};
  c.send("POST /pools/db/probe HTTP/1.1\r\nHost: x\r\nContent-Length: 268435456\r\n\r\n");
  CHECK(starts_with(c.read_to_end(), "HTTP/1.1 401"));
  std::remove(file.c_str());
}

TEST_CASE("a non-loopback listen is a configuration error at its position unless allow_remote and a token are set") {
  CHECK(problems_of("listen = \"0.0.0.0:9464\"\n").find("http.toml:10:10: http.listen: '0.0.0.0:9464' is not a loopback address")
        != std::string::npos);
  CHECK(problems_of("listen = \"[::]:9464\"\nallow_remote = true\n").find("http.toml:10:10: http.listen: '[::]:9464' is not a loopback address: allow_remote needs a token")
        != std::string::npos);
  ::setenv("OTPP_TEST_HTTP_TOKEN", "s3cret-token", 1);
  CHECK(problems_of("listen = \"0.0.0.0:0\"\nallow_remote = true\ntoken_env = \"OTPP_TEST_HTTP_TOKEN\"\n").empty());
  ::unsetenv("OTPP_TEST_HTTP_UNSET");
  CHECK(problems_of("listen = \"127.0.0.1:0\"\ntoken_env = \"OTPP_TEST_HTTP_UNSET\"\n")
          .find("http.toml:11:13: http.token_env: the environment variable OTPP_TEST_HTTP_UNSET is not set")
        != std::string::npos);
  CHECK(problems_of("listen = \"127.0.0.1:0\"\ntoken_file = \"/nonexistent/token\"\n")
          .find("http.toml:11:14: http.token_file: cannot read '/nonexistent/token'") != std::string::npos);
  CHECK(problems_of("listen = \"127.0.0.1:0\"\ntoken = \"inline\"\n").find("http.token: unknown key") != std::string::npos);
  // The node refuses it too when the configuration is built in C++.
  config::node_config c;
  c.http.listen = "0.0.0.0:0";
  auto started = config::node::start(c);
  REQUIRE_FALSE(started);
  CHECK(supervision::describe(started.error()).find("is not a loopback address") != std::string::npos);
  // otpp-node --check: exit 78 with the position.
  auto file = write_temp(std::string{node_toml} + "[http]\nlisten = \"0.0.0.0:9464\"\n");
  test::child_process check{{OTPP_NODE_PATH, "--check", file}, test::child_process::output::err};
  check.read_all();
  CHECK(check.wait() == 78);
  CHECK(check.seen().find(file + ":10:10: http.listen: '0.0.0.0:9464' is not a loopback address") != std::string::npos);
  std::remove(file.c_str());
}

TEST_CASE("allow_remote with a token listens on every interface and asks for the token") {
  ::setenv("OTPP_TEST_HTTP_TOKEN", "s3cret-token", 1);
  auto node = start_node("listen = \"0.0.0.0:0\"\nallow_remote = true\ntoken_env = \"OTPP_TEST_HTTP_TOKEN\"\n");
  httplib::Client client{"127.0.0.1", node->http_port()};
  auto r = client.Get("/status");
  REQUIRE(r);
  CHECK(r->status == 401);
}

TEST_CASE("an IPv6 listen address in brackets passes the loader and the endpoint answers on it") {
  CHECK(problems_of("listen = \"[::1]:9464\"\n").empty());
  CHECK(problems_of("listen = \"::1:9464\"\n").find("brackets") != std::string::npos);
  auto node = start_node("listen = \"[::1]:0\"\n");
  raw_client c{node->http_port(), "::1"};
  c.send(get("/health"));
  CHECK(starts_with(c.read_to_end(), "HTTP/1.1 200"));
}

TEST_CASE("with [http.tls] the endpoint speaks HTTPS, bounds and token included") {
  test::test_pki pki;
  auto files = pki.member("http-node");
  ::setenv("OTPP_TEST_HTTP_TOKEN", "s3cret-token", 1);
  auto node = start_node("listen = \"127.0.0.1:0\"\ntoken_env = \"OTPP_TEST_HTTP_TOKEN\"\nmax_body_bytes = 16\n"
                         "[http.tls]\ncertificate = \"" + files.certificate + "\"\nkey = \"" + files.key + "\"\n");
  httplib::SSLClient client{"127.0.0.1", node->http_port()};
  client.enable_server_certificate_verification(false);
  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto anonymous = client.Get("/metrics");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
  auto metrics = client.Get("/metrics", {{"Authorization", "Bearer s3cret-token"}});
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  auto big = client.Post("/pools/db/probe", {{"Authorization", "Bearer s3cret-token"}}, std::string(100, 'x'), "text/plain");
  REQUIRE(big);
  CHECK(big->status == 413);
  // Plain HTTP on the TLS port gets no HTTP answer.
  raw_client plain{node->http_port()};
  plain.send(get("/health"));
  CHECK_FALSE(starts_with(plain.read_to_end(), "HTTP/1.1"));
  CHECK(problems_of("listen = \"127.0.0.1:0\"\n[http.tls]\ncertificate = \"/nonexistent.pem\"\n")
          .find("http.tls.key: missing") != std::string::npos);
}

}
