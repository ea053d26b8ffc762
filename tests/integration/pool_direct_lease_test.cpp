#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <thread>

#include <caf/all.hpp>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace std::chrono_literals;

namespace {

// What the test workers lend: the thread it is used on, and a way to break.
class probe : public direct_resource {
public:
  std::thread::id used_on() const { return std::this_thread::get_id(); }
  void break_for_good(const caf::error& why) { give_up(why); }
};

caf::behavior plain_worker(caf::event_based_actor*) {
  return {[](int x) { return x; }};
}

// A pool whose workers lend a `probe` (or nothing, with `lend` false).
pool_ref start(caf::actor_system& sys, bool lend) {
  pool_config config;
  config.name = "direct.pool";
  config.size = 2;
  config.max_overflow = 0;
  config.worker = "test.lending";
  config.factory = [lend](supervision::start_context& ctx, const worker_args&) -> caf::expected<caf::actor> {
    auto w = ctx.spawn(plain_worker);
    if (lend)
      offer_direct(w, std::make_shared<probe>());
    return w;
  };
  auto p = start_pool(sys, config);
  REQUIRE(p);
  return *p;
}

} // namespace

TEST_SUITE("integration.pool.direct_lease") {

TEST_CASE("a direct transaction uses its worker's resource on the caller's thread and checks the worker in") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto p = start(sys, true);
  auto used_on = p.direct_transaction<probe>([](probe& r) { return r.used_on(); });
  REQUIRE(used_on);
  CHECK(*used_on == std::this_thread::get_id());
  CHECK(p.direct_transaction<probe>([](probe&) {}) == caf::error{});
  CHECK(p.status().busy == 0);
  CHECK(p.status().idle == 2);
  caf::anon_send_exit(p.actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("a worker that lends nothing fails a direct transaction with not_allowed and is checked in") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto p = start(sys, false);
  auto r = p.direct_transaction<probe>([](probe&) { return 1; });
  REQUIRE_FALSE(r);
  CHECK(r.error() == supervision::make_error(supervision::errc::not_allowed));
  CHECK(p.status().busy == 0);
  caf::anon_send_exit(p.actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("a resource that gives up makes its worker exit with the reason, and the pool replaces the worker") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto p = start(sys, true);
  auto why = supervision::make_error(supervision::errc::exception, "the resource broke");
  caf::actor broken;
  auto done = p.transaction([&](const caf::actor& w) {
    broken = w;
    direct_resource_as<probe>(w)->break_for_good(why);
  });
  CHECK(done == caf::error{});
  REQUIRE(test::eventually([&] { return exit_reason_of(broken).has_value(); }));
  CHECK(*exit_reason_of(broken) == why);
  CHECK(direct_resource_of(broken) == nullptr);
  CHECK(no_direct_resource(broken) == why);
  REQUIRE(test::eventually([&] {
    auto idle = p.idle_workers();
    return idle && idle->size() == 2 && std::find(idle->begin(), idle->end(), broken) == idle->end();
  }));
  CHECK(p.direct_transaction<probe>([](probe&) { return 1; }) == 1);
  caf::anon_send_exit(p.actor(), caf::exit_reason::user_shutdown);
}

}
