#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "otpp/actors/perf/registry.hpp"

using namespace otpp;
using perf::family;
using perf::histogram;
using perf::metric_type;

namespace {

const family calls{"test_calls_total", "Calls.", metric_type::counter, {"service", "outcome"}};
const family depth{"test_depth", "Depth.", metric_type::gauge, {"queue"}};
const family latency{"test_latency_seconds", "Latency.", metric_type::histogram, {"service"}};

const perf::family_snapshot* family_in(const perf::snapshot& s, const std::string& name) {
  for (auto& f : s.families)
    if (f.info.name == name)
      return &f;
  return nullptr;
}

} // namespace

TEST_SUITE("perf.registry") {

TEST_CASE("histogram buckets are exact below 16 and within 6.25 percent above") {
  for (uint64_t v : {0ull, 1ull, 15ull})
    CHECK(histogram::upper_bound_of(histogram::index_of(v)) == v);
  for (uint64_t v = 16; v < 5'000'000; v = v * 3 / 2 + 1) {
    auto upper = histogram::upper_bound_of(histogram::index_of(v));
    CAPTURE(v);
    CHECK(upper >= v);
    CHECK(static_cast<double>(upper - v) <= 0.0625 * static_cast<double>(v));
    CHECK(histogram::index_of(upper) == histogram::index_of(v)); // the bound lies in the same bucket
    CHECK(histogram::index_of(upper + 1) == histogram::index_of(v) + 1);
  }
}

TEST_CASE("a histogram answers count, mean, percentiles and the exact max") {
  histogram h;
  CHECK(h.summarize().count == 0);
  for (int v = 1; v <= 1000; ++v)
    h.record(v * 1000); // 1 µs .. 1 ms
  auto s = h.summarize();
  CHECK(s.count == 1000);
  CHECK(s.mean_ns == doctest::Approx(500500.0));
  CHECK(s.max_ns == 1'000'000);
  CHECK(s.p50_ns >= 500'000);
  CHECK(s.p50_ns <= 532'000);
  CHECK(s.p90_ns >= 900'000);
  CHECK(s.p90_ns <= 957'000);
  CHECK(s.p99_ns >= 990'000);
  CHECK(s.p99_ns <= 1'000'000); // never above the max
  h.record(-5);                  // a negative duration counts as 0
  CHECK(h.summarize().count == 1001);
}

TEST_CASE("a histogram's cumulative count is never above the truth and misses at most the last 6.25 percent below a bound") {
  histogram h;
  std::vector<uint64_t> values;
  for (uint64_t v = 1; v < 20'000'000'000ull; v = v * 11 / 10 + 1)
    values.push_back(v);
  for (auto v : values)
    h.record(static_cast<int64_t>(v));
  std::vector<uint64_t> bounds{10, 15, 16, 999, 1000, 1023, 1024, 2500, 1'000'000, 2'500'000'000ull};
  uint64_t total = 0;
  auto counts = h.cumulative_counts(bounds, total);
  REQUIRE(counts.size() == bounds.size());
  CHECK(total == values.size());
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    auto at_most = [&](double b) {
      uint64_t n = 0;
      for (auto v : values)
        n += static_cast<double>(v) <= b;
      return n;
    };
    CAPTURE(bounds[i]);
    CHECK(counts[i] <= at_most(static_cast<double>(bounds[i])));
    CHECK(counts[i] >= at_most(static_cast<double>(bounds[i]) * (1 - 0.0625)));
    if (bounds[i] < 16)
      CHECK(counts[i] == at_most(static_cast<double>(bounds[i]))); // exact below 16
  }
}

TEST_CASE("a striped counter is exact under 8 threads adding a million times each") {
  perf::counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1'000'000; ++i)
        c.add();
    });
  for (auto& t : threads)
    t.join();
  CHECK(c.value() == 8'000'000);
  c.add(5);
  CHECK(c.value() == 8'000'005);
}

TEST_CASE("histogram buckets stay monotone and +Inf equals the count while another thread records") {
  perf::registry r;
  auto h = r.histogram_of(latency, {"db"});
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> recorded{0};
  std::thread writer{[&] {
    for (int64_t v = 1; !stop.load(std::memory_order_relaxed); v = v * 7 % 20'000'000'011 + 1) {
      h->record(v);
      recorded.fetch_add(1, std::memory_order_relaxed);
    }
  }};
  uint64_t last_count = 0;
  for (int i = 0; i < 200; ++i) {
    auto s = r.take_snapshot();
    auto* f = family_in(s, "test_latency_seconds");
    REQUIRE(f);
    REQUIRE(f->series.size() == 1);
    auto& x = f->series[0];
    REQUIRE(x.buckets.size() == perf::histogram_bounds_seconds().size());
    for (std::size_t b = 1; b < x.buckets.size(); ++b)
      REQUIRE(x.buckets[b - 1] <= x.buckets[b]);
    REQUIRE(x.buckets.back() <= x.count); // the +Inf bucket
    REQUIRE(x.count >= last_count);
    last_count = x.count;
  }
  stop = true;
  writer.join();
  auto s = r.take_snapshot();
  CHECK(s.find("test_latency_seconds", {"db"})->count == recorded.load());
}

TEST_CASE("the same family and labels give the same counter while someone holds it") {
  perf::registry r;
  auto a = r.counter_of(calls, {"db", "ok"});
  auto b = r.counter_of(calls, {"db", "ok"});
  CHECK(a.get() == b.get());
  CHECK(a.get() != r.counter_of(calls, {"db", "failed"}).get());
  a->add(2);
  b->add(3);
  CHECK(r.take_snapshot().find("test_calls_total", {"db", "ok"})->value == 5);
  a.reset();
  b.reset();
  auto again = r.counter_of(calls, {"db", "ok"}); // a new series starts from 0
  CHECK(again->value() == 0);
}

TEST_CASE("series disappear from snapshots after their last holder lets go, and empty families with them") {
  perf::registry r;
  auto ok = r.counter_of(calls, {"db", "ok"});
  auto other = ok;
  auto failed = r.counter_of(calls, {"db", "failed"});
  auto g = r.gauge_of(depth, {"q"}, [] { return 1.0; });
  auto h = r.histogram_of(latency, {"db"});
  CHECK(r.take_snapshot().families.size() == 3);
  ok.reset();
  CHECK(r.take_snapshot().find("test_calls_total", {"db", "ok"})); // `other` still holds it
  other.reset();
  auto s = r.take_snapshot();
  CHECK_FALSE(s.find("test_calls_total", {"db", "ok"}));
  CHECK(s.find("test_calls_total", {"db", "failed"}));
  failed.reset();
  g.reset();
  h.reset();
  CHECK(r.take_snapshot().families.empty());
}

TEST_CASE("gauge_of replaces a live gauge of the same labels, and counter_from is read like one") {
  perf::registry r;
  auto old_owner = r.gauge_of(depth, {"q"}, [] { return 1.0; });
  auto new_owner = r.gauge_of(depth, {"q"}, [] { return 2.0; });
  CHECK(old_owner.get() != new_owner.get());
  auto s = r.take_snapshot();
  CHECK(family_in(s, "test_depth")->series.size() == 1);
  CHECK(s.find("test_depth", {"q"})->value == 2.0);
  new_owner.reset(); // the newest owner ended: the series ends, even though an older holder remains
  CHECK_FALSE(r.take_snapshot().find("test_depth", {"q"}));

  uint64_t kept = 41;
  auto read = r.counter_from(calls, {"db", "ok"}, [&] { return static_cast<double>(++kept); });
  CHECK(r.take_snapshot().find("test_calls_total", {"db", "ok"})->value == 42);
  auto newer = r.counter_from(calls, {"db", "ok"}, [] { return 7.0; });
  CHECK(r.take_snapshot().find("test_calls_total", {"db", "ok"})->value == 7);
  CHECK_THROWS_AS(r.counter_of(calls, {"db", "ok"}), std::invalid_argument); // one series, counted one way
}

TEST_CASE("a wrong label count, another type or other labels for a name, and bad names throw") {
  perf::registry r;
  CHECK_THROWS_AS(r.counter_of(calls, {"db"}), std::invalid_argument);
  CHECK_THROWS_AS(r.counter_of(calls, {"db", "ok", "extra"}), std::invalid_argument);
  CHECK_THROWS_AS(r.counter_of(depth, {"q"}), std::invalid_argument);             // a gauge family
  CHECK_THROWS_AS(r.gauge_of(calls, {"db", "ok"}, [] { return 0.0; }), std::invalid_argument);
  CHECK_THROWS_AS(r.histogram_of(calls, {"db", "ok"}), std::invalid_argument);
  CHECK_THROWS_AS(r.counter_from(depth, {"q"}, [] { return 0.0; }), std::invalid_argument);
  auto held = r.counter_of(calls, {"db", "ok"});
  family same_name_other_labels{"test_calls_total", "Calls.", metric_type::counter, {"service"}};
  CHECK_THROWS_AS(r.counter_of(same_name_other_labels, {"db"}), std::invalid_argument);
  family same_name_other_type{"test_calls_total", "Calls.", metric_type::gauge, {"service", "outcome"}};
  CHECK_THROWS_AS(r.gauge_of(same_name_other_type, {"db", "ok"}, [] { return 0.0; }), std::invalid_argument);

  auto bad = [&](family f) {
    CAPTURE(f.name);
    f.type = metric_type::counter;
    CHECK_THROWS_AS(r.counter_of(f, perf::label_values(f.label_names.size(), "x")), std::invalid_argument);
  };
  bad({"", "", {}, {}});
  bad({"9lives_total", "", {}, {}});
  bad({"test-dash_total", "", {}, {}});
  bad({"test_é_total", "", {}, {}});
  bad({"test_space total", "", {}, {}});
  bad({"test_label_total", "", {}, {"has:colon"}});
  bad({"test_label_total", "", {}, {"1st"}});
  bad({"test_label_total", "", {}, {"__reserved"}});
  bad({"test_label_total", "", {}, {"twice", "twice"}});
  bad({"test_label_total", "", {}, {""}});
  family le_histogram{"test_le_seconds", "", metric_type::histogram, {"le"}};
  CHECK_THROWS_AS(r.histogram_of(le_histogram, {"1"}), std::invalid_argument);
  // A rejected family leaves nothing behind, and good names with colons are taken.
  CHECK_FALSE(family_in(r.take_snapshot(), "test_le_seconds"));
  family colons{"test:with:colons_total", "", metric_type::counter, {"_under", "le"}};
  CHECK_NOTHROW(held = r.counter_of(colons, {"a", "b"}));
}

TEST_CASE("a snapshot lists families by name and series by label values, and sums series that match") {
  perf::registry r;
  auto b = r.counter_of(calls, {"b", "ok"});
  auto a_ok = r.counter_of(calls, {"a", "ok"});
  auto a_failed = r.counter_from(calls, {"a", "failed"}, [] { return 4.0; });
  auto g = r.gauge_of(depth, {"q"}, [] { return 0.5; });
  auto h = r.histogram_of(latency, {"db"});
  b->add(1);
  a_ok->add(2);
  h->record(1500);
  h->record(3'000'000'000);
  auto s = r.take_snapshot();
  REQUIRE(s.families.size() == 3);
  CHECK(s.families[0].info.name == "test_calls_total");
  CHECK(s.families[1].info.name == "test_depth");
  CHECK(s.families[2].info.name == "test_latency_seconds");
  auto& series = s.families[0].series;
  REQUIRE(series.size() == 3);
  CHECK(series[0].labels == perf::label_values{"a", "failed"});
  CHECK(series[1].labels == perf::label_values{"a", "ok"});
  CHECK(series[2].labels == perf::label_values{"b", "ok"});
  CHECK(s.sum("test_calls_total") == 7);
  CHECK(s.sum("test_calls_total", {"a"}) == 6);
  CHECK(s.sum("test_calls_total", {"", "ok"}) == 3);
  CHECK(s.sum("test_latency_seconds") == 2);
  auto* x = s.find("test_latency_seconds", {"db"});
  REQUIRE(x);
  CHECK(x->sum_seconds == doctest::Approx(3.0000015));
  auto& bounds = perf::histogram_bounds_seconds();
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    CAPTURE(bounds[i]);
    CHECK(x->buckets[i] == (bounds[i] >= 2.5e-6 ? 1u : 0u) + (bounds[i] >= 5 ? 1u : 0u));
  }
}

}
