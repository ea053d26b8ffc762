#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <httplib.h>

#include "otpp/actors/cluster/cluster.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/thread_call.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/config/node.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/system_setup.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/cluster_nodes.hpp"
#include "tests/support/event_capture.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/loopback_socket.hpp"

using namespace otpp;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

bool is(const caf::error& err, cluster::cluster_errc code) {
  return err.category() == cluster::cluster_errc_category && err.code() == static_cast<uint8_t>(code);
}

bool is(const caf::error& err, pool::pool_errc code) {
  return err.category() == pool::pool_errc_category && err.code() == static_cast<uint8_t>(code);
}

std::string peer_entry(const std::string& name, int port) {
  return name + "@127.0.0.1:" + std::to_string(port);
}

int64_t ms_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t).count();
}

// node-b as an otpp-node process with a pool "database" (`pool_size`
// workers, `max_overflow`, plus `extra_toml`), and node-a in this process
// (with `a_pools`) dialing it; both up.
struct two_nodes {
  explicit two_nodes(int pool_size, const std::string& extra_toml = {}, int max_overflow = 0,
                     std::vector<pool::pool_config> a_pools = {})
    : b_port(test::free_loopback_port()),
      b(test::test_cluster("node-b", b_port), pool_size, extra_toml, max_overflow),
      a(test::test_cluster("node-a", 0, {peer_entry("node-b", b_port)}), std::move(a_pools)) {
    REQUIRE(a.wait_state("node-b", "up"));
  }

  int b_port;
  test::node_process b;
  test::local_node a;
};

// A pool "database" of `size` workers of the default kind, no overflow.
pool::pool_config database_pool(std::size_t size) {
  pool::pool_config database;
  database.name = "database";
  database.size = size;
  database.max_overflow = 0;
  return database;
}

// The events of type T about `peer`.
template <class T>
std::vector<T> about(const test::event_capture& events, const std::string& peer) {
  std::vector<T> out;
  for (auto& e : events.of<T>())
    if (e.peer == peer)
      out.push_back(e);
  return out;
}

// Every one of `pending` fails with node_down.
void all_fail_with_node_down(std::vector<std::future<caf::expected<pool::lease>>>& pending) {
  for (auto& f : pending) {
    auto r = f.get();
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), cluster::cluster_errc::node_down));
  }
}

} // namespace

TEST_SUITE("cluster") {

TEST_CASE("cluster::configure gives a node's idle workers a short spin, then sleep, over otpp's scheduler profile") {
  caf::actor_system_config cfg;
  apply_scheduler_profile(cfg);
  cluster::configure(cfg, test::test_cluster("node-a", 0));
  CHECK(caf::get_or(cfg, "work-stealing.aggressive-poll-attempts", size_t{0}) == 2000);
  CHECK(caf::get_or(cfg, "work-stealing.moderate-poll-attempts", size_t{1}) == 0);
  CHECK(caf::get_or(cfg, "middleman.workers", size_t{1}) == 0);
}

TEST_CASE("two nodes: checkout, checkin, transaction, full, no_such_pool and status through pool@node") {
  test::event_capture events; // node-a's
  two_nodes nodes{2};
  auto& [b_port, b, a] = nodes;
  auto started = events.of<events::cluster_started>();
  REQUIRE(started.size() == 1);
  CHECK(started[0].listen == "127.0.0.1:" + std::to_string(a.membership().port()));
  CHECK(started[0].peers == 1);
  CHECK(started[0].transport == "tcp");
  REQUIRE(events.wait_for<events::node_up>(1));
  auto up = about<events::node_up>(events, "node-b");
  REQUIRE(up.size() == 1);
  CHECK(up[0].pools == 1);
  auto remote = pool::find_pool(a.sys(), "database@node-b");
  REQUIRE(remote);
  CHECK(remote->remote());
  auto s = remote->status_or_error();
  REQUIRE(s);
  CHECK(s->idle == 2);
  CHECK(s->busy == 0);
  {
    auto first = remote->checkout(true, 1000ms);
    REQUIRE_MESSAGE(first, supervision::describe(first.error()));
    auto second = remote->checkout(false);
    REQUIRE(second);
    // The worker is the remote echo actor itself.
    caf::scoped_actor self{a.sys()};
    std::string echoed;
    self->request(first->worker(), 2s, std::string{"ping"}).receive([&](std::string& x) { echoed = x; },
                                                                      [](caf::error&) {});
    CHECK(echoed == "ping");
    auto third = remote->checkout(false);
    REQUIRE_FALSE(third);
    CHECK(is(third.error(), pool::pool_errc::full));
    auto waited = remote->checkout(true, 100ms);
    REQUIRE_FALSE(waited);
    CHECK(is(waited.error(), pool::pool_errc::timeout));
    CHECK(remote->status().busy == 2);
  }
  CHECK(test::eventually([&] { return remote->status().idle == 2; }, 2s));
  auto answer = remote->transaction([&](const caf::actor& w) {
    caf::scoped_actor self{a.sys()};
    std::string echoed;
    self->request(w, 2s, std::string{"tx"}).receive([&](std::string& x) { echoed = x; }, [](caf::error&) {});
    CHECK(remote->status().busy == 1);
    return echoed;
  });
  REQUIRE(answer);
  CHECK(*answer == "tx");
  CHECK(test::eventually([&] { return remote->status().idle == 2; }, 2s));
  auto missing = pool::find_pool(a.sys(), "nope@node-b");
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), cluster::cluster_errc::no_such_pool));
  auto stranger = pool::find_pool(a.sys(), "database@node-z");
  REQUIRE_FALSE(stranger);
  CHECK(is(stranger.error(), cluster::cluster_errc::node_down));
  CHECK(b.process().wait_for("peer=\"node-a\" pools=0", 1s)); // node-b's node_up line: node-a offers no pool
}

