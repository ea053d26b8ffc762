#include <doctest/doctest.h>

#include "otpp/supervision/reports.hpp"
#include "tests/support/log_capture.hpp"

using namespace otpp::supervision;

TEST_SUITE("supervision.reports") {

TEST_CASE("a text report is one line with the fixed fields, quoting values with spaces") {
  otpp::test::log_capture capture;
  report_child_terminated({"root", "one_for_one"}, "db", "exception: boom", 2);
  auto lines = capture.lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]
        == R"(child_terminated supervisor=root child=db reason="exception: boom" restarts=2 strategy=one_for_one)");
}

TEST_CASE("a JSON report is one whole JSON object that escapes quotes, backslashes and control characters") {
  otpp::test::log_capture capture;
  set_report_format(report_format::json);
  report_start_error({"root", "one_for_all"}, "w\"1", "bad\\path\nline\x01", 0);
  set_report_format(report_format::text);
  auto lines = capture.lines();
  REQUIRE(lines.size() == 1);
  const std::string fields =
    R"("report":"start_error","supervisor":"root","child":"w\"1","reason":"bad\\path\nline\u0001","restarts":0,"strategy":"one_for_all"})";
  CHECK(lines[0].rfind(R"({"time":")", 0) == 0);
  CHECK(lines[0].find(R"("level":"error","logger":"otpp",)") != std::string::npos);
  CHECK(lines[0].size() > fields.size());
  CHECK(lines[0].compare(lines[0].size() - fields.size(), fields.size(), fields) == 0);
}

TEST_CASE("json_quote leaves plain text alone apart from the quotes") {
  CHECK(json_quote("abc") == "\"abc\"");
  CHECK(json_quote("") == "\"\"");
}

}
