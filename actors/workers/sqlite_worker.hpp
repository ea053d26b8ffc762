#pragma once

#include <functional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/message.hpp>

#include "actors/workers/db_errors.hpp"
#include "supervision/child_spec.hpp"

struct sqlite3;

namespace otpp::workers {

/// A SQL value: NULL, or any bytes (quotes and NULs included), bound as text.
struct sql_value {
  bool null = true;
  std::string bytes;

  static sql_value of(std::string bytes) { return {false, std::move(bytes)}; }
  static sql_value none() { return {}; }
  bool operator==(const sql_value& other) const { return null == other.null && bytes == other.bytes; }
};

using sql_row = std::vector<sql_value>;
using sql_rows = std::vector<sql_row>;

/// Code that runs on a worker's live connection (plain sqlite3 calls); its
/// returned message is the reply.
using sqlite_operation = std::function<caf::message(sqlite3*)>;

/// Messages of a database worker:
/// - (execute_atom, std::string sql, std::vector<sql_value> params) -> sql_rows
/// - (run_atom, sqlite_operation) -> whatever the operation returns
using execute_atom = caf::atom_constant<caf::atom("execute")>;

/// Registers the `sqlite` worker kind: one connection per worker to `path`
/// (required), `busy_timeout_ms` (default 5000), `journal_mode` (default
/// `wal`). The connection opens when the worker starts (a failure is the
/// pool's start_error); after a failed operation the worker checks the
/// connection (`SELECT 1`) and, if it is broken, opens it again and answers
/// `connection_reset`; if it cannot, the worker exits and the pool replaces
/// it. The connection closes when the worker ends. Called once by otpp's
/// node; idempotent.
void register_sqlite_kind();

} // namespace otpp::workers

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::workers::sql_value)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<otpp::workers::sql_value>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::workers::sql_rows)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::workers::sqlite_operation)
