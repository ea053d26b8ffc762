#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "otpp/actors/breaker/breaker_owner.hpp"
#include "otpp/actors/perf/registry.hpp"
#include "otpp/supervision/registry.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "tests/support/deterministic.hpp"

using namespace otpp;
using perf::histogram;

TEST_SUITE("perf") {

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

TEST_CASE("histograms and counters take concurrent records without losing any") {
  histogram h;
  perf::counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        h.record(t * 100 + i);
        c.add();
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(h.summarize().count == 80000);
  CHECK(c.value() == 80000);
  CHECK(h.summarize().max_ns == 700 + 9999);
}

TEST_CASE("the registry gives one object per name and a JSON snapshot with gauges") {
  auto& r = perf::metrics();
  auto& a = r.histogram_of("test.snapshot.latency");
  CHECK(&a == &r.histogram_of("test.snapshot.latency"));
  a.record(100);
  r.counter_of("test.snapshot.calls").add(3);
  auto id = r.add_gauge("test.snapshot.gauge", [] { return 1.5; });
  auto s = r.take_snapshot();
  CHECK(s.counters.at("test.snapshot.calls") == 3);
  CHECK(s.gauges.at("test.snapshot.gauge") == 1.5);
  auto json = s.to_json();
  CHECK(json.find("\"test.snapshot.latency\":{\"count\":1,\"mean_ns\":100.000,\"p50_ns\":100") != std::string::npos);
  CHECK(json.find("\"test.snapshot.gauge\":1.500") != std::string::npos);
  r.remove_gauge(id);
  CHECK(r.take_snapshot().gauges.count("test.snapshot.gauge") == 0);
}

TEST_CASE("supervisor restarts and component gauges feed the registry while components run") {
  test::deterministic fx;
  supervision::supervisor_config root;
  root.name = "perf_test_root";
  breaker::breaker_config b;
  b.name = "perf_test_breaker";
  root.children = {breaker::breaker_child(b)};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto& restarts = perf::metrics().counter_of("supervisor.perf_test_root.restarts");
  auto before = restarts.value();
  auto gauges = perf::metrics().take_snapshot().gauges;
  CHECK(gauges.at("breaker.perf_test_breaker.state") == 0.0); // closed
  caf::anon_send_exit(supervision::whereis(fx.sys, "perf_test_breaker"), caf::exit_reason::kill);
  fx.run();
  CHECK(restarts.value() == before + 1);
  fx.stop(*sup);
  CHECK(perf::metrics().take_snapshot().gauges.count("breaker.perf_test_breaker.state") == 0);
}

}
