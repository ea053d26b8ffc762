#pragma once

#include <functional>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/message.hpp>

#include "otpp/actors/workers/db_errors.hpp"
#include "otpp/actors/workers/sql.hpp"

struct pg_conn;

namespace otpp::workers {

/// Code that runs on a worker's live connection (plain libpq calls on the
/// `PGconn*`); its returned message is the reply.
using postgres_operation = std::function<caf::message(pg_conn*)>;

/// Messages of a `postgres` worker: (execute_atom, sql, params) -> sql_rows
/// (sql.hpp; `$1`-style placeholders, text values bound as text, blobs as
/// bytea) and (run_atom, postgres_operation) -> the operation's reply.
///
/// Registers the `postgres` worker kind: one libpq connection per worker to
/// `url` (required, `postgresql://user[:password]@host[:port]/db`, any libpq
/// URI or key=value string), `connect_timeout_ms` (default 5000: a bound on
/// the TCP connection and login, to the millisecond; host names are resolved
/// before it, unbounded), `statement_timeout_ms` (default 0: the role's or
/// database's setting; the server cancels longer statements, a `sql_error`;
/// added to the URL's own `options`; when set, the worker stops waiting
/// `statement_timeout_ms` + 1000 ms after sending a statement: a `timeout`
/// error, the connection closed and opened again before the next operation),
/// optional `application_name`. TCP keepalives break a connection to a dead
/// host or over a cut link in about 11 s; without `statement_timeout_ms`, a
/// server process that stops answering with its connection open (frozen)
/// blocks the worker until it answers. A parameter over 2^31 - 1 bytes is
/// refused (`sql_error`).
/// The connection opens when the worker starts (a failure is the pool's
/// start_error). After a failed operation the worker checks the connection
/// (`PQstatus`, then `SELECT 1` unless a transaction is aborted): a working
/// one answers the error as `sql_error`; a broken one is opened again and the
/// operation answers `connection_reset`, or the worker exits when it cannot
/// reconnect (the pool replaces it). Closed when the worker ends. Idempotent.
void register_postgres_kind();

} // namespace otpp::workers

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::workers::postgres_operation)
