#include <doctest/doctest.h>

#include <type_traits>

#include "otpp/supervision/errors.hpp"
#include "tests/actors/pool/pool_helpers.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace otpp::test;
using namespace std::chrono_literals;

TEST_SUITE("pool.transaction") {

TEST_CASE("a transaction of a function returning an expected gives that expected, not a nested one") {
  deterministic fx;
  auto p = test::start_pool(fx, counted_pool(1, 0));
  auto ok = p.transaction([](const caf::actor& w) -> caf::expected<int> { return w ? 42 : 0; });
  CHECK(std::is_same_v<decltype(ok), caf::expected<int>>);
  REQUIRE(ok);
  CHECK(*ok == 42);
  auto failed = p.transaction([](const caf::actor&) -> caf::expected<int> {
    return supervision::make_error(supervision::errc::not_found, "row 7");
  });
  REQUIRE_FALSE(failed);
  CHECK(supervision::describe(failed.error()) == "not_found: row 7");
  auto held = p.checkout(false);
  REQUIRE(held);
  auto timed_out = p.transaction([](const caf::actor&) -> caf::expected<int> { return 1; }, 10ms);
  REQUIRE_FALSE(timed_out);
  CHECK(timed_out.error() == make_error(pool_errc::timeout, "waited 10 ms"));
  held->release();
  auto plain = p.transaction([](const caf::actor&) { return std::string{"plain"}; });
  CHECK(std::is_same_v<decltype(plain), caf::expected<std::string>>);
  CHECK(status_line(p.status()) == "ready idle=1 overflow=0 busy=0 waiting=0");
  fx.stop(p.actor());
}

}
