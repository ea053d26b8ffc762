#include <doctest/doctest.h>

#include <stdexcept>

#include "otpp/supervision/arguments.hpp"

using namespace otpp::supervision;

namespace {

const std::vector<argument_spec> specs{
  string_arg("url").required().non_empty(),
  integer_arg("timeout_ms", 1, 60000).defaults(500),
  number_arg("ratio", 0, 1),
  boolean_arg("verbose").defaults(false),
  choice_arg("mode", {"fast", "safe"}).defaults("safe"),
  string_arg("region").validate([](const argument_value& v) -> std::string {
    return std::get<std::string>(v).size() == 2 ? "" : "must be a two-letter code";
  }),
};

std::vector<std::string> problems(const std::map<std::string, argument_value>& given) {
  arguments out;
  std::vector<std::string> text;
  for (auto& p : check_arguments(specs, given, out))
    text.push_back(p.name + ": " + p.message);
  return text;
}

} // namespace

TEST_SUITE("supervision.arguments") {

TEST_CASE("checked arguments hold the given values and the defaults of the absent ones") {
  arguments out;
  REQUIRE(check_arguments(specs, {{"url", std::string{"x"}}, {"ratio", int64_t{1}}}, out).empty());
  CHECK(out.get_string("url") == "x");
  CHECK(out.get_int("timeout_ms") == 500);
  CHECK(out.get_number("ratio") == 1.0); // an integer given for a number becomes a number
  CHECK(std::holds_alternative<double>(out.values().at("ratio")));
  CHECK_FALSE(out.get_bool("verbose"));
  CHECK(out.get_string("mode") == "safe");
  CHECK_FALSE(out.has("region"));
  CHECK(out.get_string_or("region", "eu") == "eu");
  CHECK_THROWS_WITH_AS(out.get_int("url"), "argument 'url' is not an integer", std::invalid_argument);
  CHECK_THROWS_WITH_AS(out.get_string("region"), "argument 'region' is not set", std::invalid_argument);
}

TEST_CASE("every problem is told at once: unknown names with the closest, types, ranges, choices, required") {
  CHECK(problems({{"urll", std::string{"x"}}, {"timeout_ms", std::string{"5"}}, {"ratio", 1.5},
                  {"mode", std::string{"quick"}}, {"verbose", int64_t{1}}, {"region", std::string{"europe"}}})
        == std::vector<std::string>{
          "urll: unknown argument (did you mean 'url'?)",
          "url: missing (a required string)",
          "timeout_ms: must be an integer, got \"5\"",
          "ratio: must be in [0, 1], got 1.5",
          "verbose: must be true or false, got 1",
          "mode: must be one of fast, safe, got \"quick\"",
          "region: must be a two-letter code",
        });
  CHECK(problems({{"url", std::string{""}}}) == std::vector<std::string>{"url: must not be empty"});
  CHECK(problems({{"url", std::string{"x"}}, {"timeout_ms", int64_t{0}}})
        == std::vector<std::string>{"timeout_ms: must be in [1, 60000], got 0"});
  CHECK(problems({{"url", std::string{"x"}}, {"zzz", true}}) == std::vector<std::string>{"zzz: unknown argument"});
}

TEST_CASE("the closest name is at most two edits away") {
  CHECK(closest_name("max_bach", {"max_batch", "min_batch"}) == "max_batch");
  CHECK(closest_name("completely_else", {"max_batch"}).empty());
}

}
