#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "otpp/actors/cluster/bounded_connect.hpp"
#include "otpp/actors/thread_call.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/loopback_socket.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace std::chrono_literals;

namespace {

struct middleman_config : test::threaded_config {
  middleman_config() { load<caf::io::middleman>(); }
};

// A loopback port whose SYNs are dropped, as by a host that drops packets:
// a listener with a backlog of 0 that never accepts, its one queue slot taken.
struct black_hole {
  test::loopback_socket listener{0};
  int filler = ::socket(AF_INET, SOCK_STREAM, 0);

  black_hole() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(listener.port());
    REQUIRE(::connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~black_hole() { ::close(filler); }
  uint16_t port() const { return listener.port(); }
};

// otpp-cluster-peer, and the port it publishes on.
struct peer_node {
  test::child_process process{{OTPP_CLUSTER_PEER_PATH}, test::child_process::output::out};
  uint16_t port = 0;

  peer_node() {
    REQUIRE(process.wait_for("\n"));
    auto line = process.seen();
    REQUIRE(line.rfind("ready ", 0) == 0);
    port = static_cast<uint16_t>(std::stoi(line.substr(6)));
  }
};

using ms = std::chrono::milliseconds;

// Bounds on work that must be quick (a handshake, a refusal); the sanitizers
// slow CAF's first handshake down several times.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr ms quick{1000};
#else
constexpr ms quick{100};
#endif

ms since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - start);
}

} // namespace

TEST_SUITE("cluster.bounded_connect") {

TEST_CASE("a connect to a host that drops packets ends within the timeout, while one to a live node succeeds at once") {
  peer_node peer;
  black_hole hole;
  middleman_config cfg;
  caf::actor_system sys{cfg};
  std::atomic<bool> dialing{false};
  auto start = std::chrono::steady_clock::now();
  auto stuck = std::async(std::launch::async, [&] {
    dialing = true;
    auto r = cluster::bounded_connect(sys, "127.0.0.1", hole.port(), 500ms);
    return std::make_pair(static_cast<bool>(r), since(start));
  });
  REQUIRE(test::eventually([&] { return dialing.load(); }));
  auto live_start = std::chrono::steady_clock::now();
  auto live = cluster::bounded_connect(sys, "127.0.0.1", peer.port, 500ms);
  auto live_took = since(live_start);
  REQUIRE(live);
  CHECK(stuck.wait_for(0ms) == std::future_status::timeout); // the other attempt is still waiting
  CHECK(live_took < quick);
  CHECK(live->node != sys.node());
  // The published actor answers through the connection.
  caf::scoped_actor self{sys};
  auto echo = caf::actor_cast<caf::actor>(live->published);
  CHECK(thread_call<std::string>(self, echo, 5s, std::string{"ping"}) == std::string{"ping"});
  auto [connected, took] = stuck.get();
  CHECK_FALSE(connected);
  CHECK(took >= 500ms);
  CHECK(took < 600ms);
}

TEST_CASE("a refused connection and a missing middleman are clear errors") {
  test::loopback_socket closed; // bound, not listening: connections are refused
  middleman_config cfg;
  caf::actor_system sys{cfg};
  auto start = std::chrono::steady_clock::now();
  auto refused = cluster::bounded_connect(sys, "127.0.0.1", closed.port(), 500ms);
  REQUIRE_FALSE(refused);
  CHECK(since(start) < quick);
  CHECK(sys.render(refused.error()).find("127.0.0.1:" + std::to_string(closed.port()) + ": Connection refused")
        != std::string::npos);
  test::threaded_config plain;
  caf::actor_system without{plain};
  auto none = cluster::bounded_connect(without, "127.0.0.1", closed.port(), 500ms);
  REQUIRE_FALSE(none);
  CHECK(none.error() == caf::sec::feature_disabled);
}

}
