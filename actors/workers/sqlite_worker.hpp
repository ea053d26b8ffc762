#pragma once

#include <functional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/message.hpp>

#include "otpp/actors/workers/db_errors.hpp"
#include "otpp/actors/workers/sql.hpp"

struct sqlite3;

namespace otpp::workers {

/// Code that runs on a worker's live connection (plain sqlite3 calls); its
/// returned message is the reply.
using sqlite_operation = std::function<caf::message(sqlite3*)>;

/// Messages of a `sqlite` worker: (execute_atom, sql, params) -> sql_rows
/// (sql.hpp) and (run_atom, sqlite_operation) -> the operation's reply.
///
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

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::workers::sqlite_operation)
