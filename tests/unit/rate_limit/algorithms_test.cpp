#include <doctest/doctest.h>

#include <limits>

#include "otpp/actors/rate_limit/buckets.hpp"
#include "otpp/actors/rate_limit/fixed_window.hpp"
#include "otpp/actors/rate_limit/sliding_window.hpp"

using namespace otpp::rate_limit;

namespace {

constexpr uint64_t max_u64 = std::numeric_limits<uint64_t>::max();
constexpr millis max_time = std::numeric_limits<millis>::max();

} // namespace

TEST_SUITE("rate_limit.fixed_window") {

TEST_CASE("expires_at of a key that was never hit is its latest time, not an overflow") {
  fixed_window fw{1000, 2};
  fixed_window::state s;
  fw.refund(s, 5000, 1); // a refund on an unknown key creates no window
  CHECK(fw.expires_at(s) == 5000);
}

TEST_CASE("windows are aligned to the epoch") {
  fixed_window fw{1000, 2};
  fixed_window::state s;
  CHECK(fw.hit(s, 999, 1).count == 1);
  CHECK(fw.hit(s, 999, 1).count == 2);
  auto next = fw.hit(s, 1000, 1);
  CHECK(next.allowed);
  CHECK(next.count == 1);
}

TEST_CASE("the cost is added first and denied costs stay in the count") {
  fixed_window fw{1000, 2};
  fixed_window::state s;
  CHECK(fw.hit(s, 0, 1).allowed);
  auto denied = fw.hit(s, 0, 2);
  CHECK_FALSE(denied.allowed);
  CHECK(fw.get(s, 0) == 3);
  CHECK_FALSE(fw.hit(s, 0, 0).allowed); // 3 > 2 even without cost
}

TEST_CASE("retry-after is the window end minus now, at least 1 ms") {
  fixed_window fw{1000, 0};
  fixed_window::state s;
  CHECK(fw.hit(s, 1250, 1).retry_after_ms == 750);
  CHECK(fw.hit(s, 1999, 1).retry_after_ms == 1);
  CHECK_FALSE(fw.hit(s, 1999, 5).never); // a cost above the limit just waits for the next window
}

TEST_CASE("counts saturate instead of overflowing") {
  fixed_window fw{1000, 10};
  fixed_window::state s;
  CHECK_FALSE(fw.hit(s, 0, max_u64).allowed);
  CHECK_FALSE(fw.hit(s, 0, max_u64).allowed); // a wrapped count would be small again
  CHECK(fw.get(s, 0) == max_u64);
}

TEST_CASE("a clock going backwards uses the latest time seen") {
  fixed_window fw{1000, 1};
  fixed_window::state s;
  CHECK(fw.hit(s, 5000, 1).allowed);
  CHECK_FALSE(fw.hit(s, 1000, 1).allowed); // still window 5
  CHECK(fw.hit(s, 6000, 1).allowed);
}

TEST_CASE("a time near the end of time neither overflows nor yields a zero retry") {
  fixed_window fw{60000, 0};
  fixed_window::state s;
  auto d = fw.hit(s, max_time, 1);
  CHECK(d.retry_after_ms >= 1);
  CHECK(fw.expires_at(s) == max_time);
}

}

TEST_SUITE("rate_limit.sliding_window") {

TEST_CASE("a weight set or added beyond the limit never wraps into an allowed hit") {
  sliding_window sw{1000, 5};
  sliding_window::state s;
  sw.set(s, 0, max_u64);
  CHECK_FALSE(sw.hit(s, 0, 1).allowed);
  sliding_window::state t;
  sw.inc(t, 0, max_u64 - 2);
  auto d = sw.hit(t, 0, 5);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_after_ms == 1000);
}

TEST_CASE("a hit weighs from its time until scale ms later, not beyond") {
  sliding_window sw{1000, 2};
  sliding_window::state s;
  CHECK(sw.hit(s, 0, 1).allowed);
  CHECK(sw.hit(s, 500, 1).allowed);
  auto denied = sw.hit(s, 999, 1);
  CHECK_FALSE(denied.allowed);
  CHECK(denied.retry_after_ms == 1);
  CHECK(sw.hit(s, 1000, 1).allowed);
}

TEST_CASE("denied hits are not recorded") {
  sliding_window sw{1000, 3};
  sliding_window::state s;
  sw.hit(s, 0, 2);
  CHECK_FALSE(sw.hit(s, 10, 2).allowed);
  CHECK(sw.get(s, 10) == 2);
  CHECK(sw.hit(s, 10, 1).allowed);
}

TEST_CASE("retry-after is the earliest time enough weight has expired, and it is truthful") {
  sliding_window sw{1000, 5};
  sliding_window::state s;
  sw.hit(s, 0, 3);
  sw.hit(s, 100, 2);
  auto denied = sw.hit(s, 200, 4);
  REQUIRE_FALSE(denied.allowed);
  CHECK(denied.retry_after_ms == 900); // both entries must go: the later one ends at 1100
  auto early = s;
  CHECK_FALSE(sw.hit(early, 1099, 4).allowed);
  CHECK(sw.hit(s, 1100, 4).allowed);
}

TEST_CASE("a cost that can never fit is denied with the never marker") {
  sliding_window sw{1000, 2};
  sliding_window::state s;
  CHECK(sw.hit(s, 0, 3).never);
  sliding_window zero{1000, 0};
  sliding_window::state z;
  CHECK(zero.hit(z, 0, 1).never);
  CHECK(zero.hit(z, 0, 0).allowed);
}

