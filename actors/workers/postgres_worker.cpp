#include "otpp/actors/workers/postgres_worker.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/pool/worker_kinds.hpp"
#include "otpp/actors/workers/sql_parameter_size.hpp"
#include "otpp/actors/workers/sql_session.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::workers {

namespace {

constexpr unsigned bytea_oid = 17; // PostgreSQL's pg_type oid of bytea

// How long after the server's own statement_timeout the client stops waiting.
constexpr std::chrono::milliseconds client_timeout_margin{1000};

struct postgres_settings {
  std::string url;
  std::chrono::milliseconds connect_timeout{5000};
  long long statement_timeout_ms = 0;
  std::string application_name;

  // The client-side bound on one statement: none without statement_timeout_ms.
  std::optional<std::chrono::milliseconds> response_timeout() const {
    if (statement_timeout_ms <= 0)
      return std::nullopt;
    return std::chrono::milliseconds{statement_timeout_ms} + client_timeout_margin;
  }
};

using clock_type = std::chrono::steady_clock;
using result_ptr = std::unique_ptr<PGresult, void (*)(PGresult*)>;

// Waits until the socket is ready for `events` or the deadline passes (false).
bool wait_for(int socket, short events, std::optional<clock_type::time_point> deadline) {
  for (;;) {
    int wait_ms = -1;
    if (deadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock_type::now());
      if (left.count() <= 0)
        return false;
      wait_ms = static_cast<int>(std::min<long long>(left.count(), INT_MAX));
    }
    pollfd p{socket, events, 0};
    int ready = ::poll(&p, 1, wait_ms);
    if (ready > 0)
      return true;
    if (ready < 0 && errno != EINTR)
      return true; // the libpq call that follows reports the socket's trouble
  }
}

// libpq's messages end with a newline.
std::string trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

// The `options` parameter of a libpq URL or connection string, if any.
std::string url_options(const std::string& url) {
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> parsed{PQconninfoParse(url.c_str(), nullptr),
                                                                        PQconninfoFree};
  for (auto* o = parsed.get(); o != nullptr && o->keyword != nullptr; ++o)
    if (std::string{o->keyword} == "options" && o->val != nullptr)
      return o->val;
  return {};
}

