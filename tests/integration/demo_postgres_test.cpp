#include <doctest/doctest.h>

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/config/demo.hpp"
#include "otpp/config/node.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/event_capture.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace std::chrono_literals;
using otpp::test::eventually;

namespace {

// config/example.toml with its commented PostgreSQL [pools.database] in
// place of the SQLite one, exactly as a user would switch.
std::string example_on_postgres() {
  std::ifstream in{OTPP_SOURCE_DIR "/config/example.toml"};
  std::stringstream text;
  text << in.rdbuf();
  auto s = text.str();
  auto sqlite = s.find("[pools.database]\n");
  auto alternative = s.find("# PostgreSQL instead of SQLite");
  REQUIRE(sqlite != std::string::npos);
  REQUIRE(alternative != std::string::npos);
  auto end = s.find("\n\n", alternative);
  std::string block;
  std::istringstream lines{s.substr(alternative, end - alternative)};
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("# [", 0) == 0 || (line.rfind("# ", 0) == 0 && line.find(" = ") != std::string::npos))
      block += line.substr(2) + "\n";
  REQUIRE(block.find("worker = \"postgres\"") != std::string::npos);
  return s.substr(0, sqlite) + block + s.substr(end);
}

// Whether `events` holds an event of type T for which `matches` is true.
template <class T, class Match>
bool seen(const test::event_capture& events, Match matches) {
  auto all = events.of<T>();
  return std::any_of(all.begin(), all.end(), matches);
}

long long count_rows(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  long long n = -1;
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, "SELECT count(*) FROM audit");
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
      n = std::stoll(PQgetvalue(r, 0, 0));
    PQclear(r);
  }
  PQfinish(c);
  return n;
}

} // namespace

TEST_SUITE("demo.postgres") {

TEST_CASE("the example's PostgreSQL pool loads as documented") {
  auto loaded = config::load_string(example_on_postgres(), "example-postgres.toml");
  REQUIRE_MESSAGE(loaded.config, (loaded.problems.empty() ? "" : loaded.problems.front().to_string()));
  auto& pools = loaded.config->pools;
  auto db = std::find_if(pools.begin(), pools.end(), [](auto& p) { return p.config.name == "database"; });
  REQUIRE(db != pools.end());
  CHECK(db->config.worker == "postgres");
  CHECK(db->config.args.get_int("statement_timeout_ms") == 5000);
  CHECK(db->supervisor == "storage");
}

TEST_CASE("killing PostgreSQL during the demo: clear events, the breaker opens, recovery, no lost audit row") {
  test::postgres_server server;
  auto loaded = config::load_string(
    example_on_postgres(), "example-postgres.toml",
    {{"OTPP__POOLS__DATABASE__WORKER_ARGS__URL", server.url()},
     {"OTPP__POOLS__DATABASE__WORKER_ARGS__CONNECT_TIMEOUT_MS", "300"},
     {"OTPP__DEMO__DURATION_S", "60"}, // ended by `stop` below
     {"OTPP__DEMO__RATE_PER_S", "50"},
     {"OTPP__DEMO__CRASH_PROBABILITY", "0"},
     {"OTPP__DEMO__FAILURE_PROBABILITY", "0"},
     {"OTPP__RATE_LIMITERS__CONFIG_UPDATE__CAPACITY", "1000000"},
     {"OTPP__BREAKERS__CONFIG_SERVER__WAIT_IN_OPEN_MS", "500"},
     {"OTPP__MEMORY__LIMIT_MB", "100000"}});
  REQUIRE_MESSAGE(loaded.config, (loaded.problems.empty() ? "" : loaded.problems.front().to_string()));
  auto started = config::node::start(*loaded.config);
  REQUIRE_MESSAGE(started, supervision::describe(started.error()));
  test::event_capture events;
  config::demo_summary summary;
  test::stopping_threads demo;
  demo.threads.emplace_back([&] { summary = config::run_demo(**started, *loaded.config->demo); });
  REQUIRE(eventually([&] { return count_rows(server.url()) > 50; }, 20s));
  server.crash();
  auto lost = [&](const char* action) {
    return seen<events::connection_lost>(events, [&](auto& e) { return e.kind == "postgres" && e.action == action; });
  };
  CHECK(eventually([&] { return lost("reconnect"); }));
  CHECK(eventually([&] { return lost("exit"); }));
  CHECK(eventually([&] { return seen<events::breaker_state_changed>(events, [](auto& e) { return e.to == "open"; }); }));
  CHECK(eventually([&] { return seen<events::pool_start_error>(events, [](auto& e) { return e.pool == "database"; }); }));
  server.start();
  auto after_restart = count_rows(server.url());
  REQUIRE(after_restart >= 0);
  CHECK(eventually([&] { return count_rows(server.url()) > after_restart + 50; }, 30s)); // recovered
  { // a pool_ref holds its workers: let it go before the node does
    auto pool = pool::find_pool((*started)->system(), "database");
    REQUIRE(pool);
    CHECK(eventually([&] { // the pool back to full strength: every worker lost in the outage replaced
      auto st = pool->status();
      return st.idle + st.busy - st.overflow == 10;
    }, 30s));
  }
  (*started)->request_stop(); // the demo's clients end
  demo.join();
  CAPTURE(summary.database_line());
  CHECK(summary.audit_error.empty());
  CHECK(summary.lost_audit_rows == 0);
  CHECK(summary.audit_rows >= static_cast<int64_t>(summary.updates_ok));
  CHECK(summary.updates_failed + summary.circuit_open + summary.other_refusals > 0); // the outage was seen
  CHECK(summary.database_line().find("(none lost") != std::string::npos);
  CHECK(seen<events::pool_worker_started>(events, [](auto& e) { return e.pool == "database"; })); // workers replaced
  started->reset();
}

}
