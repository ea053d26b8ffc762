#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "otpp/actors/breaker/circuit_breaker.hpp"
#include "otpp/supervision/errors.hpp"

using namespace otpp::breaker;
using namespace std::chrono_literals;

namespace {

struct fake_clock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(1'000'000);
  circuit_breaker::clock fn() const {
    return [t = now] { return t->load(); };
  }
  void advance(std::chrono::milliseconds d) const { *now += d.count(); }
};

breaker_config small() {
  breaker_config c;
  c.name = "svc";
  c.window_size = 4;
  c.minimum_calls = 4;
  c.failure_threshold = 50;
  c.slow_threshold = 100;
  c.slow_duration = 100ms;
  c.wait_in_open = 1000ms;
  c.half_open_permits = 2;
  return c;
}

std::shared_ptr<circuit_breaker> make(breaker_config c, const fake_clock& clock) {
  auto b = circuit_breaker::make(std::move(c), clock.fn());
  REQUIRE_MESSAGE(b, otpp::supervision::describe(b.error()));
  return *b;
}

void succeed(circuit_breaker& b, std::chrono::nanoseconds d = 1ms) {
  auto p = b.try_acquire();
  REQUIRE(p);
  b.on_success(*p, d);
}

void fail(circuit_breaker& b, std::chrono::nanoseconds d = 1ms) {
  auto p = b.try_acquire();
  REQUIRE(p);
  b.on_error(*p, d);
}

// Trips a `small()` breaker: two failures in four calls.
void trip(circuit_breaker& b) {
  succeed(b);
  succeed(b);
  fail(b);
  fail(b);
  REQUIRE(b.state() == breaker_state::open);
}

std::vector<std::string> record_events(circuit_breaker& b, std::vector<std::string>& out) {
  b.subscribe([&out](const breaker_event& e) {
    auto text = to_string(e.kind);
    if (e.kind == event_kind::state_transition)
      text += ":" + to_string(e.from) + "->" + to_string(e.to);
    out.push_back(text);
  });
  return out;
}

} // namespace

