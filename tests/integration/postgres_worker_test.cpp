#include <doctest/doctest.h>

#include <libpq-fe.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/thread_call.hpp"
#include "otpp/actors/workers/postgres_worker.hpp"
#include "otpp/actors/workers/sql_parameter_size.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/event_capture.hpp"
#include "tests/support/loopback_socket.hpp"
#include "tests/support/sql_load.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace otpp::workers;
using namespace std::chrono_literals;
using otpp::test::eventually;

namespace {

struct postgres_pool {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  pool::pool_ref pool;

  postgres_pool(const std::string& url, std::size_t size, std::map<std::string, supervision::argument_value> extra = {}) {
    register_postgres_kind();
    pool::pool_config config;
    config.name = "db";
    config.size = size;
    config.max_overflow = 0;
    config.worker = "postgres";
    extra.emplace("url", url);
    extra.emplace("connect_timeout_ms", int64_t{1000});
    config.args = supervision::arguments{extra};
    config.start_backoff = {10ms, 100ms, 2.0, 0.0, 0ms};
    auto started = pool::start_pool(sys, config);
    REQUIRE_MESSAGE(started, (started ? std::string{} : supervision::describe(started.error())));
    pool = *started;
  }

  ~postgres_pool() { caf::anon_send_exit(pool.actor(), caf::exit_reason::user_shutdown); }

  caf::expected<sql_rows> execute(const std::string& sql, std::vector<sql_value> params = {}) {
    caf::scoped_actor self{sys};
    return pool.transaction([&](const caf::actor& w) { return workers::execute(self, w, sql, params); }, 10s);
  }

  std::string text(const std::string& sql) {
    auto rows = execute(sql);
    REQUIRE_MESSAGE(rows, supervision::describe(rows.error()));
    REQUIRE(rows->size() == 1);
    return (*rows)[0].at(0).bytes;
  }
};

bool starts_with(const caf::error& err, const std::string& prefix) {
  return supervision::describe(err).rfind(prefix, 0) == 0;
}

// The connection_lost events of PostgreSQL workers whose action is `action`.
std::vector<events::connection_lost> lost(const test::event_capture& events, const std::string& action) {
  std::vector<events::connection_lost> out;
  for (auto& e : events.of<events::connection_lost>())
    if (e.kind == "postgres" && e.action == action)
      out.push_back(e);
  return out;
}

} // namespace

TEST_SUITE("workers.postgres") {

TEST_CASE("pooled PostgreSQL queries return the right rows") {
  test::postgres_server server;
  postgres_pool db{server.url(), 3};
  REQUIRE(db.execute("CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT, version INTEGER)"));
  for (auto [k, v] : {std::pair{"a", "1"}, std::pair{"b", "2"}, std::pair{"c", "3"}})
    REQUIRE(db.execute("INSERT INTO config VALUES ($1, $2, $3)", {sql_value::of(k), sql_value::of(v), sql_value::of(v)}));
  auto rows = db.execute("SELECT key, value, version + 1 FROM config WHERE key <> $1 ORDER BY key", {sql_value::of("b")});
  REQUIRE(rows);
  CHECK(*rows == sql_rows{{sql_value::of("a"), sql_value::of("1"), sql_value::of("2")},
                          {sql_value::of("c"), sql_value::of("3"), sql_value::of("4")}});
  CHECK(db.execute("UPDATE config SET value = 'x'")->empty()); // a command answers no rows
}

TEST_CASE("bound parameters with quotes, backslashes, NULs and NULL are stored exactly") {
  test::postgres_server server;
  postgres_pool db{server.url(), 1};
  REQUIRE(db.execute("CREATE TABLE t (id SERIAL, v TEXT, b BYTEA)"));
  std::string quoted = "it's \"quoted\"; DROP TABLE t; -- \\x00 \\' $1 ünïcödé";
  std::string binary = std::string{"a'b\\c"} + std::string(1, '\0') + "after NUL" + std::string(1, '\xff');
  REQUIRE(db.execute("INSERT INTO t (v, b) VALUES ($1, $2)", {sql_value::of(quoted), sql_value::blob(binary)}));
  REQUIRE(db.execute("INSERT INTO t (v, b) VALUES ($1, $2)", {sql_value::none(), sql_value::none()}));
  auto rows = db.execute("SELECT v, b, length(b) FROM t ORDER BY id");
  REQUIRE(rows);
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0][0].bytes == quoted);
  CHECK((*rows)[0][1].bytes == binary);
  CHECK((*rows)[0][1].binary);
  CHECK((*rows)[0][2].bytes == std::to_string(binary.size()));
  CHECK((*rows)[1][0].null);
  CHECK((*rows)[1][1].null);
  // PostgreSQL text cannot hold a NUL: refused before anything is sent.
  auto nul = db.execute("INSERT INTO t (v) VALUES ($1)", {sql_value::of(std::string("a\0b", 3))});
  REQUIRE_FALSE(nul);
  CHECK(supervision::describe(nul.error())
        == "sql_error: parameter $1: PostgreSQL text cannot hold a NUL byte; bind it as sql_value::blob (bytea)");
  CHECK(db.text("SELECT count(*) FROM t") == "2");
}

