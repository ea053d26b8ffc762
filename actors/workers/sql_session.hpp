#pragma once
// For SQL worker kinds (their sources only): the session of one worker over
// the kind's connection class, and the spawn of such a worker.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/workers/sql.hpp"
#include "otpp/supervision/child_spec.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::workers {

/// A worker's connection, used by the worker actor and by the threads that
/// `execute` on it; one operation at a time. `Connection` has
/// `static open(const Settings&) -> caf::expected<std::unique_ptr<Connection>>`,
/// `execute(sql, params)` (a `db_errc::timeout` error when it stopped waiting
/// for the server: the connection is then closed), `healthy()`, `raw()`,
/// `broken()` (after user code) with `failure_text()`, `location()` (what it
/// connects to, without secrets: the `target` of its events), and `kind`
/// ("postgres") and `product` ("PostgreSQL") names.
template <class Connection, class Settings, class Operation>
class basic_sql_session final : public sql_session {
public:
  basic_sql_session(std::unique_ptr<Connection> c, Settings s)
    : c_(std::move(c)), s_(std::move(s)), where_(c_->location()) {}

  caf::expected<sql_rows> execute(const std::string& sql, const std::vector<sql_value>& params) override {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto err = ready())
      return err;
    auto r = c_->execute(sql, params);
    if (r)
      return r;
    if (is_timeout(r.error()))
      return close(std::move(r.error()));
    if (c_->healthy())
      return r;
    return reconnect(supervision::describe(r.error()));
  }

  /// Runs user code on the connection; one it leaves broken is opened again for the next operation.
  caf::message run(const Operation& op) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto err = ready())
      return caf::make_message(err);
    auto reply = op(c_->raw());
    if (c_->broken())
      reconnect(c_->failure_text());
    return reply;
  }

private:
  static caf::error gone() {
    return make_error(db_errc::unavailable, "the worker could not reconnect and is ending");
  }

  static bool is_timeout(const caf::error& err) {
    return err.category() == db_errc_category && err.code() == static_cast<uint8_t>(db_errc::timeout);
  }

  // A connection to use: the open one, or one opened again after a timeout
  // closed the last; else the reason there is none.
  caf::error ready() {
    if (c_)
      return {};
    if (!reopen_)
      return gone();
    reopen_ = false;
    return open_again();
  }

  // After a client-side timeout: the connection is dropped at once (the call
  // fails within its bound) and opened again before the next operation.
  caf::error close(caf::error why) {
    lost(supervision::describe(why), "reopen_on_next_use");
    c_.reset();
    reopen_ = true;
    return why;
  }

  // After the health check failed: connection_reset for the operation, or
  // the worker exits (its pool replaces it; the supervisor's intensity
  // limits the storm).
  caf::error reconnect(const std::string& why) {
    lost(why, "reconnect");
    c_.reset();
    if (auto err = open_again())
      return err;
    return make_error(db_errc::connection_reset,
                      std::string{"the "} + Connection::product + " connection was opened again: " + why);
  }

  // Opens the connection again, or makes the worker exit.
  caf::error open_again() {
    auto again = Connection::open(s_);
    if (!again) {
      lost(supervision::describe(again.error()), "exit");
      give_up(again.error());
      return again.error();
    }
    c_ = std::move(*again);
    return {};
  }

  void lost(std::string why, const char* action) {
    events::emit(events::connection_lost{Connection::kind, where_, std::move(why), action});
  }

  std::mutex mtx_;
  std::unique_ptr<Connection> c_; ///< none: closed after a timeout (reopen_) or the worker is ending
  bool reopen_ = false;
  const Settings s_;
  const std::string where_; ///< the connection's location(), for events
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
  pool::offer_direct(worker, session);
  return worker;
}

} // namespace otpp::workers
