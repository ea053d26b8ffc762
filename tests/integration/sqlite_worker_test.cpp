#include <doctest/doctest.h>

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/thread_call.hpp"
#include "otpp/actors/workers/sqlite_worker.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/event_capture.hpp"
#include "tests/support/sql_load.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace otpp::workers;
using namespace std::chrono_literals;

namespace {

// A fresh directory for one test's database, removed afterwards.
struct temp_dir {
  std::string path;
  temp_dir() {
    char pattern[] = "/tmp/otpp-sqlite-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

struct sqlite_pool {
  temp_dir dir;
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  pool::pool_ref pool;

  explicit sqlite_pool(std::size_t size = 4) {
    register_sqlite_kind();
    pool::pool_config config;
    config.name = "db";
    config.size = size;
    config.max_overflow = 0;
    config.worker = "sqlite";
    config.args = {{{"path", std::string{dir.path + "/test.db"}}}};
    auto started = pool::start_pool(sys, config);
    REQUIRE_MESSAGE(started, supervision::describe(started.error()));
    pool = *started;
  }

  ~sqlite_pool() { caf::anon_send_exit(pool.actor(), caf::exit_reason::user_shutdown); }

  caf::expected<sql_rows> execute(const std::string& sql, std::vector<sql_value> params = {}) {
    caf::scoped_actor self{sys};
    return pool.transaction([&](const caf::actor& w) { return workers::execute(self, w, sql, params); });
  }
};

} // namespace

TEST_SUITE("workers.sqlite") {

TEST_CASE("pooled SQLite queries return the right rows") {
  sqlite_pool db;
  REQUIRE(db.execute("CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT)"));
  for (auto [k, v] : {std::pair{"a", "1"}, std::pair{"b", "2"}, std::pair{"c", "3"}})
    REQUIRE(db.execute("INSERT INTO config VALUES (?, ?)", {sql_value::of(k), sql_value::of(v)}));
  auto rows = db.execute("SELECT key, value FROM config WHERE key <> ? ORDER BY key", {sql_value::of("b")});
  REQUIRE(rows);
  CHECK(*rows == sql_rows{{sql_value::of("a"), sql_value::of("1")}, {sql_value::of("c"), sql_value::of("3")}});
}

TEST_CASE("bound parameters with quotes, NULs and NULL are stored exactly") {
  sqlite_pool db;
  REQUIRE(db.execute("CREATE TABLE t (v TEXT)"));
  std::string tricky = std::string{"it's \"quoted\"; DROP TABLE t; --"} + std::string(1, '\0') + "after NUL";
  REQUIRE(db.execute("INSERT INTO t VALUES (?)", {sql_value::of(tricky)}));
  REQUIRE(db.execute("INSERT INTO t VALUES (?)", {sql_value::none()}));
  auto rows = db.execute("SELECT v FROM t ORDER BY rowid");
  REQUIRE(rows);
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0][0] == sql_value::of(tricky));
  CHECK((*rows)[0][0].bytes.size() == tricky.size());
  CHECK((*rows)[1][0].null);
}

TEST_CASE("a failing statement is an sql_error and the worker keeps its connection") {
  sqlite_pool db{1};
  auto bad = db.execute("SELEKT 1");
  REQUIRE_FALSE(bad);
  CHECK(supervision::describe(bad.error()).find("sql_error: near \"SELEKT\": syntax error") == 0);
  auto wrong = db.execute("SELECT ?", {});
  REQUIRE_FALSE(wrong);
  CHECK(supervision::describe(wrong.error()) == "sql_error: the statement takes 1 parameters, got 0");
  for (auto sql : {"SELECT 1; SELECT 2", "SELECT 1; DELETE FROM nothing"}) {
    auto two = db.execute(sql);
    REQUIRE_FALSE(two);
    CHECK(supervision::describe(two.error()).find("sql_error: one statement per call, got more: ' ") == 0);
  }
  CHECK(db.execute("SELECT 1; -- a comment\n"));
  CHECK(db.execute("-- nothing to run")->empty());
  CHECK(db.execute("SELECT 1"));
}

TEST_CASE("user code runs on the live connection") {
  sqlite_pool db{1};
  caf::scoped_actor self{db.sys};
  auto version = db.pool.transaction([&](const caf::actor& w) {
    sqlite_operation op = [](sqlite3* raw) { return caf::make_message(std::string{sqlite3_db_filename(raw, "main")}); };
    return thread_call<std::string>(self, w, 5s, run_atom::value, op);
  });
  REQUIRE(version);
  CHECK(*version == db.dir.path + "/test.db");
}

TEST_CASE("a database that cannot be opened is the pool's start_error") {
  register_sqlite_kind();
  test::event_capture events;
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  pool::pool_config config;
  config.name = "nowhere";
  config.size = 1;
  config.worker = "sqlite";
  config.args = {{{"path", std::string{"/nonexistent/dir/test.db"}}}};
  auto started = pool::start_pool(sys, config);
  REQUIRE(started);
  REQUIRE(events.wait_for<events::pool_start_error>(1, 10s));
  auto error = events.of<events::pool_start_error>().front();
  CHECK(error.pool == "nowhere");
  CHECK(error.worker_kind == "sqlite");
  CHECK(error.reason.find("unavailable: cannot open SQLite database '/nonexistent/dir/test.db'") != std::string::npos);
  caf::anon_send_exit(started->actor(), caf::exit_reason::user_shutdown);
}

TEST_CASE("a pool_ref kept after its pool ended does not hold up the actor system's shutdown") {
  register_sqlite_kind();
  temp_dir dir;
  test::threaded_config cfg;
  auto sys = std::make_unique<caf::actor_system>(cfg);
  pool::pool_config config;
  config.name = "kept";
  config.size = 2;
  config.worker = "sqlite"; // detached workers: the system waits for them at shutdown
  config.args = {{{"path", std::string{dir.path + "/test.db"}}}};
  auto p = pool::start_pool(*sys, config);
  REQUIRE(p);
  {
    caf::scoped_actor self{*sys};
    self->monitor(p->actor());
    caf::anon_send_exit(p->actor(), caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }
  sys.reset(); // returns although `p` is still alive (a hang here fails the test by its CTest timeout)
  CHECK(supervision::describe(p->checkout(false).error()) == "closed: the pool has ended");
}

TEST_CASE("1000 concurrent audited updates leave exactly the rows of the updates reported successful") {
  sqlite_pool db{4};
  REQUIRE(db.execute("CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT)"));
  REQUIRE(db.execute("CREATE TABLE audit (key TEXT, value TEXT)"));
  auto succeeded = test::audited_updates(db.sys, db.pool, "BEGIN IMMEDIATE");
  auto audit = db.execute("SELECT count(*) FROM audit");
  REQUIRE(audit);
  CHECK(std::stoi((*audit)[0][0].bytes) == succeeded);
  CHECK(succeeded > 900); // busy_timeout lets writers wait for each other
}

}