// One open connection; closed when it goes.
class connection {
public:
  // Connects without blocking longer than the timeout (libpq's own
  // connect_timeout counts whole seconds, at least 2).
  static caf::expected<std::unique_ptr<connection>> open(const postgres_settings& s) {
    std::vector<const char*> keys{"dbname", "keepalives_idle", "keepalives_interval", "keepalives_count"};
    // TCP keepalives: a dead host or a cut link breaks the connection in ~11 s.
    std::vector<const char*> values{s.url.c_str(), "5", "2", "3"};
    std::string options;
    if (s.statement_timeout_ms > 0) { // else the role's or database's own setting holds
      options = url_options(s.url) + " -c statement_timeout=" + std::to_string(s.statement_timeout_ms);
      keys.push_back("options");
      values.push_back(options.c_str());
    }
    if (!s.application_name.empty()) {
      keys.push_back("application_name");
      values.push_back(s.application_name.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    std::unique_ptr<connection> c{
      new connection(PQconnectStartParams(keys.data(), values.data(), 1), s.response_timeout())};
    if (c->conn_ == nullptr)
      return make_error(db_errc::unavailable, "cannot connect to PostgreSQL: out of memory");
    // Server notices and warnings are events (`database_notice`), not lines on stderr.
    PQsetNoticeProcessor(
      c->conn_,
      [](void* self, const char* message) {
        if (events::has_subscribers())
          events::emit(events::database_notice{connection::kind, static_cast<connection*>(self)->where(), trimmed(message)});
      },
      c.get());
    auto deadline = std::chrono::steady_clock::now() + s.connect_timeout;
    auto state = PQstatus(c->conn_) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK) {
      if (state == PGRES_POLLING_FAILED)
        return c->unavailable(trimmed(PQerrorMessage(c->conn_)));
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{PQsocket(c->conn_), static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
      int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
      if (ready < 0 && errno == EINTR)
        continue;
      if (ready <= 0)
        return c->unavailable("no connection within connect_timeout_ms = " + std::to_string(s.connect_timeout.count()));
      state = PQconnectPoll(c->conn_);
    }
    return c;
  }

  ~connection() { PQfinish(conn_); }

  PGconn* raw() const { return conn_; }

  caf::expected<sql_rows> execute(const std::string& sql, const std::vector<sql_value>& params) {
    if (sql.find('\0') != std::string::npos)
      return make_error(db_errc::sql_error, "the SQL text contains a NUL byte");
    if (params.size() > 65535)
      return make_error(db_errc::sql_error, "PostgreSQL takes at most 65535 parameters, got " + std::to_string(params.size()));
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    for (std::size_t i = 0; i < params.size(); ++i) {
      auto& p = params[i];
      if (!p.null && !p.binary && p.bytes.find('\0') != std::string::npos)
        return make_error(db_errc::sql_error, "parameter $" + std::to_string(i + 1)
                                                + ": PostgreSQL text cannot hold a NUL byte; bind it as sql_value::blob (bytea)");
      if (auto err = check_postgres_parameter_size(i + 1, p.null ? 0 : p.bytes.size()))
        return err;
      values.push_back(p.null ? nullptr : p.bytes.data());
      lengths.push_back(static_cast<int>(p.bytes.size()));
      formats.push_back(p.binary ? 1 : 0); // the server infers each parameter's type
    }
    auto answered = exchange(sql, values, lengths, formats);
    if (!answered)
      return answered.error();
    auto& result = *answered;
    auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY)
      return sql_rows{};
    if (status != PGRES_TUPLES_OK)
      return make_error(db_errc::sql_error,
                        trimmed(result ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn_)));
    sql_rows rows;
    auto* r = result.get();
    for (int t = 0; t < PQntuples(r); ++t) {
      sql_row row;
      for (int c = 0; c < PQnfields(r); ++c) {
        if (PQgetisnull(r, t, c)) {
          row.push_back(sql_value::none());
          continue;
        }
        auto* text = PQgetvalue(r, t, c);
        if (PQftype(r, c) != bytea_oid) {
          row.push_back(sql_value::of(std::string(text, static_cast<std::size_t>(PQgetlength(r, t, c)))));
          continue;
        }
        std::size_t size = 0;
        std::unique_ptr<unsigned char, void (*)(void*)> bytes{
          PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &size), PQfreemem};
        if (!bytes)
          return make_error(db_errc::sql_error, "cannot decode a bytea value: out of memory");
        row.push_back(sql_value::blob(std::string(reinterpret_cast<const char*>(bytes.get()), size)));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  bool healthy() {
    if (broken())
      return false;
    // In an aborted transaction every query fails until ROLLBACK; the connection itself is fine.
    return PQtransactionStatus(conn_) == PQTRANS_INERROR || static_cast<bool>(execute("SELECT 1", {}));
  }

  static constexpr const char* kind = "postgres";
  static constexpr const char* product = "PostgreSQL";

  // After user code: whether it left the connection broken, and why.
  bool broken() const { return timed_out_ || PQstatus(conn_) != CONNECTION_OK; }
  std::string failure_text() const { return trimmed(PQerrorMessage(conn_)); }

  // Where it connects to: host:port/database (never the password).
  std::string location() const { return where(); }

  std::string where() const {
    return std::string{PQhost(conn_) ? PQhost(conn_) : "?"} + ":" + (PQport(conn_) ? PQport(conn_) : "?") + "/"
           + (PQdb(conn_) ? PQdb(conn_) : "?");
  }

private:
  connection(PGconn* conn, std::optional<std::chrono::milliseconds> response_timeout)
    : conn_(conn), response_timeout_(response_timeout) {}

  // Sends the statement and waits for its result without blocking past the
  // client-side bound (libpq's non-blocking calls): the result (as PQexecParams
  // gives it), an sql_error from libpq, or a timeout that leaves the
  // connection broken.
  caf::expected<result_ptr> exchange(const std::string& sql, const std::vector<const char*>& values,
                                     const std::vector<int>& lengths, const std::vector<int>& formats) {
    std::optional<clock_type::time_point> deadline;
    if (response_timeout_)
      deadline = clock_type::now() + *response_timeout_;
    if (PQsetnonblocking(conn_, 1) != 0
        || !PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                              lengths.data(), formats.data(), 0))
      return libpq_failure();
    for (int pending; (pending = PQflush(conn_)) != 0;) {
      if (pending < 0)
        return libpq_failure();
      if (!wait_for(PQsocket(conn_), POLLIN | POLLOUT, deadline))
        return timed_out();
      if (!PQconsumeInput(conn_))
        return libpq_failure();
    }
    result_ptr last{nullptr, PQclear};
    for (;;) {
      while (!PQisBusy(conn_)) {
        result_ptr next{PQgetResult(conn_), PQclear};
        if (!next) { // the statement is done
          PQsetnonblocking(conn_, 0); // user code on the raw connection expects blocking calls
          return last;
        }
        auto status = PQresultStatus(next.get());
        if (!last || PQresultStatus(last.get()) != PGRES_FATAL_ERROR) // the first error stays
          last = std::move(next);
        if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH)
          return last; // as PQexecParams: COPY is not an answer this call can finish
      }
      if (!wait_for(PQsocket(conn_), POLLIN, deadline))
        return timed_out();
      if (!PQconsumeInput(conn_))
        return libpq_failure();
    }
  }

  caf::error libpq_failure() const { return make_error(db_errc::sql_error, trimmed(PQerrorMessage(conn_))); }

  caf::error timed_out() {
    timed_out_ = true;
    return make_error(db_errc::timeout, "no answer from PostgreSQL at " + where() + " within "
                                          + std::to_string(response_timeout_->count())
                                          + " ms (statement_timeout_ms plus "
                                          + std::to_string(client_timeout_margin.count())
                                          + " ms); the connection was closed");
  }

  caf::error unavailable(const std::string& why) const {
    return make_error(db_errc::unavailable, "cannot connect to PostgreSQL at " + where() + ": " + why);
  }

  PGconn* conn_;
  std::optional<std::chrono::milliseconds> response_timeout_; ///< none: wait as long as the server takes
  bool timed_out_ = false;                                    ///< abandoned: no answer within the bound
};

} // namespace

void register_postgres_kind() {
  static const bool registered = [] {
    using namespace supervision;
    pool::register_worker_kind(
      "postgres",
      {string_arg("url").required().non_empty(), integer_arg("connect_timeout_ms", 1, 3'600'000).defaults(5000),
       integer_arg("statement_timeout_ms", 0, INT32_MAX).defaults(0), string_arg("application_name")},
      [](start_context& ctx, const pool::worker_args& args) -> caf::expected<caf::actor> {
        postgres_settings s;
        s.url = args.get_string("url");
        s.connect_timeout = std::chrono::milliseconds{args.get_int("connect_timeout_ms")};
        s.statement_timeout_ms = args.get_int("statement_timeout_ms");
        if (args.has("application_name"))
          s.application_name = args.get_string("application_name");
        auto opened = connection::open(s); // a failure is the pool's start_error
        if (!opened)
          return opened.error();
        return spawn_sql_worker<connection, postgres_settings, postgres_operation>(ctx, std::move(*opened), s);
      });
    return true;
  }();
  (void) registered;
}

} // namespace otpp::workers