TEST_CASE("a pool name its node did not announce fails at once and costs no proxy, whether the node is up or not") {
  two_nodes nodes{1};
  auto& [b_port, b, a] = nodes;
  REQUIRE(pool::find_pool(a.sys(), "database@node-b")); // announced: its proxy lives from now on
  auto before = a.sys().registry().running();
  for (int i = 0; i < 1000; ++i) {
    auto r = pool::find_pool(a.sys(), "ghost" + std::to_string(i) + "@node-b");
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), cluster::cluster_errc::no_such_pool));
  }
  CHECK(a.sys().registry().running() == before);
  // A peer that never came up announced nothing: every name fails with node_down.
  test::local_node lonely{test::test_cluster("node-a", 0, {peer_entry("node-z", test::free_loopback_port())})};
  auto alone = lonely.sys().registry().running();
  for (int i = 0; i < 100; ++i) {
    auto r = pool::find_pool(lonely.sys(), "ghost" + std::to_string(i) + "@node-z");
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), cluster::cluster_errc::node_down));
  }
  CHECK(lonely.sys().registry().running() == alone);
}

TEST_CASE("an actor checks out of a remote pool through its proxy and its workers come back when it dies") {
  two_nodes nodes{2};
  auto& [b_port, b, a] = nodes;
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  std::promise<std::string> got;
  // (An argument: CAF 0.17 dereferences an empty tuple pointer for actors spawned without one.)
  auto holder = a.sys().spawn([&](caf::event_based_actor* self, pool::pool_ref from) -> caf::behavior {
    self->request(from.actor(), caf::infinite, pool::checkout_atom::value, true, std::chrono::milliseconds{1000})
      .then([&](caf::actor&) { got.set_value("worker"); },
            [&](caf::error& err) { got.set_value(supervision::describe(err)); });
    return {[](int) {}};
  }, remote);
  REQUIRE(got.get_future().get() == "worker");
  CHECK(test::eventually([&] { return remote.status().busy == 1; }, 2s));
  caf::anon_send_exit(holder, caf::exit_reason::kill);
  CHECK(test::eventually([&] { return remote.status().idle == 2; }, 2s));
}

TEST_CASE("an actor that dies while its checkout waits at a remote pool: the worker granted later goes back") {
  two_nodes nodes{1};
  auto& [b_port, b, a] = nodes;
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  auto held = remote.checkout();
  REQUIRE(held);
  caf::scoped_actor watcher{a.sys()};
  // Monitored from its start: the proxy's monitor, set later, hears of its death first.
  auto waiter = watcher->spawn<caf::monitored>([](caf::event_based_actor* self, pool::pool_ref from) -> caf::behavior {
    self->request(from.actor(), caf::infinite, pool::checkout_atom::value, true, std::chrono::milliseconds{10000})
      .then([](caf::actor&) {}, [](caf::error&) {});
    return {[](int) {}};
  }, remote);
  REQUIRE(test::eventually([&] { return remote.status().waiting == 1; }, 5s));
  caf::anon_send_exit(waiter, caf::exit_reason::kill);
  watcher->receive([](caf::down_msg&) {});
  held->release(); // the pool grants the worker to the dead actor's call
  CHECK(test::eventually([&] { return remote.status().idle == 1 && remote.status().waiting == 0; }, 5s));
  CHECK(remote.checkout(false)); // nobody holds it
}

