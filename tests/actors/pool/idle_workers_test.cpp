#include <doctest/doctest.h>

#include <algorithm>

#include "tests/actors/pool/pool_helpers.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace otpp::test;

TEST_SUITE("pool.idle_workers") {

TEST_CASE("the pool lists its idle workers, the next one to be checked out first, from a thread and as a message") {
  deterministic fx;
  auto p = test::start_pool(fx, counted_pool(3, 1));
  auto idle = p.idle_workers();
  REQUIRE(idle);
  REQUIRE(idle->size() == 3);
  CHECK(std::all_of(idle->begin(), idle->end(), [](const caf::actor& w) { return static_cast<bool>(w); }));
  auto asked = fx.ask<std::vector<caf::actor>>(p.actor(), idle_workers_atom::value);
  REQUIRE(asked);
  CHECK(*asked == *idle);
  auto held = p.checkout(false);
  REQUIRE(held);
  CHECK(held->worker() == idle->front());
  auto after = p.idle_workers();
  REQUIRE(after);
  CHECK(*after == std::vector<caf::actor>(idle->begin() + 1, idle->end()));
  asked = fx.ask<std::vector<caf::actor>>(p.actor(), idle_workers_atom::value);
  REQUIRE(asked);
  CHECK(*asked == *after);
  held->release(); // lifo: back at the head
  after = p.idle_workers();
  REQUIRE(after);
  CHECK(*after == *idle);
  fx.stop(p.actor());
}

}
