#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace otpp::workers {

/// Errors of connection workers (category `db_errc_category`), rendered by name.
enum class db_errc : uint8_t {
  sql_error = 1,    ///< the statement or command failed; the connection is fine
  connection_reset, ///< the connection broke during this operation and was opened again
  unavailable,      ///< cannot open the connection
  timeout,          ///< no answer within the client-side bound; the connection was closed and opens again before the next operation
};

constexpr caf::atom_value db_errc_category = caf::atom("otpp_db");

std::string to_string(db_errc code);
caf::error make_error(db_errc code, std::string text);

/// Runs user code on a worker's live connection: (run_atom, operation) -> its reply.
using run_atom = caf::atom_constant<caf::atom("run")>;

} // namespace otpp::workers
