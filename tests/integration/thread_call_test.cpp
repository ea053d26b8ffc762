#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include <caf/all.hpp>

#include "otpp/actors/thread_call.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace std::chrono_literals;

namespace {

// Answers after 200 ms (a detached actor: its pause blocks nobody else).
caf::behavior slow(caf::event_based_actor*, caf::unit_t) {
  return {[](int x) {
    std::this_thread::sleep_for(200ms); // the delay under test, not a synchronisation
    return x;
  }};
}

// Never answers (says it delegated the answer, and nobody gives it).
caf::behavior silent(caf::event_based_actor*, caf::unit_t) {
  return {[](int) { return caf::delegated<int>{}; }};
}

caf::behavior echo(caf::event_based_actor*, caf::unit_t) {
  return {[](int x) { return x; }};
}

uint64_t this_thread() {
  return std::hash<std::thread::id>{}(std::this_thread::get_id());
}

// Whether `worker` (of CAF's scheduler) waits for a message: a request wakes it.
bool idle(const caf::actor& worker) {
  return static_cast<caf::scheduled_actor*>(caf::actor_cast<caf::abstract_actor*>(worker))->mailbox().blocked();
}

// Answers with the thread its handler ran on.
caf::behavior where(caf::event_based_actor*, caf::unit_t) {
  return {[](int) { return this_thread(); }};
}

// Records the thread its handler ran on.
caf::behavior recorder(caf::event_based_actor*, std::shared_ptr<std::atomic<uint64_t>> ran_on) {
  return {[ran_on](int) { ran_on->store(this_thread()); }};
}

// Answers with its thread after sending `x` on to `next`.
caf::behavior forwarder(caf::event_based_actor* self, caf::actor next) {
  return {[self, next](int x) {
    self->send(next, x);
    return this_thread();
  }};
}

} // namespace

TEST_SUITE("thread_call") {

TEST_CASE("a call stays bounded by its timeout after an earlier call's reply came late") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto late = thread_call<int>(self, sys.spawn<caf::detached>(slow, caf::unit), 50ms, 1);
  REQUIRE_FALSE(late);
  CHECK(late.error() == caf::sec::request_timeout);
  REQUIRE(test::eventually([&] { return !self->mailbox().empty(); })); // the late reply is there now
  auto start = std::chrono::steady_clock::now();
  auto none = thread_call<int>(self, sys.spawn(silent, caf::unit), 100ms, 2);
  REQUIRE_FALSE(none);
  CHECK(none.error() == caf::sec::request_timeout);
  CHECK(std::chrono::steady_clock::now() - start < 2s); // waited without a deadline before
  CHECK(thread_call<int>(self, sys.spawn(echo, caf::unit), 1s, 3) == 3);
}

TEST_CASE("a request that wakes an idle worker is handled on the calling thread, through its mailbox and behaviour") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto worker = sys.spawn(where, caf::unit);
  REQUIRE(test::eventually([&] { return idle(worker); }));
  for (int i = 0; i < 3; ++i)
    CHECK(thread_call<uint64_t>(self, worker, 1s, i) == this_thread());
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
}

TEST_CASE("a worker on a thread of its own answers from that thread") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto worker = sys.spawn<caf::detached>(where, caf::unit);
  auto answer = thread_call<uint64_t>(self, worker, 1s, 1);
  REQUIRE(answer);
  CHECK(*answer != this_thread());
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
}

TEST_CASE("what a worker sends while it runs on the calling thread is run by CAF's threads") {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto ran_on = std::make_shared<std::atomic<uint64_t>>(0);
  auto next = sys.spawn(recorder, ran_on);
  auto worker = sys.spawn(forwarder, next);
  REQUIRE(test::eventually([&] { return idle(worker); }));
  CHECK(thread_call<uint64_t>(self, worker, 1s, 1) == this_thread());
  REQUIRE(test::eventually([&] { return ran_on->load() != 0; }));
  CHECK(ran_on->load() != this_thread());
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(next, caf::exit_reason::user_shutdown);
}

}
