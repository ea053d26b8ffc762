#include <doctest/doctest.h>

#include "otpp/actors/rate_limit/buckets.hpp"
#include "otpp/actors/rate_limit/fixed_window.hpp"
#include "otpp/actors/rate_limit/sliding_window.hpp"

using namespace otpp::rate_limit;

// A limiter's new limits are a new algorithm object going on with the states
// of the old one (limiter::reconfigure): these are the rules, pure.
TEST_SUITE("rate_limit.algorithm_change") {

TEST_CASE("a fixed window keeps its count when the limit changes mid-window") {
  fixed_window five{1000, 5}, two{1000, 2}, eight{1000, 8};
  fixed_window::state s;
  for (int i = 0; i < 3; ++i)
    REQUIRE(five.hit(s, 100, 1).allowed);
  auto d = two.hit(s, 200, 1); // 3 spent, limit 2: denied until the window ends
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_after_ms == 800);
  CHECK(two.get(s, 200) == 4); // denied costs stay counted
  CHECK(eight.hit(s, 300, 1).count == 5); // raised: more in the same window
  CHECK(eight.hit(s, 400, 3).count == 8);
  CHECK_FALSE(eight.hit(s, 500, 1).allowed);
  CHECK(two.hit(s, 1000, 1).count == 1); // the next window starts over
}

TEST_CASE("a fixed window running when the scale changes keeps its count and its end, later windows use the new scale") {
  fixed_window small{1000, 5}, large{10'000, 5};
  fixed_window::state s;
  for (int i = 0; i < 4; ++i)
    REQUIRE(small.hit(s, 500, 1).allowed);
  CHECK(large.hit(s, 600, 1).count == 5);
  auto d = large.hit(s, 700, 1);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_after_ms == 300); // the old end, 1000
  CHECK(large.expires_at(s) == 1000);
  CHECK(large.hit(s, 1000, 1).count == 1); // [0, 10000) by the new scale, counted from 1000
  CHECK(large.expires_at(s) == 10'000);
  CHECK(large.get(s, 9999) == 1);
  CHECK(large.expired(s, 10'000));
  // Back to a smaller scale: the long window keeps its end.
  CHECK(small.hit(s, 9000, 1).count == 2);
  CHECK_FALSE(small.expired(s, 9999));
  CHECK(small.hit(s, 10'000, 1).count == 1);
  CHECK(small.expires_at(s) == 11'000);
}

TEST_CASE("a fixed window state before the epoch rolls to floor-aligned windows") {
  fixed_window w{1000, 1};
  fixed_window::state s;
  REQUIRE(w.hit(s, -1500, 1).allowed);
  CHECK(w.expires_at(s) == -1000);
  CHECK_FALSE(w.hit(s, -1001, 1).allowed);
  CHECK(w.hit(s, -1000, 1).allowed);
}

TEST_CASE("a sliding window keeps its recorded hits across a limit change and weighs them by the new scale") {
  sliding_window five{1000, 5}, two{1000, 2}, five_long{3000, 5};
  sliding_window::state s;
  REQUIRE(five.hit(s, 0, 2).allowed);
  REQUIRE(five.hit(s, 100, 1).allowed);
  auto d = two.hit(s, 200, 1); // weight 3 > 2
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_after_ms == 800); // the hits at 0 must go (then 1 + 1 <= 2)
  CHECK(two.get(s, 200) == 3);   // denied hits are not recorded
  CHECK(five_long.get(s, 1500) == 3); // a longer scale: the hits still weigh
  CHECK(five_long.hit(s, 1500, 2).count == 5);
  CHECK(five.get(s, 1500) == 2); // back to 1 s: only the hit at 1500 weighs
}

TEST_CASE("a token bucket keeps its tokens, read as at most a lowered capacity, and refills to a raised one") {
  token_bucket ten{10, 1.0}, four{4, 1.0}, twenty{20, 1.0};
  token_bucket::state s;
  REQUIRE(ten.hit(s, 0, 3).allowed); // 7 left
  CHECK(four.get(s, 0) == 4);        // clamped
  CHECK(four.hit(s, 0, 4).allowed);
  CHECK_FALSE(four.hit(s, 0, 1).allowed);
  CHECK(twenty.get(s, 5000) == 5); // the level kept, refilled 5 s
  CHECK(twenty.get(s, 100'000) == 20);
  token_bucket::state fresh;
  CHECK(twenty.get(fresh, 0) == 20); // an unknown key: a full bucket of the new capacity
  token_bucket::state t;
  REQUIRE(ten.hit(t, 0, 2).allowed); // 8 left
  CHECK(twenty.hit(t, 0, 8).allowed); // a larger capacity keeps the level: 8, not 18
  CHECK_FALSE(twenty.hit(t, 0, 1).allowed);
}

TEST_CASE("a leaky bucket keeps its level, read as full under a lowered capacity until it drained below it") {
  leaky_bucket ten{10, 1.0}, four{4, 1.0}, twenty{20, 1.0};
  leaky_bucket::state s;
  REQUIRE(ten.hit(s, 0, 8).allowed);
  CHECK(four.get(s, 0) == 4);
  auto d = four.hit(s, 0, 1);
  CHECK_FALSE(d.allowed);
  CHECK(four.get(s, 4000) == 4); // 8 drained to 4 at 1 per second
  CHECK(four.hit(s, 5000, 1).count == 4); // 3 + 1
  CHECK(twenty.get(s, 5000) == 4);
  CHECK(twenty.hit(s, 5000, 16).allowed); // a raised capacity: more room, the level kept
  CHECK_FALSE(twenty.hit(s, 5000, 1).allowed);
}

}
