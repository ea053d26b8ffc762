#include "otpp/actors/workers/sqlite_worker.hpp"

#include <sqlite3.h>

#include "otpp/actors/pool/worker_kinds.hpp"
#include "otpp/actors/workers/sql_session.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::workers {

namespace {

struct sqlite_settings {
  std::string path;
  long long busy_timeout_ms = 5000;
  std::string journal_mode = "wal";
};

// One open connection; closed when it goes.
class connection {
public:
  static caf::expected<std::unique_ptr<connection>> open(const sqlite_settings& s) {
    sqlite3* db = nullptr;
    auto rc = sqlite3_open_v2(s.path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                              nullptr);
    std::unique_ptr<connection> c{new connection(db, s.path)};
    if (rc != SQLITE_OK)
      return make_error(db_errc::unavailable, "cannot open SQLite database '" + s.path + "': " + c->error_text());
    sqlite3_busy_timeout(db, static_cast<int>(s.busy_timeout_ms));
    if (auto r = c->execute("PRAGMA journal_mode=" + s.journal_mode, {}); !r)
      return make_error(db_errc::unavailable, "SQLite database '" + s.path + "': " + supervision::describe(r.error()));
    return c;
  }

  ~connection() { sqlite3_close_v2(db_); }

  sqlite3* raw() const { return db_; }

  caf::expected<sql_rows> execute(const std::string& sql, const std::vector<sql_value>& params) {
    sqlite3_stmt* stmt = nullptr;
    const char* rest = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, &rest) != SQLITE_OK)
      return make_error(db_errc::sql_error, error_text());
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard{stmt, sqlite3_finalize};
    if (stmt == nullptr) // only whitespace or comments
      return sql_rows{};
    // SQLite would silently ignore what follows the first statement.
    sqlite3_stmt* next = nullptr;
    auto rest_size = static_cast<int>(sql.size() - static_cast<std::size_t>(rest - sql.c_str()));
    auto more = sqlite3_prepare_v2(db_, rest, rest_size, &next, nullptr) != SQLITE_OK || next != nullptr;
    sqlite3_finalize(next);
    if (more) {
      return make_error(db_errc::sql_error, "one statement per call, got more: '" + std::string{rest} + "'");
    }
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt))
      return make_error(db_errc::sql_error, "the statement takes " + std::to_string(sqlite3_bind_parameter_count(stmt))
                                              + " parameters, got " + std::to_string(params.size()));
    for (int i = 0; i < static_cast<int>(params.size()); ++i) {
      auto& p = params[static_cast<std::size_t>(i)];
      auto rc = p.null     ? sqlite3_bind_null(stmt, i + 1)
                : p.binary ? sqlite3_bind_blob64(stmt, i + 1, p.bytes.data(), p.bytes.size(), SQLITE_TRANSIENT)
                           : sqlite3_bind_text64(stmt, i + 1, p.bytes.data(), p.bytes.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      if (rc != SQLITE_OK)
        return make_error(db_errc::sql_error, error_text());
    }
    sql_rows rows;
    for (;;) {
      auto rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE)
        return rows;
      if (rc != SQLITE_ROW)
        return make_error(db_errc::sql_error, error_text());
      sql_row row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        auto type = sqlite3_column_type(stmt, c);
        if (type == SQLITE_NULL) {
          row.push_back(sql_value::none());
          continue;
        }
        auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt, c));
        std::string value(bytes ? bytes : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, c)));
        row.push_back(type == SQLITE_BLOB ? sql_value::blob(std::move(value)) : sql_value::of(std::move(value)));
      }
      rows.push_back(std::move(row));
    }
  }

  bool healthy() { return static_cast<bool>(execute("SELECT 1", {})); }

  static constexpr const char* kind = "sqlite";
  static constexpr const char* product = "SQLite";

  // User code cannot leave an open SQLite handle broken: a failure shows in its next statement.
  bool broken() const { return false; }
  std::string failure_text() const { return error_text(); }

  std::string location() const { return path_; }

private:
  connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  std::string error_text() const { return db_ ? sqlite3_errmsg(db_) : "out of memory"; }
  sqlite3* db_;
  std::string path_;
};

} // namespace

void register_sqlite_kind() {
  static const bool registered = [] {
    using namespace supervision;
    pool::register_worker_kind(
      "sqlite",
      {string_arg("path").required().non_empty(), integer_arg("busy_timeout_ms", 0, INT32_MAX).defaults(5000),
       choice_arg("journal_mode", {"delete", "truncate", "persist", "memory", "wal", "off"}).defaults("wal")},
      [](start_context& ctx, const pool::worker_args& args) -> caf::expected<caf::actor> {
        sqlite_settings s;
        s.path = args.get_string("path");
        s.busy_timeout_ms = args.get_int("busy_timeout_ms");
        s.journal_mode = args.get_string("journal_mode");
        auto opened = connection::open(s); // a failure is the pool's start_error
        if (!opened)
          return opened.error();
        // SQLite calls block, a busy wait for the write lock included.
        return spawn_sql_worker<connection, sqlite_settings, sqlite_operation>(ctx, std::move(*opened), s);
      });
    return true;
  }();
  (void) registered;
}

} // namespace otpp::workers
