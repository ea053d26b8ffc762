#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>

#include "otpp/actors/pool/direct_resource.hpp"
#include "otpp/actors/workers/db_errors.hpp"

namespace otpp::workers {

/// A SQL value: NULL, or bytes. Text values are bound as text; `blob` values
/// are bound as binary data (SQLite BLOB, PostgreSQL bytea), which is how
/// bytes that text cannot hold (a NUL in PostgreSQL) are stored exactly.
/// Rows come back with the exact bytes: bytea and BLOB columns as blobs.
struct sql_value {
  bool null = true;
  bool binary = false;
  std::string bytes;

  static sql_value of(std::string text) { return {false, false, std::move(text)}; }
  static sql_value blob(std::string bytes) { return {false, true, std::move(bytes)}; }
  static sql_value none() { return {}; }
  /// Equal when both are NULL or hold the same bytes (text or blob alike).
  bool operator==(const sql_value& other) const { return null == other.null && bytes == other.bytes; }
};

using sql_row = std::vector<sql_value>;
using sql_rows = std::vector<sql_row>;

/// The SQL workers' convenience message:
/// (execute_atom, std::string sql, std::vector<sql_value> params) -> sql_rows.
/// One statement; parameters are always bound, never pasted into the SQL.
/// Placeholders `$1`, `$2`, ... work on both SQLite and PostgreSQL.
using execute_atom = caf::atom_constant<caf::atom("execute")>;

/// Runs one statement on a checked-out SQL worker from a plain thread. When
/// the worker lives in this process, the statement runs on the calling
/// thread over the worker's own connection, as DBConnection does for Elixir
/// callers: no message and no thread switch, and the same health check,
/// reconnect and `connection_reset` as the worker's execute message (hold
/// the worker's lease: it makes the caller the connection's only user).
/// Else (a worker of another kind or node, or one that has ended) it is the
/// request (execute_atom, sql, params) from `self`, bounded by `timeout`.
/// A statement on the calling thread is bounded by the kind's own timeouts
/// (SQLite's busy_timeout_ms; PostgreSQL's statement_timeout_ms, and the
/// client stops waiting 1000 ms after it: a `db_errc::timeout` error).
caf::expected<sql_rows> execute(caf::scoped_actor& self, const caf::actor& worker, const std::string& sql,
                                const std::vector<sql_value>& params,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// For SQL worker kinds: a worker's connection, shared by the worker actor
/// and the threads that `execute` on it (the worker's direct resource, see
/// `pool::offer_direct`). Implementations lock internally.
class sql_session : public pool::direct_resource {
public:
  /// Runs one statement with the kind's rules (health check after a
  /// failure, reconnect and `connection_reset`, or `give_up`: the worker
  /// exits and its pool replaces it).
  virtual caf::expected<sql_rows> execute(const std::string& sql, const std::vector<sql_value>& params) = 0;
};

} // namespace otpp::workers

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::workers::sql_value)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<otpp::workers::sql_value>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::workers::sql_rows)