TEST_CASE("a failing statement is an sql_error and the worker keeps its connection, also in an aborted transaction") {
  test::postgres_server server;
  postgres_pool db{server.url(), 1};
  auto pid = db.text("SELECT pg_backend_pid()");
  auto bad = db.execute("SELEKT 1");
  REQUIRE_FALSE(bad);
  CHECK(starts_with(bad.error(), "sql_error: ERROR:  syntax error at or near \"SELEKT\""));
  auto wrong = db.execute("SELECT $1::int", {});
  REQUIRE_FALSE(wrong);
  CHECK(starts_with(wrong.error(), "sql_error: ERROR:  bind message supplies 0 parameters"));
  auto two = db.execute("SELECT 1; SELECT 2");
  REQUIRE_FALSE(two);
  CHECK(starts_with(two.error(), "sql_error: ERROR:  cannot insert multiple commands into a prepared statement"));
  caf::scoped_actor self{db.sys};
  auto in_transaction = db.pool.transaction([&](const caf::actor& w) {
    auto step = [&](const std::string& sql) {
      return thread_call<sql_rows>(self, w, 10s, execute_atom::value, sql, std::vector<sql_value>{});
    };
    REQUIRE(step("BEGIN"));
    auto failed = step("SELECT 1/0");
    REQUIRE_FALSE(failed);
    CHECK(starts_with(failed.error(), "sql_error: ERROR:  division by zero"));
    auto aborted = step("SELECT 1");
    REQUIRE_FALSE(aborted);
    CHECK(starts_with(aborted.error(), "sql_error: ERROR:  current transaction is aborted"));
    return step("ROLLBACK");
  });
  CHECK(in_transaction);
  CHECK(db.text("SELECT pg_backend_pid()") == pid); // the same connection throughout
}

TEST_CASE("statement_timeout_ms, application_name and user code on the live connection") {
  test::postgres_server server;
  // The URL's own options stay: statement_timeout_ms is added to them.
  postgres_pool db{server.url() + "?options=-c%20lock_timeout%3D1234", 1,
                   {{"statement_timeout_ms", int64_t{100}}, {"application_name", "otpp-test"}}};
  CHECK(db.text("SELECT current_setting('application_name')") == "otpp-test");
  CHECK(db.text("SHOW lock_timeout") == "1234ms");
  CHECK(db.text("SHOW statement_timeout") == "100ms");
  auto slow = db.execute("SELECT pg_sleep(5)");
  REQUIRE_FALSE(slow);
  CHECK(starts_with(slow.error(), "sql_error: ERROR:  canceling statement due to statement timeout"));
  caf::scoped_actor self{db.sys};
  auto port = db.pool.transaction([&](const caf::actor& w) {
    postgres_operation op = [](PGconn* raw) {
      PGresult* r = PQexec(raw, "SELECT 40 + 2");
      std::string answer = PQgetvalue(r, 0, 0);
      PQclear(r);
      return caf::make_message(std::string{PQport(raw)} + " " + answer);
    };
    return thread_call<std::string>(self, w, 5s, run_atom::value, op);
  });
  REQUIRE(port);
  CHECK(*port == std::to_string(server.port()) + " 42");
}