TEST_SUITE("breaker.window") {

TEST_CASE("a count window keeps the last N outcomes") {
  outcome_window w{window_kind::count, 3};
  w.record(true, false, 0);
  w.record(false, true, 0);
  w.record(false, false, 0);
  CHECK(w.totals(0).calls == 3);
  CHECK(w.totals(0).failed == 1);
  w.record(false, false, 0); // the failure leaves
  CHECK(w.totals(0).failed == 0);
  CHECK(w.totals(0).slow == 1);
  CHECK(w.totals(0).calls == 3);
}

TEST_CASE("a time window keeps the calls of the last N seconds, in one-second buckets") {
  outcome_window w{window_kind::time, 2};
  w.record(true, false, 10'000);
  w.record(false, false, 10'999);
  CHECK(w.totals(11'999).calls == 2); // seconds 10 and 11
  CHECK(w.totals(12'000).calls == 0); // second 10 left
  w.record(true, true, 12'500);
  w.record(false, false, 12'000); // a clock going back stays in the latest second
  CHECK(w.totals(13'999).calls == 2);
  CHECK(w.totals(60'000).calls == 0); // a long jump empties the window
}

}

TEST_SUITE("breaker.core") {

TEST_CASE("settings are validated, naming the breaker, the field and the value") {
  auto bad = small();
  bad.failure_threshold = 0;
  auto b = circuit_breaker::make(bad);
  REQUIRE_FALSE(b);
  CHECK(otpp::supervision::describe(b.error())
        == "invalid_argument: breaker 'svc': failure_threshold must be in (0, 100], got 0.000000");
  for (auto change : std::vector<void (*)(breaker_config&)>{
         [](breaker_config& c) { c.name.clear(); }, [](breaker_config& c) { c.window_size = 0; },
         [](breaker_config& c) { c.minimum_calls = 0; }, [](breaker_config& c) { c.slow_threshold = 101; },
         [](breaker_config& c) { c.slow_duration = 0ms; }, [](breaker_config& c) { c.wait_in_open = 0ms; },
         [](breaker_config& c) { c.half_open_permits = 0; },
         [](breaker_config& c) { c.max_wait_in_half_open = -1ms; }}) {
    auto c = small();
    change(c);
    CHECK_FALSE(circuit_breaker::make(c));
  }
}

TEST_CASE("nothing trips before minimum_calls outcomes, then a failure rate at the threshold trips") {
  fake_clock clock;
  auto b = make(small(), clock);
  fail(*b);
  fail(*b);
  fail(*b);
  CHECK(b->state() == breaker_state::closed); // 3 of 4 minimum calls
  succeed(*b);                                // 3 failures in 4: 75 %
  CHECK(b->state() == breaker_state::open);
  auto exact = make(small(), clock);
  succeed(*exact);
  succeed(*exact);
  fail(*exact);
  fail(*exact); // exactly 50 %
  CHECK(exact->state() == breaker_state::open);
  auto below = make(small(), clock);
  succeed(*below);
  succeed(*below);
  succeed(*below);
  fail(*below); // 25 %
  CHECK(below->state() == breaker_state::closed);
}

TEST_CASE("a minimum above a count window's size is clamped to the size") {
  fake_clock clock;
  auto c = small();
  c.minimum_calls = 10;
  auto b = make(c, clock);
  for (int i = 0; i < 4; ++i)
    fail(*b);
  CHECK(b->state() == breaker_state::open);
}

TEST_CASE("a call is slow only when it lasts strictly longer than slow_duration, and slow calls trip") {
  fake_clock clock;
  auto c = small();
  c.slow_threshold = 50;
  auto b = make(c, clock);
  for (int i = 0; i < 4; ++i)
    succeed(*b, 100ms); // equal: not slow
  CHECK(b->state() == breaker_state::closed);
  CHECK(b->totals().slow == 0);
  succeed(*b, 100ms + 1ns);
  CHECK(b->state() == breaker_state::closed); // 1 slow in 4
  succeed(*b, 200ms);                         // 2 slow in 4: 50 %
  CHECK(b->state() == breaker_state::open);
}

TEST_CASE("OPEN rejects until wait_in_open has passed strictly, then HALF_OPEN hands out exactly its permits") {
  fake_clock clock;
  auto b = make(small(), clock);
  trip(*b);
  CHECK_FALSE(b->try_acquire());
  clock.advance(1000ms); // exactly the wait: still open
  CHECK_FALSE(b->try_acquire());
  CHECK(b->state() == breaker_state::open);
  clock.advance(1ms);
  auto first = b->try_acquire();
  CHECK(first);
  CHECK(b->state() == breaker_state::half_open);
  auto second = b->try_acquire();
  CHECK(second);
  CHECK_FALSE(b->try_acquire()); // two permits only
  CHECK(b->not_permitted_calls() == 3);
}

TEST_CASE("HALF_OPEN closes with an empty window when the trial calls are below the thresholds") {
  fake_clock clock;
  auto b = make(small(), clock);
  trip(*b);
  clock.advance(1001ms);
  auto p1 = b->try_acquire();
  auto p2 = b->try_acquire();
  b->on_success(*p1, 1ms);
  CHECK(b->state() == breaker_state::half_open); // min(minimum_calls 4, permits 2) = 2 outcomes decide
  b->on_error(*p2, 1ms);                          // 1 failure in 2: 50 % >= 50
  CHECK(b->state() == breaker_state::open);
  clock.advance(1001ms);
  p1 = b->try_acquire();
  p2 = b->try_acquire();
  b->on_success(*p1, 1ms);
  b->on_success(*p2, 1ms);
  CHECK(b->state() == breaker_state::closed);
  CHECK(b->totals().calls == 0);
}

TEST_CASE("HALF_OPEN that does not finish within max_wait_in_half_open goes back to OPEN") {
  fake_clock clock;
  auto c = small();
  c.max_wait_in_half_open = 500ms;
  auto b = make(c, clock);
  trip(*b);
  clock.advance(1001ms);
  auto p = b->try_acquire();
  REQUIRE(p);
  clock.advance(499ms);
  CHECK(b->tick() == *clock.now + 1); // due in 1 ms
  CHECK(b->state() == breaker_state::half_open);
  clock.advance(1ms);
  CHECK_FALSE(b->tick()); // open again; without automatic_half_open nothing is due
  CHECK(b->state() == breaker_state::open);
  b->on_success(*p, 1ms); // a late outcome of the earlier state is not recorded
  CHECK(b->state() == breaker_state::open);
}

TEST_CASE("with automatic_half_open the tick moves OPEN to HALF_OPEN when the wait ends") {
  fake_clock clock;
  auto c = small();
  c.automatic_half_open = true;
  auto b = make(c, clock);
  trip(*b);
  CHECK(b->tick() == *clock.now + 1000);
  clock.advance(1000ms);
  CHECK_FALSE(b->tick());
  CHECK(b->state() == breaker_state::half_open);
}

TEST_CASE("an ignored error releases its half-open permit without counting, as does a dropped scoped permit") {
  fake_clock clock;
  auto b = make(small(), clock);
  trip(*b);
  clock.advance(1001ms);
  auto p1 = b->try_acquire();
  auto p2 = b->try_acquire();
  REQUIRE_FALSE(b->try_acquire());
  b->on_ignored(*p1);
  CHECK(b->totals().calls == 0);
  auto again = b->try_acquire();
  REQUIRE(again);
  { scoped_permit dropped{b, *again}; } // its holder went away without reporting
  auto last = b->try_acquire();
  REQUIRE(last);
  scoped_permit reported{b, *last};
  reported.success(1ms);
  b->on_success(*p2, 1ms);
  CHECK(b->state() == breaker_state::closed);
}

TEST_CASE("DISABLED permits everything and records nothing; FORCED_OPEN rejects and never leaves by itself") {
  fake_clock clock;
  auto b = make(small(), clock);
  std::vector<std::string> events;
  b->disable();
  record_events(*b, events);
  for (int i = 0; i < 10; ++i)
    fail(*b);
  CHECK(b->state() == breaker_state::disabled);
  CHECK(events.empty());
  b->force_open();
  CHECK_FALSE(b->try_acquire());
  clock.advance(std::chrono::hours(24));
  CHECK_FALSE(b->try_acquire());
  CHECK_FALSE(b->tick());
  CHECK(b->state() == breaker_state::forced_open);
  b->transition_to_closed();
  CHECK(b->try_acquire());
}

TEST_CASE("events reach listeners in order, and a listener that throws changes nothing") {
  fake_clock clock;
  auto b = make(small(), clock);
  std::vector<std::string> events;
  b->subscribe([](const breaker_event&) { throw std::runtime_error("listener bug"); });
  record_events(*b, events);
  trip(*b);
  CHECK_FALSE(b->try_acquire());
  b->reset();
  CHECK(b->state() == breaker_state::closed);
  CHECK(b->totals().calls == 0);
  CHECK(events
        == std::vector<std::string>{"success", "success", "error", "error", "failure_rate_exceeded",
                                    "state_transition:closed->open", "not_permitted",
                                    "state_transition:open->closed", "reset"});
}

TEST_CASE("a listener gets only the kinds it asked for, and may call back into the breaker") {
  fake_clock clock;
  auto b = make(small(), clock);
  std::vector<std::string> seen;
  b->subscribe(
    [&](const breaker_event& e) {
      seen.push_back(to_string(e.to));
      if (e.to == breaker_state::open)
        b->try_acquire(); // a not_permitted event, delivered after this listener returns
    },
    {event_kind::state_transition, event_kind::not_permitted});
  trip(*b);
  CHECK(seen == std::vector<std::string>{"open", "closed"}); // the transition, then not_permitted (to: closed)
}

TEST_CASE("a time window trips on the calls of the last N seconds only") {
  fake_clock clock;
  auto c = small();
  c.window = window_kind::time;
  c.window_size = 10; // seconds
  auto b = make(c, clock);
  fail(*b);
  fail(*b);
  fail(*b);
  clock.advance(10s); // those three left the window
  fail(*b);
  CHECK(b->state() == breaker_state::closed);
  CHECK(b->totals().calls == 1);
  fail(*b);
  fail(*b);
  fail(*b);
  CHECK(b->state() == breaker_state::open);
}

TEST_CASE("32 threads recording failures with a frozen clock make exactly one CLOSED to OPEN transition") {
  fake_clock clock;
  auto c = small();
  c.window_size = 100;
  c.minimum_calls = 100;
  auto b = make(c, clock);
  std::atomic<int> opened{0};
  b->subscribe([&](const breaker_event& e) {
    if (e.kind == event_kind::state_transition && e.to == breaker_state::open)
      ++opened;
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        if (auto p = b->try_acquire())
          b->on_error(*p, 1ms);
    });
  for (auto& t : threads)
    t.join();
  CHECK(opened == 1);
  CHECK(b->state() == breaker_state::open);
}

TEST_CASE("events emitted while another thread delivers are all delivered by the time the last call returns") {
  // Rounds of simultaneous calls: whichever thread delivers lets go while the
  // others emit. An event left behind at that instant waits for the next call,
  // so it shows as a round whose calls have all returned with events missing.
  fake_clock clock;
  auto b = make(small(), clock); // successes never trip it
  std::atomic<uint64_t> delivered{0};
  b->subscribe([&](const breaker_event&) { delivered.fetch_add(1, std::memory_order_relaxed); },
               {event_kind::success});
  const int emitters = 4; // more than the cores, too: a deliverer preempted as it lets go
  const int rounds = 20000;
  std::atomic<int> round{0};
  std::atomic<int> returned{0};
  auto wait_until = [](auto done) {
    while (!done())
      std::this_thread::yield();
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < emitters; ++t)
    threads.emplace_back([&] {
      for (int r = 1; r <= rounds; ++r) {
        wait_until([&] { return round.load() >= r; });
        b->on_success(*b->try_acquire(), 1ms);
        returned.fetch_add(1);
      }
    });
  int late_rounds = 0;
  for (int r = 1; r <= rounds; ++r) {
    round.store(r);
    wait_until([&] { return returned.load() == r * emitters; });
    if (delivered.load() != static_cast<uint64_t>(r) * static_cast<uint64_t>(emitters))
      ++late_rounds;
  }
  for (auto& t : threads)
    t.join();
  CHECK(late_rounds == 0);
  CHECK(delivered.load() == static_cast<uint64_t>(rounds) * static_cast<uint64_t>(emitters));
}

TEST_CASE("in HALF_OPEN exactly half_open_permits of 32 racing threads get through") {
  fake_clock clock;
  auto c = small();
  c.half_open_permits = 5;
  auto b = make(c, clock);
  trip(*b);
  clock.advance(1001ms);
  std::atomic<int> through{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t)
    threads.emplace_back([&] {
      if (b->try_acquire())
        ++through;
    });
  for (auto& t : threads)
    t.join();
  CHECK(through == 5);
  CHECK(b->state() == breaker_state::half_open);
}

}

TEST_SUITE("breaker.reconfigure") {

TEST_CASE("a breaker reconfigured while OPEN stays OPEN, and a shorter wait counts from when it opened") {
  fake_clock clock;
  auto b = make(small(), clock);
  trip(*b);
  auto next = small();
  next.failure_threshold = 90;
  next.wait_in_open = 200ms;
  REQUIRE_FALSE(b->reconfigure(next));
  CHECK(b->state() == breaker_state::open);
  CHECK(b->config().failure_threshold == 90);
  clock.advance(150ms);
  CHECK_FALSE(b->try_acquire()); // 150 ms of the new 200 ms since it opened
  clock.advance(51ms);
  CHECK(b->try_acquire());
  CHECK(b->state() == breaker_state::half_open);
}

TEST_CASE("a new threshold judges the next call against the outcomes the window already holds") {
  fake_clock clock;
  auto c = small();
  c.window_size = 10;
  c.minimum_calls = 4;
  auto b = make(c, clock);
  succeed(*b);
  succeed(*b);
  succeed(*b);
  fail(*b); // 25 % of 4: closed at 50 %
  REQUIRE(b->state() == breaker_state::closed);
  c.failure_threshold = 20;
  REQUIRE_FALSE(b->reconfigure(c));
  CHECK(b->state() == breaker_state::closed); // a new setting is no outcome: nothing trips yet
  CHECK(b->totals().calls == 4);
  succeed(*b); // 1 failure in 5: 20 %
  CHECK(b->state() == breaker_state::open);
}

TEST_CASE("a window of another size starts empty; new half-open permits apply from the next HALF_OPEN") {
  fake_clock clock;
  auto b = make(small(), clock);
  succeed(*b);
  fail(*b);
  auto c = small();
  c.window_size = 8;
  c.half_open_permits = 3;
  REQUIRE_FALSE(b->reconfigure(c));
  CHECK(b->totals().calls == 0);
  CHECK(b->state() == breaker_state::closed);
  for (int i = 0; i < 4; ++i)
    fail(*b);
  REQUIRE(b->state() == breaker_state::open);
  clock.advance(1001ms);
  int permitted = 0;
  while (b->try_acquire())
    ++permitted;
  CHECK(permitted == 3);
}

TEST_CASE("invalid settings and another name are refused and change nothing") {
  fake_clock clock;
  auto b = make(small(), clock);
  trip(*b);
  auto bad = small();
  bad.failure_threshold = 0;
  bad.wait_in_open = 5ms;
  auto err = b->reconfigure(bad);
  REQUIRE(err);
  CHECK(otpp::supervision::describe(err).find("failure_threshold") != std::string::npos);
  auto renamed = small();
  renamed.name = "other";
  err = b->reconfigure(renamed);
  REQUIRE(err);
  CHECK(otpp::supervision::describe(err).find("cannot be renamed to 'other'") != std::string::npos);
  CHECK(b->config().wait_in_open == 1000ms);
  CHECK(b->state() == breaker_state::open);
  clock.advance(10ms);
  CHECK_FALSE(b->try_acquire());
}

}