TEST_CASE("a remote pool's actor answers status, acknowledges a check-in, and refuses other requests") {
  two_nodes nodes{2};
  auto& [b_port, b, a] = nodes;
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  caf::scoped_actor self{a.sys()};
  caf::actor worker;
  self->request(remote.actor(), caf::infinite, pool::checkout_atom::value, false, std::chrono::milliseconds{0})
    .receive([&](caf::actor& w) { worker = w; }, [&](caf::error& err) { FAIL(supervision::describe(err)); });
  REQUIRE(worker);
  self->request(remote.actor(), caf::infinite, pool::status_atom::value)
    .receive([&](pool::pool_status& s) { CHECK((s.idle == 1 && s.busy == 1)); },
             [&](caf::error& err) { FAIL(supervision::describe(err)); });
  self->request(remote.actor(), caf::infinite, pool::checkin_atom::value, worker)
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { FAIL(supervision::describe(err)); });
  CHECK(test::eventually([&] { return remote.status().idle == 2; }, 2s));
  self->request(remote.actor(), caf::infinite, std::string{"hello?"})
    .receive([](caf::ok_atom) { FAIL("an answer to an unknown request"); },
             [&](caf::error& err) { CHECK(err == caf::sec::unexpected_message); });
}

TEST_CASE("an actor's check-in of a worker that a thread holds from a remote pool leaves the thread's lease alone") {
  two_nodes nodes{1};
  auto& [b_port, b, a] = nodes;
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  auto held = remote.checkout();
  REQUIRE(held);
  remote.checkin(held->worker()); // as an actor would: not this lease's loan
  caf::scoped_actor self{a.sys()};
  self->request(remote.actor(), caf::infinite, pool::checkin_atom::value, held->worker())
    .receive([](caf::ok_atom) {}, [](caf::error&) {});
  auto again = remote.checkout(false);
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), pool::pool_errc::full));
  held->release();
  CHECK(test::eventually([&] { return remote.status().idle == 1; }, 2s));
}

TEST_CASE("a remote pool's actor ignores exit messages: it ends with the membership only") {
  two_nodes nodes{1};
  auto& [b_port, b, a] = nodes;
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  caf::anon_send_exit(remote.actor(), caf::exit_reason::kill);
  caf::scoped_actor self{a.sys()};
  std::string out;
  self->request(remote.actor(), caf::infinite, pool::checkout_atom::value, false, std::chrono::milliseconds{0})
    .receive([&](caf::actor& w) {
               out = "worker";
               remote.checkin(w);
             },
             [&](caf::error& err) { out = supervision::describe(err); });
  CHECK(out == "worker");
  auto l = remote.checkout(false);
  CHECK(l);
}

TEST_CASE("an actor's checkout waiting at a remote pool answers node_down when the node crashes, and the proxy serves again after its restart") {
  two_nodes nodes{1};
  auto& [b_port, b, a] = nodes;
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  auto held = remote.checkout();
  REQUIRE(held);
  auto ask = [&](std::chrono::milliseconds timeout) {
    caf::scoped_actor self{a.sys()};
    std::string out;
    self->request(remote.actor(), caf::infinite, pool::checkout_atom::value, true, timeout)
      .receive([&](caf::actor& w) {
                 out = "worker";
                 remote.checkin(w);
               },
               [&](caf::error& err) { out = supervision::describe(err); });
    return out;
  };
  auto waiting = std::async(std::launch::async, [&] { return ask(10000ms); });
  REQUIRE(test::eventually([&] { return remote.status().waiting == 1; }, 5s));
  auto killed_at = clock_type::now();
  b.process().signal(SIGKILL);
  auto answer = waiting.get();
  CHECK(answer.find("node_down") == 0);
  CHECK_MESSAGE(ms_since(killed_at) <= 1000, ms_since(killed_at) << " ms");
  b.process().wait();
  b.restart();
  REQUIRE(a.wait_state("node-b", "up", 2000ms));
  CHECK(ask(1000ms) == "worker");
}

