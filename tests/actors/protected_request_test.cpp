#include <doctest/doctest.h>

#include <atomic>

#include <caf/event_based_actor.hpp>

#include "otpp/actors/breaker/breaker_owner.hpp"
#include "otpp/actors/guards/protected_operation.hpp"
#include "otpp/actors/pool/worker_kinds.hpp"
#include "otpp/actors/rate_limit/limiter_owner.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "tests/support/deterministic.hpp"

using namespace otpp;
using namespace std::chrono_literals;

namespace {

using sleep_atom = pool::sleep_atom;

// A limiter of 10 tokens, a pool of one `sleep` worker (100 ms) and a breaker,
// on the deterministic scheduler.
struct guarded {
  test::deterministic fx;
  caf::actor sup;
  std::shared_ptr<std::atomic<int64_t>> breaker_clock = std::make_shared<std::atomic<int64_t>>(1'000'000);

  guarded() {
    rate_limit::limiter_config limit;
    limit.name = "calls";
    limit.algorithm = rate_limit::algorithm::token_bucket;
    limit.capacity = 10;
    pool::pool_config workers;
    workers.name = "workers";
    workers.size = 1;
    workers.max_overflow = 0;
    workers.worker = "sleep";
    workers.args = {{{"delay_ms", int64_t{100}}}};
    breaker::breaker_config service;
    service.name = "svc";
    service.window_size = 2;
    service.minimum_calls = 2;
    service.half_open_permits = 1;
    service.wait_in_open = 1000ms;
    supervision::supervisor_config root;
    root.children = {rate_limit::limiter_child(limit, 60s), pool::pool_child(workers),
                     breaker::breaker_child(service, [c = breaker_clock] { return c->load(); })};
    auto started = supervision::start_supervisor(fx.sys, root);
    REQUIRE_MESSAGE(started, supervision::describe(started.error()));
    sup = *started;
    fx.run();
  }

  ~guarded() { fx.stop(sup); }

  protection all() const {
    protection p;
    p.ns = "test";
    p.service = "svc";
    p.limiter = "calls";
    p.key = "k";
    p.pool = "workers";
    p.breaker = "svc";
    p.checkout_timeout = 50ms;
    return p;
  }

  // Spawns an actor that makes one protected request; its outcome lands in `out`.
  caf::actor call(protection p, std::shared_ptr<caf::expected<caf::atom_value>> out) {
    return fx.sys.spawn(
      [p, out](caf::event_based_actor* self, caf::unit_t) -> caf::behavior {
        protected_request<sleep_atom>(self, p, 1s, [out, self](caf::expected<sleep_atom> r) {
          *out = r ? caf::expected<caf::atom_value>{caf::atom_value{*r}} : caf::expected<caf::atom_value>{r.error()};
          self->quit();
        }, sleep_atom::value);
        return {[](int) {}};
      },
      caf::unit);
  }

  double tokens() { return *(*rate_limit::find_limiter(fx.sys, "calls"))->get("k"); }
  pool::pool_status status() { return pool::find_pool(fx.sys, "workers")->status(); }
  std::shared_ptr<breaker::circuit_breaker> breaker() { return *breaker::find_breaker(fx.sys, "svc"); }
};

std::shared_ptr<caf::expected<caf::atom_value>> pending() {
  return std::make_shared<caf::expected<caf::atom_value>>(caf::sec::invalid_argument);
}

} // namespace

TEST_SUITE("protected_request") {

TEST_CASE("an actor's protected request gets the worker's reply and leaves nothing held") {
  guarded g;
  auto out = pending();
  g.call(g.all(), out);
  g.fx.run();
  g.fx.advance(100ms); // the worker answers after its delay
  REQUIRE_MESSAGE(*out, supervision::describe(out->error()));
  CHECK(**out == sleep_atom::value);
  CHECK(g.tokens() == 9.0);
  CHECK(g.status().busy == 0);
  CHECK(g.breaker()->totals().calls == 1);
}

TEST_CASE("an actor's request waits for a busy worker through the checkout actor, or times out refunded") {
  guarded g;
  auto first = pending();
  auto second = pending();
  g.call(g.all(), first);
  g.call(g.all(), second); // no idle worker: queued at the pool
  g.fx.run();
  g.fx.advance(50ms); // the second caller's checkout times out before the worker is free
  REQUIRE_FALSE(*second);
  CHECK(refused_by(second->error()) == guard_errc::pool_timeout);
  g.fx.advance(50ms);
  CHECK(*first);
  CHECK(g.tokens() == 9.0); // the refused call's token came back
  CHECK(g.status().busy == 0);
}

TEST_CASE("an open circuit refuses an actor's request, checks the worker in and refunds") {
  guarded g;
  g.breaker()->force_open();
  auto out = pending();
  g.call(g.all(), out);
  g.fx.run();
  REQUIRE_FALSE(*out);
  CHECK(refused_by(out->error()) == guard_errc::circuit_open);
  CHECK(g.tokens() == 10.0);
  CHECK(g.status().busy == 0);
}

TEST_CASE("a caller that dies while waiting for the reply leaks nothing") {
  guarded g;
  auto b = g.breaker();
  for (int i = 0; i < 2; ++i) // trip it, then let the wait pass: one trial permit
    b->on_error(*b->try_acquire(), 1ms);
  *g.breaker_clock += 1001;
  auto out = pending();
  auto caller = g.call(g.all(), out); // takes the only trial permit
  g.fx.run();
  CHECK(g.status().busy == 1);
  CHECK_FALSE(b->try_acquire());
  caf::anon_send_exit(caller, caf::exit_reason::kill);
  g.fx.run();
  CHECK(g.status().busy == 0); // the pool took the worker back
  g.fx.advance(100ms);
  CHECK(b->totals().calls == 0); // the permit went back unrecorded
  CHECK(b->try_acquire());       // and is free again: HALF_OPEN is not stuck
  CHECK(g.tokens() == 9.0);      // the request had been sent: its token is spent
}

}
