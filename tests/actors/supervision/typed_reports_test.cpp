#include <doctest/doctest.h>

#include <mutex>

#include "otpp/supervision/reports.hpp"
#include "tests/actors/supervision/helpers.hpp"

using namespace otpp::supervision;
using namespace otpp::test;

TEST_SUITE("supervision.supervisor.typed_reports") {

TEST_CASE("a crash and its restart reach a subscriber as child_terminated then child_started") {
  deterministic fx;
  auto log = std::make_shared<event_log>();
  auto mtx = std::make_shared<std::mutex>();
  auto got = std::make_shared<std::vector<report>>();
  auto id = subscribe_reports([mtx, got](const report& r) {
    std::lock_guard<std::mutex> guard{*mtx};
    if (r.supervisor == "sup")
      got->push_back(r);
  });
  auto sup = start(fx, workers(log, flags_of(strategy::one_for_one, 3), {"a"}));
  crash(fx, sup, "a");
  fx.stop(sup);
  unsubscribe_reports(id);
  std::lock_guard<std::mutex> guard{*mtx};
  std::vector<std::string> kinds;
  for (auto& r : *got)
    kinds.push_back(to_string(r.kind) + ":" + r.child + ":" + std::to_string(r.restarts));
  CHECK(kinds
        == std::vector<std::string>{"child_started:a:0", "child_terminated:a:0", "child_started:a:1",
                                    "supervisor_shutdown::1"});
  REQUIRE(got->size() == 4);
  CHECK((*got)[1].reason == "exception: boom a");
  CHECK((*got)[1].strategy == "one_for_one");
}

}