TEST_CASE("a crashed node: pending checkouts fail with node_down within 100 ms, leases are void, watches fire, "
          "and the node is up again after its restart") {
  test::event_capture events;
  two_nodes nodes{2, "[pools.slow]\nsize = 1\nworker = \"sleep\"\nworker_args.delay_ms = 60000\n"};
  auto& [b_port, b, a] = nodes;
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  auto l1 = remote.checkout();
  auto l2 = remote.checkout();
  REQUIRE(l1);
  REQUIRE(l2);
  caf::scoped_actor watcher{a.sys()};
  auto watched = cluster::watch(a.sys(), "database@node-b", watcher);
  REQUIRE_MESSAGE(watched, supervision::describe(watched.error()));
  std::vector<std::future<caf::expected<pool::lease>>> pending;
  for (int i = 0; i < 10; ++i)
    pending.push_back(std::async(std::launch::async, [&] { return remote.checkout(true, 10000ms); }));
  REQUIRE(test::eventually([&] { return remote.status().waiting == 10; }, 5s));
  // A call in flight to a remote worker when its node dies.
  auto slow = pool::find_pool(a.sys(), "slow@node-b")->checkout(true, 1000ms);
  REQUIRE(slow);
  auto in_flight = std::async(std::launch::async, [&] {
    caf::scoped_actor self{a.sys()};
    return thread_call<pool::sleep_atom>(self, slow->worker(), 30000ms, pool::sleep_atom::value);
  });
  auto killed_at = clock_type::now();
  b.process().signal(SIGKILL);
  all_fail_with_node_down(pending);
  auto failed_after = ms_since(killed_at);
  CHECK_MESSAGE(failed_after <= 100, failed_after << " ms");
  auto call = in_flight.get();
  REQUIRE_FALSE(call);
  CHECK(is(call.error(), cluster::cluster_errc::node_down));
  CHECK_MESSAGE(ms_since(killed_at) <= 150, ms_since(killed_at) << " ms");
  caf::error watch_reason;
  watcher->receive([&](caf::down_msg& down) { watch_reason = down.reason; }, caf::after(2s) >> [] {});
  CHECK(is(watch_reason, cluster::cluster_errc::node_down));
  CHECK(a.state_of("node-b") == "down");
  auto downs = about<events::node_down>(events, "node-b");
  REQUIRE(downs.size() == 1);
  CHECK(downs[0].cause == "closed");
  CHECK(downs[0].reason.find("connection closed") == 0);
  auto down_now = remote.checkout(true, 1000ms);
  REQUIRE_FALSE(down_now);
  CHECK(is(down_now.error(), cluster::cluster_errc::node_down));
  {
    caf::scoped_actor self{a.sys()};
    auto start = clock_type::now();
    auto r = thread_call<std::string>(self, l1->worker(), 2000ms, std::string{"x"});
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), cluster::cluster_errc::node_down));
    CHECK(ms_since(start) < 100);
  }
  l1->release(); // void: no effect, no error
  l2->fail();
  b.process().wait();
  auto restarted_at = clock_type::now();
  b.restart();
  CHECK(a.wait_state("node-b", "up", 2000ms)); // reconnect backoff max (1 s) + 1 s
  MESSAGE("node-b up again after " << ms_since(restarted_at) << " ms");
  CHECK(about<events::node_up>(events, "node-b").size() == 2);
  auto again = remote.checkout(true, 1000ms);
  CHECK(again);
}

TEST_CASE("a frozen node is declared down within connection_timeout + heartbeat, and the cluster heals after it "
          "resumes; a lease of the lost connection stays void") {
  test::event_capture events;
  two_nodes nodes{1};
  auto& [b_port, b, a] = nodes;
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  auto held = remote.checkout();
  REQUIRE(held);
  std::vector<std::future<caf::expected<pool::lease>>> pending;
  for (int i = 0; i < 3; ++i)
    pending.push_back(std::async(std::launch::async, [&] { return remote.checkout(true, 10000ms); }));
  REQUIRE(test::eventually([&] { return remote.status().waiting == 3; }, 5s));
  auto frozen_at = clock_type::now();
  b.process().signal(SIGSTOP);
  all_fail_with_node_down(pending);
  auto failed_after = ms_since(frozen_at);
  CHECK_MESSAGE(failed_after <= 700, failed_after << " ms");
  auto downs = about<events::node_down>(events, "node-b");
  REQUIRE(downs.size() == 1);
  CHECK(downs[0].cause == "timeout");
  CHECK(downs[0].reason.find("ms of silence") != std::string::npos);
  std::this_thread::sleep_until(frozen_at + 3s); // the freeze itself lasts 3 s
  auto resumed_at = clock_type::now();
  b.process().signal(SIGCONT);
  CHECK(a.wait_state("node-b", "up", 2000ms));
  MESSAGE("whole again " << ms_since(resumed_at) << " ms after SIGCONT");
  auto again = remote.checkout(true, 1000ms);
  REQUIRE(again);
  // The lease of the lost connection is void: released now, it must not give
  // back the worker the pool lent again (the same one: the pool has one).
  held->release();
  auto extra = remote.checkout(false);
  REQUIRE_FALSE(extra);
  CHECK(is(extra.error(), pool::pool_errc::full));
}

