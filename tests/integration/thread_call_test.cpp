#include <doctest/doctest.h>

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

}
