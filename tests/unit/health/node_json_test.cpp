#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "otpp/actors/health/health.hpp"

using namespace otpp;

TEST_SUITE("health.node") {

TEST_CASE("to_json is valid JSON with every field, whatever bytes the names and reasons hold") {
  health::node child;
  child.name = "db \"main\" {x}\n";
  child.kind = "pool";
  child.state = health::status::degraded;
  child.reason = std::string{"bad \xff byte"};
  child.restarts = 3;
  child.last_reason = "exception: boom\t\"quoted\"";
  health::node root;
  root.name = "root";
  root.kind = "supervisor";
  root.state = health::status::degraded;
  root.reason = "db: degraded";
  root.children = {child};
  auto j = nlohmann::json::parse(root.to_json());
  CHECK(j["name"] == "root");
  CHECK(j["kind"] == "supervisor");
  CHECK(j["status"] == "degraded");
  CHECK(j["restarts"] == 0);
  CHECK(j["last_reason"] == "");
  REQUIRE(j["children"].size() == 1);
  auto& c = j["children"][0];
  CHECK(c["name"] == "db \"main\" {x}\n");
  CHECK(c["status"] == "degraded");
  CHECK(c["reason"] == "bad \\xff byte");
  CHECK(c["restarts"] == 3);
  CHECK(c["last_reason"] == "exception: boom\t\"quoted\"");
  CHECK(c["children"].empty());
}

}