TEST_CASE("a node with other heartbeat settings is refused at hello, with both values, and nobody is declared down") {
  int b_port = test::free_loopback_port();
  auto bc = test::test_cluster("node-b", b_port);
  bc.heartbeat_interval = 200ms;
  bc.connection_timeout = 1000ms;
  test::node_process b{bc, 1};
  test::event_capture events;
  test::local_node a{test::test_cluster("node-a", 0, {peer_entry("node-b", b_port)})};
  REQUIRE(a.wait_state("node-b", "incompatible", 5s));
  auto refused = about<events::node_refused>(events, "node-b");
  REQUIRE(refused.size() == 1); // once, not at every retry
  CHECK(refused[0].reason.find("heartbeat_interval_ms 100 at node-a, 200 at node-b") != std::string::npos);
  std::string error;
  for (auto& p : a.membership().peers())
    if (p.name == "node-b")
      error = p.last_error;
  CHECK(error.find("heartbeat_interval_ms 100 at node-a, 200 at node-b") != std::string::npos);
  CHECK(b.process().wait_for("node_refused", 2s));
  CHECK(b.process().seen().find("heartbeat_interval_ms 100 at node-a, 200 at node-b") != std::string::npos);
  auto r = pool::find_pool(a.sys(), "database@node-b"); // never up: it announced no pool
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), cluster::cluster_errc::incompatible));
  CHECK_FALSE(b.process().wait_for("node_down", 1500ms));
  CHECK(a.state_of("node-b") == "incompatible");
  CHECK(events.of<events::node_down>().empty());
  CHECK(about<events::node_refused>(events, "node-b").size() == 1);
}

}

TEST_SUITE("cluster") {

TEST_CASE("a crashed caller node: within 100 ms its workers are back in the pool and its waiters left the queue") {
  int b_port = test::free_loopback_port();
  test::local_node b{test::test_cluster("node-b", b_port), {database_pool(3)}};
  auto local = *pool::find_pool(b.sys(), "database");
  test::child_process a{{OTPP_CLUSTER_CLIENT_PATH, std::to_string(b_port), "3", "2"}, test::child_process::output::out};
  REQUIRE(a.wait_for("holding 3"));
  REQUIRE(test::eventually([&] { return local.status().waiting == 2; }, 5s));
  CHECK(local.status().busy == 3);
  auto killed_at = clock_type::now();
  a.signal(SIGKILL);
  REQUIRE(test::eventually([&] { return local.status().idle == 3 && local.status().waiting == 0; }, 2s));
  auto back_after = ms_since(killed_at);
  CHECK_MESSAGE(back_after <= 100, back_after << " ms");
  CHECK(local.status().busy == 0);
  CHECK(b.wait_state("node-a", "down", 1s));
}

}

