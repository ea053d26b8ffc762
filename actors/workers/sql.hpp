#pragma once

#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

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

} // namespace otpp::workers

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::workers::sql_value)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<otpp::workers::sql_value>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::workers::sql_rows)