TEST_CASE("a connection the server broke is opened again and the operation answers connection_reset") {
  test::postgres_server server;
  test::event_capture events;
  postgres_pool db{server.url(), 1};
  auto terminate = [&](const std::string& pid) {
    PGconn* admin = PQconnectdb(server.url().c_str());
    REQUIRE(PQstatus(admin) == CONNECTION_OK);
    PQclear(PQexec(admin, ("SELECT pg_terminate_backend(" + pid + ")").c_str()));
    PQfinish(admin);
  };
  // From a thread (on the caller's thread) and as a message to the worker: the same rules.
  caf::scoped_actor self{db.sys};
  std::vector<std::function<caf::expected<sql_rows>(const caf::actor&)>> paths{
    [&](const caf::actor& w) { return workers::execute(self, w, "SELECT 1", {}); },
    [&](const caf::actor& w) {
      return thread_call<sql_rows>(self, w, 10s, execute_atom::value, std::string{"SELECT 1"}, std::vector<sql_value>{});
    }};
  for (std::size_t i = 0; i < paths.size(); ++i) {
    CAPTURE(i);
    auto pid = db.text("SELECT pg_backend_pid()");
    terminate(pid);
    auto reset = db.pool.transaction(paths[i]);
    REQUIRE_FALSE(reset);
    CHECK(starts_with(reset.error(), "connection_reset: the PostgreSQL connection was opened again"));
    CHECK(db.text("SELECT pg_backend_pid()") != pid);
    auto reconnects = lost(events, "reconnect");
    REQUIRE(reconnects.size() == i + 1);
    CHECK(reconnects.back().target == "127.0.0.1:" + std::to_string(server.port()) + "/postgres"); // no password
    CHECK(reconnects.back().reason.find("terminat") != std::string::npos);
  }
  CHECK(lost(events, "exit").empty());
  CHECK(events.of<events::pool_worker_exited>().empty()); // the same worker, a new connection
}

TEST_CASE("a notice the server sends is a database_notice event naming the worker's server, never its password") {
  test::postgres_server server;
  test::event_capture events;
  auto port = std::to_string(server.port());
  postgres_pool db{"postgresql://postgres:s3cret@127.0.0.1:" + port + "/postgres", 1}; // trust: the password is unused
  REQUIRE(db.execute("DO $$ BEGIN RAISE NOTICE 'disk % full', 93; END $$"));
  auto notices = events.of<events::database_notice>();
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].kind == "postgres");
  CHECK(notices[0].target == "127.0.0.1:" + port + "/postgres");
  CHECK(notices[0].text == "NOTICE:  disk 93 full");
  CHECK(notices[0].severity() == events::level::debug);
}

TEST_CASE("execute from a thread and messages to the worker share its one connection") {
  test::postgres_server server;
  postgres_pool db{server.url(), 1};
  REQUIRE(db.execute("CREATE TABLE t (v TEXT)"));
  caf::scoped_actor self{db.sys};
  auto done = db.pool.transaction([&](const caf::actor& w) {
    auto message = [&](const std::string& sql) {
      return thread_call<sql_rows>(self, w, 10s, execute_atom::value, sql, std::vector<sql_value>{});
    };
    REQUIRE(message("BEGIN"));
    REQUIRE(workers::execute(self, w, "INSERT INTO t VALUES ($1)", {sql_value::of("inside")}));
    auto seen = message("SELECT count(*) FROM t");
    REQUIRE(seen);
    CHECK((*seen)[0][0].bytes == "1"); // the same transaction
    return message("ROLLBACK");
  });
  REQUIRE(done);
  CHECK(db.text("SELECT count(*) FROM t") == "0");
}

TEST_CASE("execute on a worker that has ended is an error, not a crash") {
  test::postgres_server server;
  postgres_pool db{server.url(), 1};
  caf::scoped_actor self{db.sys};
  auto lease = db.pool.checkout(true, 5s);
  REQUIRE(lease);
  auto worker = lease->worker();
  self->monitor(worker);
  caf::anon_send_exit(worker, caf::exit_reason::kill);
  self->receive([](const caf::down_msg&) {});
  auto r = workers::execute(self, worker, "SELECT 1", {}, 1s);
  REQUIRE_FALSE(r);
  lease->fail();
  CHECK(eventually([&] { return db.pool.status().idle == 1; }));
}