TEST_SUITE("cluster.tls") {

TEST_CASE("two TLS nodes that list each other work in both directions over one connection") {
  test::test_pki pki;
  int a_port = test::free_loopback_port();
  int b_port = test::free_loopback_port();
  auto ac = test::test_cluster("node-a", a_port, {peer_entry("node-b", b_port)});
  auto bc = test::test_cluster("node-b", b_port, {peer_entry("node-a", a_port)});
  ac.tls = pki.member("node-a");
  bc.tls = pki.member("node-b");
  test::local_node a{ac, {database_pool(2)}};
  test::local_node b{bc, {database_pool(2)}};
  REQUIRE(a.wait_state("node-b", "up"));
  REQUIRE(b.wait_state("node-a", "up"));
  auto to_b = *pool::find_pool(a.sys(), "database@node-b");
  auto to_a = *pool::find_pool(b.sys(), "database@node-a");
  auto echo = [](caf::actor_system& sys, const caf::actor& w, const std::string& text) {
    caf::scoped_actor self{sys};
    std::string out;
    self->request(w, 2s, text).receive([&](std::string& x) { out = x; }, [](caf::error&) {});
    return out;
  };
  int rounds = 0;
  for (auto until = clock_type::now() + 10s; clock_type::now() < until; ++rounds) {
    auto x = to_b.transaction([&](const caf::actor& w) { return echo(a.sys(), w, "a->b"); }, 2000ms);
    auto y = to_a.transaction([&](const caf::actor& w) { return echo(b.sys(), w, "b->a"); }, 2000ms);
    REQUIRE(x);
    REQUIRE(y);
    REQUIRE(*x == "a->b");
    REQUIRE(*y == "b->a");
  }
  MESSAGE(rounds << " rounds each way in 10 s");
  CHECK(a.state_of("node-b") == "up");
  CHECK(b.state_of("node-a") == "up");
}

TEST_CASE("a node with a stranger CA's certificate and a plain node are refused by a TLS node") {
  test::test_pki pki;
  int b_port = test::free_loopback_port();
  auto bc = test::test_cluster("node-b", b_port);
  bc.tls = pki.member("node-b");
  test::node_process b{bc, 1};
  SUBCASE("stranger") {
    auto ac = test::test_cluster("node-a", 0, {peer_entry("node-b", b_port)});
    ac.tls = pki.stranger("node-a");
    test::event_capture events;
    test::local_node a{ac};
    CHECK(test::eventually([&] {
      auto peers = a.membership().peers();
      return !peers.empty() && peers[0].last_error.find("TLS connection failed") != std::string::npos;
    }, 5s));
    auto unreachable = about<events::node_unreachable>(events, "node-b");
    REQUIRE_FALSE(unreachable.empty());
    CHECK(unreachable.back().reason.find("TLS connection failed") != std::string::npos);
    CHECK(events.of<events::cluster_started>().at(0).transport == "tls");
    CHECK(a.state_of("node-b") != "up");
    CHECK(is(pool::find_pool(a.sys(), "database@node-b").error(), cluster::cluster_errc::node_down));
  }
  SUBCASE("plain") {
    test::local_node a{test::test_cluster("node-a", 0, {peer_entry("node-b", b_port)})};
    CHECK(test::eventually([&] {
      auto peers = a.membership().peers();
      return !peers.empty() && !peers[0].last_error.empty();
    }, 5s));
    CHECK(a.state_of("node-b") != "up");
  }
  CHECK_FALSE(b.process().wait_for("node_up", 500ms));
}

TEST_CASE("a [cluster.tls] table without a certificate is refused at load with exit code 78") {
  test::test_pki pki;
  auto c = test::test_cluster("node-b", 0);
  c.tls = pki.member("node-b");
  auto text = test::node_process::toml(c, 1);
  auto cert_line = text.find("certificate = ");
  text.erase(cert_line, text.find('\n', cert_line) + 1 - cert_line);
  char name[] = "/tmp/otpp-cluster-node-XXXXXX";
  int fd = ::mkstemp(name);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  auto r = test::run({OTPP_NODE_PATH, name});
  std::remove(name);
  CHECK(r.code == 78);
  CHECK(r.output.find("cluster.tls.certificate: missing") != std::string::npos);
}

}

TEST_SUITE("cluster") {

TEST_CASE("a node's /status, /health and /metrics show its peers: up, then down with the cause counted") {
  int b_port = test::free_loopback_port();
  int http_port = test::free_loopback_port();
  test::node_process b{test::test_cluster("node-b", b_port), 1,
                       "[http]\nlisten = \"127.0.0.1:" + std::to_string(http_port) + "\"\n"};
  httplib::Client http{"127.0.0.1", http_port};
  auto get = [&](const char* path) {
    auto res = http.Get(path);
    return res ? res->body : std::string{};
  };
  {
    test::local_node a{test::test_cluster("node-a", 0, {peer_entry("node-b", b_port)})};
    REQUIRE(a.wait_state("node-b", "up"));
    REQUIRE(test::eventually([&] { return get("/status").find(R"("name":"node-a","state":"up")") != std::string::npos; }, 2s));
    CHECK(get("/health").find(R"("peers":[{"name":"node-a","state":"up")") != std::string::npos);
    CHECK(get("/metrics").find("otpp_cluster_peer_up{peer=\"node-a\"} 1") != std::string::npos);
    CHECK(get("/pools/database") == R"({"state":"ready","idle":1,"busy":0,"overflow":0,"waiting":0,"size":1,"max_overflow":0})");
    auto probe = http.Post("/pools/database/probe");
    REQUIRE(probe);
    CHECK(probe->body.find(R"({"ok":true,"worker":)") == 0);
    auto missing = http.Get("/pools/database@node-z");
    REQUIRE(missing);
    CHECK(missing->status == 503);
    CHECK(missing->body.find("node_down") != std::string::npos);
  }
  REQUIRE(test::eventually([&] { return get("/status").find(R"("name":"node-a","state":"down")") != std::string::npos; }, 2s));
  auto metrics = get("/metrics");
  CHECK(metrics.find("otpp_cluster_peer_up{peer=\"node-a\"} 0") != std::string::npos);
  CHECK(metrics.find("otpp_cluster_node_down_total{peer=\"node-a\",cause=\"closed\"} 1") != std::string::npos);
  CHECK(metrics.find("# TYPE otpp_cluster_peer_up gauge") != std::string::npos);
  CHECK(b.process().wait_for("peer=\"node-a\" cause=\"closed\"", 1s)); // node-b's node_down line
}

}

