#include <doctest/doctest.h>

#include <mutex>
#include <vector>

#include "otpp/supervision/reports.hpp"
#include "tests/support/log_capture.hpp"

using namespace otpp::supervision;

namespace {

/// The reports a subscription received, thread-safe.
struct received {
  void add(const report& r) {
    std::lock_guard<std::mutex> guard{mtx};
    reports.push_back(r);
  }
  std::vector<report> all() {
    std::lock_guard<std::mutex> guard{mtx};
    return reports;
  }
  std::mutex mtx;
  std::vector<report> reports;
};

} // namespace

TEST_SUITE("supervision.report_subscription") {

TEST_CASE("a subscriber receives each report as a typed value and the log line stays as it was") {
  otpp::test::log_capture capture;
  auto got = std::make_shared<received>();
  auto id = subscribe_reports([got](const report& r) { got->add(r); });
  CHECK(id != 0);
  report_child_terminated({"root", "one_for_one"}, "db", "exception: boom", 2);
  report_supervisor_shutdown({"root", "one_for_one"}, "shutdown", 3, true);
  CHECK(unsubscribe_reports(id));
  auto reports = got->all();
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].kind == report_kind::child_terminated);
  CHECK(to_string(reports[0].kind) == "child_terminated");
  CHECK(reports[0].severity == report_severity::error);
  CHECK(reports[0].supervisor == "root");
  CHECK(reports[0].strategy == "one_for_one");
  CHECK(reports[0].child == "db");
  CHECK(reports[0].reason == "exception: boom");
  CHECK(reports[0].restarts == 2);
  CHECK(reports[0].time.time_since_epoch().count() > 0);
  CHECK(reports[1].kind == report_kind::supervisor_shutdown);
  CHECK(reports[1].severity == report_severity::info);
  CHECK(reports[1].child.empty());
  CHECK(reports[1].restarts == 3);
  auto lines = capture.lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]
        == R"(child_terminated supervisor=root child=db reason="exception: boom" restarts=2 strategy=one_for_one)");
  CHECK(lines[1] == R"(supervisor_shutdown supervisor=root child="" reason=shutdown restarts=3 strategy=one_for_one)");
}

TEST_CASE("each of several subscribers receives every report until it unsubscribes") {
  auto first = std::make_shared<received>();
  auto second = std::make_shared<received>();
  auto a = subscribe_reports([first](const report& r) { first->add(r); });
  auto b = subscribe_reports([second](const report& r) { second->add(r); });
  CHECK(a != b);
  report_start_error({"sup", "one_for_all"}, "w1", "start_failed: no socket", 0);
  CHECK(unsubscribe_reports(a));
  CHECK_FALSE(unsubscribe_reports(a));
  report_child_started({"sup", "one_for_all"}, "w1", 1);
  CHECK(unsubscribe_reports(b));
  report_shutdown_error({"sup", "one_for_all"}, "w1", "killed", 1);
  REQUIRE(first->all().size() == 1);
  CHECK(first->all()[0].kind == report_kind::start_error);
  auto seen = second->all();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].kind == report_kind::start_error);
  CHECK(seen[1].kind == report_kind::child_started);
  CHECK(seen[1].reason.empty());
}

TEST_CASE("a subscriber receives reports the log level filters out, and its exception stays with it") {
  auto logger = report_logger();
  auto level = logger->level();
  logger->set_level(spdlog::level::off);
  auto got = std::make_shared<received>();
  auto thrower = subscribe_reports([](const report&) { throw std::runtime_error("subscriber bug"); });
  auto id = subscribe_reports([got](const report& r) { got->add(r); });
  CHECK_NOTHROW(report_max_intensity({"root", "rest_for_one"}, "db", "killed", 4));
  logger->set_level(level);
  unsubscribe_reports(thrower);
  unsubscribe_reports(id);
  auto reports = got->all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].kind == report_kind::reached_max_restart_intensity);
  CHECK(to_string(reports[0].kind) == "reached_max_restart_intensity");
}

}
