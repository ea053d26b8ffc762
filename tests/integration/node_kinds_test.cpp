#include <doctest/doctest.h>

#include <signal.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/config/node.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/kinds.hpp"
#include "otpp/supervision/registry.hpp"
#include "otpp/supervision/supervisor_api.hpp"
#include "tests/support/eventually.hpp"

using namespace otpp;
using namespace otpp::supervision;
using namespace std::chrono_literals;
using otpp::test::eventually;

namespace {

// Which actors of the test kinds ended, in order.
struct ended_log {
  std::mutex mtx;
  std::vector<std::string> names;

  void add(const std::string& name) {
    std::lock_guard<std::mutex> guard{mtx};
    names.push_back(name);
  }
  std::vector<std::string> copy() {
    std::lock_guard<std::mutex> guard{mtx};
    return names;
  }
};

ended_log ended;

// Answers an int with itself plus `offset`; a "crash" message throws.
caf::behavior adder(caf::event_based_actor* self, std::string name, int64_t offset) {
  self->attach_functor([name] { ended.add(name); });
  return {
    [offset](int64_t x) { return x + offset; },
    [](const std::string& what) -> std::string { throw std::runtime_error("asked to " + what); },
  };
}

void register_test_kinds() {
  register_child_kind("test.adder", {integer_arg("offset").defaults(1), string_arg("label").required()},
                      [](start_context& ctx, const arguments& args) -> caf::expected<caf::actor> {
                        return ctx.spawn(adder, args.get_string("label"), args.get_int("offset"));
                      });
  // A template: the label comes from start_child's arguments.
  register_child_kind("test.session", {integer_arg("offset").defaults(100)},
                      [](start_context& ctx, const arguments& args) -> caf::expected<caf::actor> {
                        return ctx.spawn(adder, ctx.args().get_as<std::string>(0), args.get_int("offset"));
                      });
  pool::register_worker_kind("test.adder_worker", {integer_arg("offset").required()},
                             [](start_context& ctx, const arguments& args) -> caf::expected<caf::actor> {
                               return ctx.spawn(adder, std::string{"worker"}, args.get_int("offset"));
                             });
}

const char* shop = R"(
[node]
name = "shop"
[supervisor]
intensity = 5
[supervisors.storage]
strategy = "one_for_one"
intensity = 5
[supervisors.inner]
parent = "storage"
[supervisors.sessions]
strategy = "simple_one_for_one"
[supervisors.sessions.template]
kind = "test.session"
restart = "temporary"
[pools.geo]
size = 2
max_overflow = 0
worker = "test.adder_worker"
worker_args.offset = 1000
supervisor = "storage"
[children.router]
kind = "test.adder"
supervisor = "inner"
args = { label = "router", offset = 10 }
[children.audit]
kind = "test.adder"
args.label = "audit"
)";

std::unique_ptr<config::node> start_shop(const std::string& text = shop) {
  register_test_kinds();
  auto loaded = config::load_string(text, "shop.toml");
  REQUIRE_MESSAGE(loaded.config, (loaded.problems.empty() ? "" : loaded.problems.front().to_string()));
  loaded.config->logging.level = "warn";
  auto started = config::node::start(*loaded.config);
  REQUIRE_MESSAGE(started, describe(started.error()));
  return std::move(*started);
}

caf::actor child_of(config::node& n, const caf::actor& sup, const std::string& id) {
  auto children = blocking::which_children(n.system(), sup);
  REQUIRE(children);
  for (auto& c : *children)
    if (c.id == id)
      return c.handle;
  return {};
}

int64_t ask(config::node& n, const caf::actor& a, int64_t x) {
  caf::scoped_actor self{n.system()};
  int64_t result = -1;
  self->request(a, 5s, x).receive([&](int64_t y) { result = y; }, [](caf::error&) {});
  return result;
}

} // namespace

TEST_SUITE("config.node_kinds") {

TEST_CASE("children of the program's own kinds run under nested supervisors with their arguments") {
  auto n = start_shop();
  auto router = whereis(n->system(), "router");
  REQUIRE(router);
  CHECK(ask(*n, router, 1) == 11);
  CHECK(ask(*n, whereis(n->system(), "audit"), 1) == 2); // offset's default
  auto storage = child_of(*n, n->root(), "storage");
  auto inner = child_of(*n, storage, "inner");
  CHECK(child_of(*n, inner, "router") == router);
  auto geo = pool::find_pool(n->system(), "geo");
  REQUIRE(geo);
  auto sum = geo->transaction([&](const caf::actor& w) { return ask(*n, w, 1); });
  REQUIRE(sum);
  CHECK(*sum == 1001);
}

TEST_CASE("a crashed child of a kind is restarted by its supervisor with the same arguments") {
  auto n = start_shop();
  auto router = whereis(n->system(), "router");
  REQUIRE(router);
  caf::anon_send(router, std::string{"crash"});
  CHECK(eventually([&] {
    auto now = whereis(n->system(), "router");
    return now && now != router;
  }));
  CHECK(ask(*n, whereis(n->system(), "router"), 5) == 15);
}

TEST_CASE("a simple_one_for_one supervisor starts children of its template kind on demand") {
  auto n = start_shop();
  auto sessions = child_of(*n, n->root(), "sessions");
  REQUIRE(sessions);
  auto a = blocking::start_child(n->system(), sessions, caf::make_message(std::string{"session-a"}));
  REQUIRE(a);
  CHECK(ask(*n, *a, 1) == 101);
  auto counts = blocking::count_children(n->system(), sessions);
  REQUIRE(counts);
  CHECK(counts->active == 1);
}

TEST_CASE("run returns 0 after request_stop and the tree has stopped in reverse start order") {
  auto n = start_shop();
  std::thread stopper([&] { n->request_stop(); });
  auto before = ended.copy().size();
  CHECK(n->run() == 0);
  stopper.join();
  CHECK(n->stop_requested());
  std::vector<std::string> names;
  auto all = ended.copy();
  for (auto i = before; i < all.size(); ++i)
    if (all[i] != "worker") // a pool's workers end with it, in no set order
      names.push_back(all[i]);
  // Under the root, audit started before storage, whose inner supervisor holds router.
  CHECK(names == std::vector<std::string>{"router", "audit"});
}

TEST_CASE("run returns 0 on SIGTERM and 1 when the root supervisor gives up by itself") {
  {
    auto n = start_shop();
    struct sigaction before {};
    sigaction(SIGTERM, nullptr, &before);
    std::thread signaller([&] { // once run() handles SIGTERM
      REQUIRE(eventually([&] {
        struct sigaction now {};
        sigaction(SIGTERM, nullptr, &now);
        return now.sa_handler != before.sa_handler;
      }));
      kill(getpid(), SIGTERM);
    });
    CHECK(n->run() == 0);
    signaller.join();
  }
  auto n = start_shop("[supervisor]\nintensity = 0\n[children.fragile]\nkind = \"test.adder\"\nargs.label = \"fragile\"\n");
  caf::anon_send(whereis(n->system(), "fragile"), std::string{"crash"});
  CHECK(n->run() == 1);
  CHECK(describe(n->root_exit_reason()).find("fragile") != std::string::npos);
}

}
