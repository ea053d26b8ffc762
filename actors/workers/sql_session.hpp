#pragma once
// For SQL worker kinds (their sources only): the session of one worker over
// the kind's connection class, and the spawn of such a worker.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "otpp/actors/workers/sql.hpp"
#include "otpp/supervision/child_spec.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/reports.hpp"

namespace otpp::workers {

/// A worker's connection, used by the worker actor and by the threads that
/// `execute` on it; one operation at a time. `Connection` has
/// `static open(const Settings&) -> caf::expected<std::unique_ptr<Connection>>`,
/// `execute(sql, params)`, `healthy()`, `raw()`, `broken()` (after user code)
/// with `failure_text()`, `location()` (a `key=value` field for log lines),
/// and `kind` ("postgres") and `product` ("PostgreSQL") names.
template <class Connection, class Settings, class Operation>
class basic_sql_session final : public sql_session {
public:
  basic_sql_session(std::unique_ptr<Connection> c, Settings s) : c_(std::move(c)), s_(std::move(s)) {}

  caf::expected<sql_rows> execute(const std::string& sql, const std::vector<sql_value>& params) override {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!c_)
      return gone();
    auto r = c_->execute(sql, params);
    if (r || c_->healthy())
      return r;
    return reconnect(supervision::describe(r.error()));
  }

  /// Runs user code on the connection; one it leaves broken is opened again for the next operation.
  caf::message run(const Operation& op) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!c_)
      return caf::make_message(gone());
    auto reply = op(c_->raw());
    if (c_->broken())
      reconnect(c_->failure_text());
    return reply;
  }

private:
  static caf::error gone() {
    return make_error(db_errc::unavailable, "the worker could not reconnect and is ending");
  }

  // After the health check failed: connection_reset for the operation, or
  // the worker exits (its pool replaces it; the supervisor's intensity
  // limits the storm).
  caf::error reconnect(const std::string& why) {
    auto where = c_->location();
    auto& log = *supervision::report_logger();
    log.warn("worker_health_check_failed kind={} {} reason={} action=reconnect", Connection::kind, where,
             supervision::json_quote(why));
    c_.reset();
    auto again = Connection::open(s_);
    if (!again) {
      log.error("worker_reconnect_failed kind={} {} reason={} action=exit", Connection::kind, where,
                supervision::json_quote(supervision::describe(again.error())));
      give_up(again.error());
      return again.error();
    }
    c_ = std::move(*again);
    log.info("worker_reconnected kind={} {}", Connection::kind, where);
    return make_error(db_errc::connection_reset,
                      std::string{"the "} + Connection::product + " connection was opened again: " + why);
  }

  std::mutex mtx_;
  std::unique_ptr<Connection> c_;
  const Settings s_;
};

/// A SQL worker's behavior over its session.
template <class Session, class Operation>
caf::behavior sql_worker(caf::event_based_actor*, std::shared_ptr<Session> session) {
  return {
    [session](execute_atom, const std::string& sql, const std::vector<sql_value>& params) -> caf::result<sql_rows> {
      auto r = session->execute(sql, params);
      if (r)
        return std::move(*r);
      return std::move(r.error());
    },
    [session](run_atom, const Operation& op) { return session->run(op); },
  };
}

/// Spawns a SQL worker over a connection just opened, on a thread of its
/// own (its calls block), reachable by `execute` while it lives.
template <class Connection, class Settings, class Operation>
caf::actor spawn_sql_worker(supervision::start_context& ctx, std::unique_ptr<Connection> c, Settings s) {
  using session_type = basic_sql_session<Connection, Settings, Operation>;
  auto session = std::make_shared<session_type>(std::move(c), std::move(s));
  auto worker = ctx.spawn_detached(sql_worker<session_type, Operation>, session);
  register_session(worker, session);
  return worker;
}

} // namespace otpp::workers
