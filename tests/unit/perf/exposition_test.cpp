#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "otpp/actors/events/printable.hpp"
#include "otpp/actors/perf/registry.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/unit/perf/otpp_families.hpp"

using namespace otpp;
using perf::family;
using perf::metric_type;

namespace {

const family calls{"test_calls_total", "Calls.", metric_type::counter, {"service", "outcome"}};
const family plain{"test_plain_total", "Without labels.", metric_type::counter, {}};
const family depth{"test_depth", "Depth.", metric_type::gauge, {"queue"}};
const family latency{"test_latency_seconds", "Latency.", metric_type::histogram, {"service"}};

// Names and reasons a user might choose, or bytes a peer might send.
const std::vector<std::string> hostile{
  "a\"b", "x\"} 1\nfake_total{y=\"z", "back\\slash", "new\nline", "\xff\xfe bytes", "{braces}", "caf\xc3\xa9", "",
  "# HELP fake_total x", "\\\"\\n"};

// A registry of one series of every otpp family, with `labels` as each
// label value, and the series it holds.
struct every_family {
  perf::registry r;
  std::vector<std::shared_ptr<void>> held;

  explicit every_family(const std::vector<std::string>& values) {
    int n = 0;
    for (auto& [symbol, f] : test::otpp_families())
      for (auto& value : values) {
        perf::label_values labels(f->label_names.size(), value);
        ++n;
        switch (f->type) {
          case metric_type::counter: {
            auto c = r.counter_of(*f, labels);
            c->add(static_cast<uint64_t>(n));
            held.push_back(c);
            break;
          }
          case metric_type::gauge:
            held.push_back(r.gauge_of(*f, labels, [n] { return n % 3 ? n * 0.25 : std::nan(""); }));
            break;
          case metric_type::histogram: {
            auto h = r.histogram_of(*f, labels);
            for (int64_t v = 1; v < 20'000'000'000; v *= 3)
              h->record(v);
            held.push_back(h);
            break;
          }
        }
      }
  }
};

} // namespace

TEST_SUITE("perf.exposition") {

TEST_CASE("the exposition gives every family its HELP and TYPE, then its series, histograms with cumulative le buckets") {
  perf::registry r;
  auto c = r.counter_of(calls, {"db", "ok"});
  c->add(3);
  auto p = r.counter_of(plain);
  auto g = r.gauge_of(depth, {"q"}, [] { return 0.5; });
  auto h = r.histogram_of(latency, {"db"});
  h->record(1500);
  CHECK(r.take_snapshot().to_prometheus()
        == "# HELP test_calls_total Calls.\n"
           "# TYPE test_calls_total counter\n"
           "test_calls_total{service=\"db\",outcome=\"ok\"} 3\n"
           "# HELP test_depth Depth.\n"
           "# TYPE test_depth gauge\n"
           "test_depth{queue=\"q\"} 0.5\n"
           "# HELP test_latency_seconds Latency.\n"
           "# TYPE test_latency_seconds histogram\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"1e-06\"} 0\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"2.5e-06\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"5e-06\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"1e-05\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"2.5e-05\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"5e-05\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.0001\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.00025\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.0005\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.001\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.0025\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.005\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.01\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.025\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.05\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.1\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.25\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"0.5\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"1\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"2.5\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"5\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"10\"} 1\n"
           "test_latency_seconds_bucket{service=\"db\",le=\"+Inf\"} 1\n"
           "test_latency_seconds_sum{service=\"db\"} 1.5e-06\n"
           "test_latency_seconds_count{service=\"db\"} 1\n"
           "# HELP test_plain_total Without labels.\n"
           "# TYPE test_plain_total counter\n"
           "test_plain_total 0\n");
}

TEST_CASE("exposition numbers are integers when whole, round-trip otherwise, and NaN and infinities as Prometheus spells them") {
  perf::registry r;
  std::vector<std::pair<double, std::string>> cases{
    {0, "0"},
    {-2, "-2"},
    {0.1, "0.1"},
    {1e-7, "1e-07"},
    {123456.789, "123456.789"},
    {1.0 / 3, "0.3333333333333333"},
    {1e15, "1000000000000000"},
    {18446744073709551615.0, "1.8446744073709552e+19"},
    {std::nan(""), "NaN"},
    {std::numeric_limits<double>::infinity(), "+Inf"},
    {-std::numeric_limits<double>::infinity(), "-Inf"}};
  std::vector<std::shared_ptr<perf::gauge>> held;
  for (std::size_t i = 0; i < cases.size(); ++i)
    held.push_back(r.gauge_of(depth, {std::to_string(100 + i)}, [x = cases[i].first] { return x; }));
  auto text = test::parse_prometheus(r.take_snapshot().to_prometheus());
  REQUIRE(text.samples.size() == cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(cases[i].second);
    CHECK(text.samples[i].value == cases[i].second);
    if (std::isfinite(cases[i].first))
      CHECK(std::stod(text.samples[i].value) == cases[i].first);
  }
}

TEST_CASE("hostile label values come out escaped and valid UTF-8, and cannot inject a series") {
  perf::registry r;
  std::vector<std::shared_ptr<perf::counter>> held;
  for (auto& value : hostile)
    held.push_back(r.counter_of(calls, {value, "ok"}));
  auto h = r.histogram_of(latency, {hostile[1]});
  family help_family{"test_help_total", "line one\nline \\ two", metric_type::counter, {}};
  auto with_help = r.counter_of(help_family);
  auto out = r.take_snapshot().to_prometheus();
  CHECK(events::printable(out) == out); // valid UTF-8
  auto text = test::parse_prometheus(out);
  std::size_t histogram_samples = perf::histogram_bounds_seconds().size() + 3;
  REQUIRE(text.samples.size() == hostile.size() + histogram_samples + 1);
  std::multiset<std::string> expected, seen;
  for (auto& value : hostile)
    expected.insert(events::printable(value));
  for (auto& s : text.samples) {
    CHECK((s.name == "test_calls_total" || s.name.rfind("test_latency_seconds_", 0) == 0 || s.name == "test_help_total"));
    if (s.name != "test_calls_total")
      continue;
    REQUIRE(s.labels.size() == 2);
    CHECK(s.labels[0].first == "service");
    CHECK(s.labels[1] == std::pair<std::string, std::string>{"outcome", "ok"});
    seen.insert(s.labels[0].second);
  }
  CHECK(seen == expected);
  auto& bucket = text.samples[hostile.size() + 1]; // after test_help_total, the first of test_latency_seconds
  REQUIRE(bucket.labels.size() == 2);
  CHECK(bucket.labels[0] == std::pair<std::string, std::string>{"service", events::printable(hostile[1])});
  CHECK(bucket.labels[1] == std::pair<std::string, std::string>{"le", "1e-06"});
  CHECK(text.types.size() == 3);
  CHECK(text.helps.at("test_help_total") == "line one\nline \\ two");
  CHECK(out.find("# HELP test_help_total line one\\nline \\\\ two\n") != std::string::npos);
  CHECK(out.find("service=\"\\\\xff\\\\xfe bytes\"") != std::string::npos); // \xff as the text \xff, its backslash escaped
}

TEST_CASE("the JSON snapshot has each family's type, help and series with labels by name") {
  perf::registry r;
  auto c = r.counter_of(calls, {"db", "ok"});
  c->add(3);
  auto bad = r.counter_of(calls, {"\xff\"x", "ok"});
  auto g = r.gauge_of(depth, {"q"}, [] { return 0.5; });
  auto nan = r.gauge_of(depth, {"nan"}, [] { return std::nan(""); });
  auto h = r.histogram_of(latency, {"db"});
  h->record(1500);
  h->record(3'000'000'000);
  auto json = nlohmann::json::parse(r.take_snapshot().to_json());
  REQUIRE(json.size() == 3);
  auto& counted = json.at("test_calls_total");
  CHECK(counted.at("type") == "counter");
  CHECK(counted.at("help") == "Calls.");
  REQUIRE(counted.at("series").size() == 2);
  CHECK(counted.at("series")[0].at("labels") == nlohmann::json{{"service", "db"}, {"outcome", "ok"}});
  CHECK(counted.at("series")[0].at("value").is_number_integer());
  CHECK(counted.at("series")[0].at("value") == 3);
  CHECK(counted.at("series")[1].at("labels").at("service") == "\\xff\"x");
  auto& gauged = json.at("test_depth");
  CHECK(gauged.at("type") == "gauge");
  CHECK(gauged.at("series")[0].at("labels").at("queue") == "nan");
  CHECK(gauged.at("series")[0].at("value").is_null());
  CHECK(gauged.at("series")[1].at("value") == 0.5);
  auto& timed = json.at("test_latency_seconds");
  CHECK(timed.at("type") == "histogram");
  auto& x = timed.at("series")[0];
  CHECK(x.at("labels") == nlohmann::json{{"service", "db"}});
  CHECK(x.at("count") == 2);
  CHECK(x.at("sum_seconds").get<double>() == doctest::Approx(3.0000015));
  auto& buckets = x.at("buckets");
  CHECK(buckets.size() == perf::histogram_bounds_seconds().size());
  CHECK(buckets.at("1e-06") == 0);
  CHECK(buckets.at("2.5e-06") == 1);
  CHECK(buckets.at("2.5") == 1);
  CHECK(buckets.at("5") == 2);
  CHECK(buckets.at("10") == 2);
  CHECK_FALSE(x.contains("value"));
}

TEST_CASE("every otpp family is named as Prometheus wants: counters end in _total, latencies in _seconds") {
  std::set<std::string> names;
  for (auto& [symbol, f] : test::otpp_families()) {
    CAPTURE(f->name);
    CHECK(f->name.rfind("otpp_", 0) == 0);
    CHECK(names.insert(f->name).second); // no name twice
    auto ends_with = [&](const std::string& tail) {
      return f->name.size() > tail.size() && f->name.compare(f->name.size() - tail.size(), tail.size(), tail) == 0;
    };
    CHECK(ends_with("_total") == (f->type == metric_type::counter));
    if (f->type == metric_type::histogram)
      CHECK(ends_with("_seconds"));
    CHECK_FALSE(f->help.empty());
    perf::registry r;
    perf::label_values labels(f->label_names.size(), "x");
    if (f->type == metric_type::counter)
      CHECK_NOTHROW(r.counter_of(*f, labels));
    else if (f->type == metric_type::gauge)
      CHECK_NOTHROW(r.gauge_of(*f, labels, [] { return 0.0; }));
    else
      CHECK_NOTHROW(r.histogram_of(*f, labels));
  }
}

TEST_CASE("the test's list of otpp families is the one families.cpp declares") {
  std::ifstream in{OTPP_SOURCE_DIR "/actors/perf/families.cpp"};
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  auto source = text.str();
  std::set<std::string> declared, listed;
  std::regex declaration{R"(const\s+family\s+(\w+)\s*\{)"};
  for (std::sregex_iterator i{source.begin(), source.end(), declaration}, end; i != end; ++i)
    declared.insert((*i)[1]);
  for (auto& [symbol, f] : test::otpp_families())
    listed.insert(symbol);
  CHECK_MESSAGE(declared == listed, "add the new families of actors/perf/families.cpp to tests/unit/perf/otpp_families.hpp");
}

TEST_CASE("promtool check metrics is clean on the exposition of every otpp family, hostile label values included") {
  auto values = hostile;
  values.push_back("plain");
  every_family all{values};
  auto out = all.r.take_snapshot().to_prometheus();
  auto checked = test::promtool_check(out);
  if (!checked) {
    MESSAGE("SKIPPED: promtool is not installed (Debian: apt-get install prometheus)");
    return;
  }
  CHECK_MESSAGE(checked->code == 0, checked->output);
  CHECK_MESSAGE(checked->output.empty(), checked->output);
  CHECK(test::parse_prometheus(out).types.size() == test::otpp_families().size());
}

}
