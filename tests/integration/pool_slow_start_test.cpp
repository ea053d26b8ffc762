// A slow worker start for an actor caller runs off the checkout actor: while
// the factory is held, the checkout actor still answers status requests,
// check-ins, other checkouts and timeouts. Asserted by order (the factory is
// held on a gate the test opens last), never by speed.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace std::chrono_literals;

using otpp::test::eventually;

namespace {

/// Starts its first worker at once, every later one only once `open()` is called.
struct gated_factory {
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  std::atomic<int> starts{0};
  std::atomic<int> held{0}; ///< starts waiting at the gate now
  std::once_flag once;

  void open() {
    std::call_once(once, [this] { gate.set_value(); });
  }
};

struct caller_record {
  std::mutex mtx;
  std::vector<caf::actor> held;
  std::vector<caf::error> errors;
};

caf::behavior caller(caf::event_based_actor* self, caf::actor pool, std::shared_ptr<caller_record> rec) {
  return {[=](checkout_atom, bool block, std::chrono::milliseconds timeout) {
    self->request(pool, caf::infinite, checkout_atom::value, block, timeout)
      .then(
        [=](caf::actor& w) {
          std::lock_guard<std::mutex> guard{rec->mtx};
          rec->held.push_back(w);
        },
        [=](caf::error& e) {
          std::lock_guard<std::mutex> guard{rec->mtx};
          rec->errors.push_back(e);
        });
  }};
}

template <class T>
caf::expected<T> ask(caf::scoped_actor& self, const caf::actor& dst, caf::message msg) {
  caf::expected<T> result{caf::sec::request_timeout};
  self->request(dst, 10s, std::move(msg)).receive([&](T& x) { result = std::move(x); },
                                                   [&](caf::error& e) { result = std::move(e); });
  return result;
}

} // namespace

TEST_SUITE("integration.pool") {

TEST_CASE("while an overflow worker starts slowly for an actor, the checkout actor answers everyone else") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  auto factory = std::make_shared<gated_factory>();
  pool_config config;
  config.name = "slow.start";
  config.size = 1;
  config.max_overflow = 1;
  config.worker = "gated echo";
  config.factory = [factory](supervision::start_context& ctx, const worker_args&) -> caf::expected<caf::actor> {
    if (factory->starts++ > 0) {
      ++factory->held;
      factory->opened.wait();
      --factory->held;
    }
    return ctx.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x; }}; });
  };
  auto p = start_pool(sys, config);
  REQUIRE(p);
  struct cleanup {
    std::shared_ptr<gated_factory> f;
    std::vector<caf::actor> actors;
    ~cleanup() { // also when a check fails: nothing stays blocked, every actor ends
      f->open();
      for (auto& a : actors)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    }
  } at_end{factory, {p->actor()}};
  caf::scoped_actor self{sys};
  auto first = ask<caf::actor>(self, p->actor(), caf::make_message(checkout_atom::value, true, 5000ms));
  REQUIRE(first);

  auto slow_rec = std::make_shared<caller_record>();
  auto slow = sys.spawn(caller, p->actor(), slow_rec);
  at_end.actors.push_back(slow);
  caf::anon_send(slow, checkout_atom::value, true, std::chrono::milliseconds{30000});
  REQUIRE(eventually([&] { return factory->held == 1; }, 10s)); // its start is held at the gate

  auto status = ask<pool_status>(self, p->actor(), caf::make_message(status_atom::value));
  REQUIRE_MESSAGE(status, supervision::describe(status.error()));
  CHECK(factory->held == 1);
  CHECK(status->overflow == 1); // the start under way counts as overflow
  CHECK(status->busy == 1);

  auto none = ask<caf::actor>(self, p->actor(), caf::make_message(checkout_atom::value, false, 5000ms));
  REQUIRE_FALSE(none);
  CHECK(supervision::describe(none.error()) == "full: pool 'slow.start'");

  auto impatient_rec = std::make_shared<caller_record>();
  auto impatient = sys.spawn(caller, p->actor(), impatient_rec);
  at_end.actors.push_back(impatient);
  caf::anon_send(impatient, checkout_atom::value, true, std::chrono::milliseconds{100});
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> guard{impatient_rec->mtx};
    return !impatient_rec->errors.empty();
  }, 10s));
  CHECK(supervision::describe(impatient_rec->errors[0]) == "timeout: pool 'slow.start'");

  // The start under way is no running overflow worker yet (it may still
  // fail): the checked-in worker stays, idle.
  auto checked_in = ask<caf::ok_atom>(self, p->actor(), caf::make_message(checkin_atom::value, *first));
  CHECK(checked_in);
  CHECK(factory->held == 1); // everything above was answered while the start was held
  {
    std::lock_guard<std::mutex> guard{slow_rec->mtx};
    CHECK(slow_rec->held.empty());
    CHECK(slow_rec->errors.empty());
  }

  factory->open();
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> guard{slow_rec->mtx};
    return slow_rec->held.size() == 1;
  }, 10s));
  auto s = p->status();
  CHECK(s.busy == 1);
  CHECK(s.overflow == 1); // the started worker, dismissed when it comes back with nobody queued
  CHECK(s.idle == 1);
  CHECK(s.waiting == 0);
}

}