TEST_CASE("a worker that cannot reconnect exits; the pool replaces it once the server is back") {
  test::postgres_server server;
  test::event_capture events;
  postgres_pool db{server.url(), 1};
  REQUIRE(db.text("SELECT 1") == "1");
  server.stop();
  auto gone = db.execute("SELECT 1");
  REQUIRE_FALSE(gone);
  CHECK(starts_with(gone.error(), "unavailable: cannot connect to PostgreSQL at 127.0.0.1:"));
  REQUIRE(events.wait_for<events::connection_lost>(2));
  REQUIRE(lost(events, "reconnect").size() == 1);
  auto exits = lost(events, "exit");
  REQUIRE(exits.size() == 1);
  CHECK(exits[0].reason.find("cannot connect to PostgreSQL") != std::string::npos);
  REQUIRE(events.wait_for<events::pool_worker_exited>(1));
  CHECK(events.of<events::pool_worker_exited>()[0].cause == "crash");
  REQUIRE(events.wait_for<events::pool_start_error>(1));
  server.start();
  CHECK(eventually([&] { return db.pool.status().idle == 1; }, 20s));
  CHECK(db.text("SELECT 1") == "1");
}

TEST_CASE("connect_timeout_ms bounds a connection to a server that never answers, to the millisecond") {
  test::loopback_socket silent{16}; // TCP connects, the startup packet gets no reply
  test::event_capture events;
  auto began = std::chrono::steady_clock::now();
  postgres_pool db{"postgresql://postgres@127.0.0.1:" + std::to_string(silent.port()) + "/postgres", 1,
                   {{"connect_timeout_ms", int64_t{200}}}};
  REQUIRE(events.wait_for<events::pool_start_error>(1));
  auto took = std::chrono::steady_clock::now() - began;
  CHECK(events.of<events::pool_start_error>().front().reason.find("no connection within connect_timeout_ms = 200")
        != std::string::npos);
  CHECK(took >= 200ms);
  CHECK(took < 1500ms); // libpq's own connect_timeout would take at least 2 s
}

TEST_CASE("a server restart in the middle of a load is survived and the pool returns to full strength") {
  test::postgres_server server;
  postgres_pool db{server.url(), 3};
  REQUIRE(db.execute("CREATE TABLE hits (id SERIAL, tag TEXT)"));
  std::atomic<int> ok{0}, reset{0}, other{0};
  std::mutex done_mutex;
  std::set<std::string> done; // tags of the inserts reported successful
  test::stopping_threads load;  // after what its threads use: joined before that goes
  for (int t = 0; t < 4; ++t)
    load.threads.emplace_back([&, t] {
      for (int i = 0; !load.stop; ++i) {
        auto tag = std::to_string(t) + ":" + std::to_string(i);
        auto r = db.execute("INSERT INTO hits (tag) VALUES ($1)", {sql_value::of(tag)});
        if (r) {
          ++ok;
          std::lock_guard<std::mutex> guard{done_mutex};
          done.insert(tag);
        } else if (starts_with(r.error(), "connection_reset")) {
          ++reset;
        } else {
          ++other; // a worker that could not reconnect while the server was down, or a checkout timeout
        }
      }
    });
  REQUIRE(eventually([&] { return ok > 100; }, 20s));
  server.crash();
  server.start();
  auto before = ok.load();
  REQUIRE(eventually([&] { return ok > before + 100; }, 20s)); // serving again
  load.join();
  CHECK(reset + other > 0); // the crash was noticed
  CHECK(eventually([&] { return db.pool.status().idle == 3; }, 20s));
  auto rows = db.execute("SELECT tag FROM hits");
  REQUIRE(rows);
  std::set<std::string> stored;
  for (auto& row : *rows)
    stored.insert(row[0].bytes);
  for (auto& tag : done)
    REQUIRE_MESSAGE(stored.count(tag) == 1, "lost: " << tag);
}

TEST_CASE("a PostgreSQL that is down at start is the pool's start_error, and the pool fills up once it is up") {
  test::postgres_server server;
  server.stop();
  test::event_capture events;
  postgres_pool db{server.url(), 2};
  REQUIRE(events.wait_for<events::pool_start_error>(1, 20s));
  CHECK(events.of<events::pool_start_error>().front().reason.find("unavailable: cannot connect to PostgreSQL at 127.0.0.1:"
                                                                  + std::to_string(server.port()) + "/postgres")
        != std::string::npos);
  CHECK(db.pool.status().idle == 0);
  server.start();
  CHECK(eventually([&] { return db.pool.status().idle == 2; }, 20s));
  CHECK(db.text("SELECT 1") == "1");
}