TEST_SUITE("cluster") {

TEST_CASE("a node started from TOML with [cluster] joins, and its status table shows each peer") {
  int b_port = test::free_loopback_port();
  test::node_process b{test::test_cluster("node-b", b_port), 1};
  auto text = test::node_process::toml(test::test_cluster("node-a", 0, {peer_entry("node-b", b_port), "node-c@127.0.0.1:1"}), 1);
  auto loaded = config::load_string(text, "node-a.toml");
  REQUIRE(loaded.config);
  auto started = config::node::start(*loaded.config);
  REQUIRE_MESSAGE(started, supervision::describe(started.error()));
  auto& node = **started;
  REQUIRE(node.membership());
  REQUIRE(test::eventually([&] { return config::status_table(node).find("node-b                   peer       up") != std::string::npos; }, 5s));
  auto table = config::status_table(node);
  CHECK(table.find("node-c                   peer       down") != std::string::npos);
  CHECK(table.find("127.0.0.1:1: Connection refused") != std::string::npos);
  auto remote = pool::find_pool(node.system(), "database@node-b");
  REQUIRE(remote);
  CHECK(remote->checkout(true, 1000ms));
}

}

TEST_SUITE("cluster") {

TEST_CASE("a seeded sequence of checkouts, check-ins and failed workers gives a remote pool's results and "
          "status exactly as a local pool's") {
  pool::pool_config same;
  same.name = "database";
  same.size = 3;
  same.max_overflow = 2;
  two_nodes nodes{3, {}, 2, {same}};
  auto& [b_port, b, a] = nodes;
  auto local = *pool::find_pool(a.sys(), "database");
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  auto same_status = [](const pool::pool_status& x, const pool::pool_status& y) {
    return x.state == y.state && x.idle == y.idle && x.busy == y.busy && x.overflow == y.overflow
           && x.waiting == y.waiting;
  };
  std::mt19937 rng{20261122};
  std::vector<pool::lease> local_held, remote_held;
  for (int step = 0; step < 300; ++step) {
    auto op = rng() % 10;
    if (op < 5) { // non-blocking checkout
      auto l = local.checkout(false);
      auto r = remote.checkout(false);
      REQUIRE_MESSAGE(static_cast<bool>(l) == static_cast<bool>(r), "step " << step);
      if (l) {
        local_held.push_back(std::move(*l));
        remote_held.push_back(std::move(*r));
      } else {
        CHECK(is(l.error(), pool::pool_errc::full));
        CHECK(is(r.error(), pool::pool_errc::full));
      }
    } else if (!local_held.empty()) { // check one in, or fail its worker
      auto i = rng() % local_held.size();
      if (op < 9) {
        local_held[i].release();
        remote_held[i].release();
      } else {
        local_held[i].fail();
        remote_held[i].fail();
      }
      local_held.erase(local_held.begin() + static_cast<long>(i));
      remote_held.erase(remote_held.begin() + static_cast<long>(i));
    }
    // Check-ins and replacements are asynchronous on both sides: wait until
    // they settle, the replacement of a failed worker included (a step
    // taken while one side still starts it could start an overflow worker
    // there and not on the other side).
    auto settled = [](const pool::pool_status& x) { return x.idle + x.busy - x.overflow == x.size; };
    REQUIRE_MESSAGE(test::eventually(
                      [&] {
                        auto l = local.status();
                        auto r = remote.status();
                        return same_status(l, r) && settled(l) && settled(r);
                      },
                      2s),
                    "step " << step << ": local idle " << local.status().idle << " busy " << local.status().busy
                            << ", remote idle " << remote.status().idle << " busy " << remote.status().busy);
  }
}

}

TEST_SUITE("cluster") {

TEST_CASE("a second node with a name already in the cluster is refused, and the first stays up") {
  int b_port = test::free_loopback_port();
  test::node_process b{test::test_cluster("node-b", b_port), 1};
  test::local_node first{test::test_cluster("node-a", 0, {peer_entry("node-b", b_port)})};
  REQUIRE(first.wait_state("node-b", "up"));
  test::event_capture events;
  test::local_node second{test::test_cluster("node-a", 0, {peer_entry("node-b", b_port)})};
  REQUIRE(second.wait_state("node-b", "incompatible", 5s));
  auto refused = about<events::node_refused>(events, "node-b");
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].reason.find("duplicate node name 'node-a'") != std::string::npos);
  CHECK(b.process().wait_for("node_refused", 2s));
  CHECK(b.process().seen().find("duplicate node name 'node-a'") != std::string::npos);
  CHECK(first.state_of("node-b") == "up");
  CHECK(pool::find_pool(first.sys(), "database@node-b")->checkout(true, 1000ms));
  CHECK_FALSE(b.process().wait_for("node_down", 300ms));
}

}

