#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "otpp/actors/perf/families.hpp"
#include "otpp/actors/perf/registry.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/config/node.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/eventually.hpp"

using namespace otpp;
using namespace std::chrono_literals;

TEST_SUITE("status table") {

TEST_CASE("the status table shows each pool's worker exits per second since the previous table") {
  auto loaded = config::load_string("[node]\nname = \"table-node\"\n[logging]\nlevel = \"warn\"\n"
                                    "[pools.db]\nsize = 2\n",
                                    "table.toml");
  REQUIRE(loaded.config);
  auto started = config::node::start(*loaded.config);
  REQUIRE_MESSAGE(started, supervision::describe(started.error()));
  auto& node = **started;
  CHECK(config::status_table(node).find("\n  db                     pool       healthy   idle=2 busy=0 overflow=0 "
                                        "waiting=0 exits/s=-\n")
        != std::string::npos);

  config::pool_exit_counts last{std::chrono::steady_clock::now(), {}}; // the pools have just started
  auto pool = pool::find_pool(node.system(), "db");
  REQUIRE(pool);
  for (int i = 0; i < 2; ++i) {
    auto lease = pool->checkout(true, 1000ms);
    REQUIRE(lease);
    lease->fail(); // released as broken: a crash
  }
  REQUIRE(test::eventually(
    [] { return perf::metrics().take_snapshot().sum(perf::families::pool_worker_exits.name, {"db", "crash"}) == 2; }));
  auto first = config::status_table(node, &last);
  CHECK(last.exits["db"] == std::pair<double, double>{2, 2});
  auto rate = first.find("exits/s=");
  REQUIRE(rate != std::string::npos);
  CHECK(std::stod(first.substr(rate + 8)) > 0);
  CHECK(first.find(" (crash ", rate) != std::string::npos);
  // Nothing more ended: the next table says 0.
  auto second = config::status_table(node, &last);
  // (the replacements of the two workers may still be starting: "(no live worker)" may follow)
  CHECK_MESSAGE(second.find("waiting=0 exits/s=0.0") != std::string::npos, second);
}

}