TEST_CASE("a clock going backwards grants nothing") {
  sliding_window sw{1000, 1};
  sliding_window::state s;
  CHECK(sw.hit(s, 10000, 1).allowed);
  CHECK_FALSE(sw.hit(s, 0, 1).allowed);
}

TEST_CASE("huge costs and long runs of hits keep exact sums") {
  sliding_window sw{10, max_u64 / 2};
  sliding_window::state s;
  for (millis t = 0; t < 100; ++t)
    REQUIRE(sw.hit(s, t * 10, max_u64 / 2).allowed); // the running sums wrap; differences stay exact
  CHECK(sw.get(s, 990) == max_u64 / 2);
}

}

TEST_SUITE("rate_limit.token_bucket") {

TEST_CASE("a bucket starts full and answers ceil((cost - tokens) / rate) ms") {
  token_bucket tb{10, 3.0};
  token_bucket::state s;
  CHECK(tb.get(s, 0) == 10.0);
  CHECK(tb.hit(s, 0, 10).allowed);
  auto denied = tb.hit(s, 0, 2);
  REQUIRE_FALSE(denied.allowed);
  CHECK(denied.retry_after_ms == 667);
  auto early = s;
  CHECK_FALSE(tb.hit(early, 666, 2).allowed);
  CHECK(tb.hit(s, 667, 2).allowed);
}

TEST_CASE("fractional refill is kept however often the bucket is polled") {
  token_bucket tb{15, 0.1667};
  token_bucket::state s;
  CHECK(tb.hit(s, 0, 15).allowed);
  for (millis t = 1; t < 5999; ++t) {
    REQUIRE(tb.hit(s, t, 0).allowed); // stores the state every millisecond
    REQUIRE_FALSE(tb.hit(s, t, 1).allowed);
  }
  CHECK(tb.hit(s, 6000, 1).allowed); // 6000 ms * 0.1667/s = 1.0002 tokens
}

TEST_CASE("refill is capped at capacity") {
  token_bucket tb{5, 1000.0};
  token_bucket::state s;
  tb.hit(s, 0, 5);
  CHECK(tb.get(s, 1000000) == 5.0);
}

TEST_CASE("a refill rate above capacity is sustained") {
  token_bucket tb{1, 1000.0};
  token_bucket::state s;
  int allowed = 0;
  for (millis t = 0; t < 1000; ++t)
    allowed += tb.hit(s, t, 1).allowed ? 1 : 0;
  CHECK(allowed == 1000);
}

TEST_CASE("a deny changes nothing and a cost that can never fit says never") {
  token_bucket tb{4, 1.0};
  token_bucket::state s;
  tb.hit(s, 0, 3);
  auto before = tb.get(s, 10);
  CHECK_FALSE(tb.hit(s, 10, 3).allowed);
  CHECK(tb.get(s, 10) == before);
  CHECK(tb.hit(s, 10, 5).never);
  token_bucket dry{4, 0.0};
  token_bucket::state d;
  dry.hit(d, 0, 4);
  CHECK(dry.hit(d, 1, 1).never);
}

TEST_CASE("a clock going backwards grants nothing and huge jumps do not overflow") {
  token_bucket tb{max_u64, 1e9};
  token_bucket::state s;
  CHECK(tb.hit(s, 10000, max_u64).allowed);
  CHECK_FALSE(tb.hit(s, 0, 1).allowed);
  CHECK(tb.hit(s, max_time, max_u64).allowed);
}

}

TEST_SUITE("rate_limit.leaky_bucket") {

TEST_CASE("a bucket starts empty and admits while level plus cost fits") {
  leaky_bucket lb{2, 1.0};
  leaky_bucket::state s;
  CHECK(lb.get(s, 0) == 0.0);
  CHECK(lb.hit(s, 0, 1).allowed);
  CHECK(lb.hit(s, 0, 1).allowed);
  auto denied = lb.hit(s, 0, 1); // Hammer would admit at level < capacity and overfill
  REQUIRE_FALSE(denied.allowed);
  CHECK(denied.retry_after_ms == 1000);
  auto early = s;
  CHECK_FALSE(lb.hit(early, 999, 1).allowed);
  CHECK(lb.hit(s, 1000, 1).allowed);
}

TEST_CASE("retry-after is ceil((level + cost - capacity) / rate) ms") {
  leaky_bucket lb{10, 3.0};
  leaky_bucket::state s;
  lb.hit(s, 0, 10);
  CHECK(lb.hit(s, 0, 2).retry_after_ms == 667);
}

TEST_CASE("a leaky deny changes nothing and a cost above capacity says never") {
  leaky_bucket lb{3, 1.0};
  leaky_bucket::state s;
  lb.hit(s, 0, 3);
  CHECK_FALSE(lb.hit(s, 10, 2).allowed);
  CHECK(lb.get(s, 10) == doctest::Approx(2.99));
  CHECK(lb.hit(s, 10, 4).never);
}

TEST_CASE("the bucket drains continuously and a backwards clock grants nothing") {
  leaky_bucket lb{1, 1.0};
  leaky_bucket::state s;
  CHECK(lb.hit(s, 5000, 1).allowed);
  CHECK_FALSE(lb.hit(s, 0, 1).allowed);
  CHECK(lb.get(s, 5500) == doctest::Approx(0.5));
  CHECK(lb.expired(s, 6000));
}

}