TEST_SUITE("cluster") {

TEST_CASE("a CAF node of another application is refused at connect time as incompatible") {
  test::child_process peer{{OTPP_CLUSTER_PEER_PATH}, test::child_process::output::out};
  REQUIRE(peer.wait_for("ready "));
  auto port = std::stoi(peer.seen().substr(peer.seen().find("ready ") + 6));
  test::event_capture events;
  test::local_node a{test::test_cluster("node-a", 0, {peer_entry("node-b", port)})};
  REQUIRE(a.wait_state("node-b", "incompatible", 5s));
  auto refused = about<events::node_refused>(events, "node-b");
  REQUIRE(refused.size() == 1); // refused, not merely unreachable, and once
  CHECK(refused[0].reason.find("incompatible_application_ids") != std::string::npos);
  CHECK(events.of<events::node_unreachable>().empty());
  CHECK(test::eventually([&] {
    auto peers = a.membership().peers();
    return peers.size() == 1 && peers[0].last_error.find("handshake refused: system_error(incompatible_application_ids)") != std::string::npos;
  }, 5s));
  CHECK(is(pool::find_pool(a.sys(), "database@node-b").error(), cluster::cluster_errc::incompatible));
}

}

TEST_SUITE("cluster") {

TEST_CASE("a remote check-in is seen by the next checkout of the same node, in order") {
  two_nodes nodes{1};
  auto& [b_port, b, a] = nodes;
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  for (int i = 0; i < 200; ++i) {
    auto l = remote.checkout(false);
    REQUIRE_MESSAGE(l, "round " << i << ": " << supervision::describe(l.error()));
    l->release();
  }
}

}

TEST_SUITE("cluster") {

TEST_CASE("when a node's membership ends, its calls still waiting at other nodes answer node_down") {
  two_nodes nodes{1};
  auto& [b_port, b, a] = nodes;
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  auto held = remote.checkout();
  REQUIRE(held);
  auto waiting = std::async(std::launch::async, [&] { return remote.checkout(true, 20000ms); });
  REQUIRE(test::eventually([&] { return remote.status().waiting == 1; }, 5s));
  auto stopped_at = clock_type::now();
  a.stop_membership();
  auto r = waiting.get();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), cluster::cluster_errc::node_down));
  CHECK(ms_since(stopped_at) < 1000);
  CHECK(is(remote.checkout(false).error(), cluster::cluster_errc::node_down));
}

}

TEST_SUITE("cluster") {

TEST_CASE("when a node's membership ends, the other node's pool takes back what its threads held, though their pool refs live on") {
  int b_port = test::free_loopback_port();
  test::local_node b{test::test_cluster("node-b", b_port), {database_pool(1)}};
  test::local_node a{test::test_cluster("node-a", 0, {peer_entry("node-b", b_port)})};
  REQUIRE(a.wait_state("node-b", "up"));
  auto at_b = *pool::find_pool(b.sys(), "database");
  auto remote = *pool::find_pool(a.sys(), "database@node-b");
  auto held = remote.checkout();
  REQUIRE(held);
  REQUIRE(at_b.status().idle == 0);
  a.stop_membership(); // `remote` and `held` live on, and so may the connection
  CHECK(test::eventually([&] { return at_b.status().idle == 1; }, 5s));
  held->release(); // void: no effect, no error
  CHECK(at_b.status().idle == 1);
}

TEST_CASE("a watch of an actor on another node delivers its exit reason with its text") {
  two_nodes nodes{1};
  auto& [b_port, b, a] = nodes;
  caf::scoped_actor watcher{a.sys()};
  auto missing = cluster::watch(a.sys(), "nobody@node-b", watcher);
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), cluster::cluster_errc::no_such_actor));
  auto watched = cluster::watch(a.sys(), "database@node-b", watcher);
  REQUIRE_MESSAGE(watched, supervision::describe(watched.error()));
  // The pool on node-b ends with a reason of our own (its supervisor restarts it).
  auto reason = caf::make_error(caf::sec::runtime_error, "the pool was told to stop: boom");
  watcher->send_exit(*watched, reason);
  caf::error got;
  watcher->receive([&](caf::down_msg& down) { got = down.reason; }, caf::after(5s) >> [] {});
  CHECK(got == caf::sec::runtime_error);
  CHECK(supervision::describe(got).find("boom") != std::string::npos);
  CHECK(a.state_of("node-b") == "up");
}

}