TEST_CASE("a parameter over 2 GiB - 1 bytes is refused naming it, not sent with its length cut to an int") {
  CHECK_FALSE(check_postgres_parameter_size(1, 0));
  CHECK_FALSE(check_postgres_parameter_size(1, max_postgres_parameter_bytes));
  auto over = check_postgres_parameter_size(3, std::size_t{1} << 31);
  CHECK(supervision::describe(over)
        == "sql_error: parameter $3 holds 2147483648 bytes; PostgreSQL takes at most 2147483647 bytes per parameter");
  CHECK(check_postgres_parameter_size(1, std::size_t{1} << 32)); // 4 GiB: cut to an int, a blob was sent as 0 bytes
}

TEST_CASE("a frozen PostgreSQL fails a statement as a timeout within statement_timeout_ms plus 1000 ms, "
          "and once it resumes the next statement runs on a new connection") {
  test::postgres_server server;
  test::event_capture events;
  postgres_pool db{server.url(), 1, {{"statement_timeout_ms", int64_t{200}}}};
  auto pid = db.text("SELECT pg_backend_pid()");
  server.freeze();
  auto began = std::chrono::steady_clock::now();
  auto frozen = db.execute("SELECT 1");
  auto took = std::chrono::steady_clock::now() - began;
  server.resume();
  MESSAGE("the frozen statement failed after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                                                << " ms");
  REQUIRE_FALSE(frozen);
  CHECK(supervision::describe(frozen.error())
        == "timeout: no answer from PostgreSQL at 127.0.0.1:" + std::to_string(server.port())
             + "/postgres within 1200 ms (statement_timeout_ms plus 1000 ms); the connection was closed");
  CHECK(took >= 1200ms);
  CHECK(took < 2700ms);
  auto closed = lost(events, "reopen_on_next_use");
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].target == "127.0.0.1:" + std::to_string(server.port()) + "/postgres");
  CHECK(closed[0].reason.rfind("timeout: no answer from PostgreSQL", 0) == 0);
  CHECK(db.text("SELECT pg_backend_pid()") != pid);
  CHECK(events.of<events::connection_lost>().size() == 1); // opened again without another loss
  CHECK(events.of<events::pool_worker_exited>().empty()); // the same worker, a new connection
}

TEST_CASE("a worker whose PostgreSQL is still frozen at its next statement exits, and the pool refills once it resumes") {
  test::postgres_server server;
  test::event_capture events;
  postgres_pool db{server.url(), 1, {{"statement_timeout_ms", int64_t{200}}}};
  REQUIRE(db.text("SELECT 1") == "1");
  server.freeze();
  auto frozen = db.execute("SELECT 1");
  REQUIRE_FALSE(frozen);
  CHECK(starts_with(frozen.error(), "timeout: no answer from PostgreSQL"));
  // As a message to the worker this time: reopening waits connect_timeout_ms (1000) at most.
  caf::scoped_actor self{db.sys};
  auto began = std::chrono::steady_clock::now();
  auto still = db.pool.transaction([&](const caf::actor& w) {
    return thread_call<sql_rows>(self, w, 10s, execute_atom::value, std::string{"SELECT 1"}, std::vector<sql_value>{});
  });
  auto took = std::chrono::steady_clock::now() - began;
  REQUIRE_FALSE(still);
  CHECK(starts_with(still.error(), "unavailable: cannot connect to PostgreSQL at 127.0.0.1:"));
  CHECK(supervision::describe(still.error()).find("no connection within connect_timeout_ms = 1000") != std::string::npos);
  CHECK(took < 2500ms);
  REQUIRE(events.wait_for<events::pool_worker_exited>(1));
  CHECK(lost(events, "exit").size() == 1);
  server.resume();
  CHECK(eventually([&] { return db.pool.status().idle == 1; }, 20s));
  CHECK(db.text("SELECT 1") == "1");
}

TEST_CASE("1000 concurrent audited updates leave exactly the rows of the updates reported successful") {
  test::postgres_server server;
  postgres_pool db{server.url(), 4};
  REQUIRE(db.execute("CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT)"));
  REQUIRE(db.execute("CREATE TABLE audit (key TEXT, value TEXT)"));
  auto succeeded = test::audited_updates(db.sys, db.pool, "BEGIN");
  CHECK(db.text("SELECT count(*) FROM audit") == std::to_string(succeeded));
  CHECK(succeeded == 1000); // row locks make writers wait; none fails
  CHECK(db.text("SELECT count(*) FROM config") == "10");
}

}
