#pragma once

#include <climits>
#include <cstddef>
#include <string>

#include <caf/error.hpp>

#include "otpp/actors/workers/db_errors.hpp"

namespace otpp::workers {

/// The most bytes one bound parameter may hold on PostgreSQL: libpq counts a
/// parameter's length in an `int` (2 GiB - 1). The server itself refuses
/// values over 1 GB with its own error.
constexpr std::size_t max_postgres_parameter_bytes = INT_MAX;

/// An `sql_error` naming parameter `$number` (from 1) when its `bytes` exceed
/// `max_postgres_parameter_bytes`, or none.
inline caf::error check_postgres_parameter_size(std::size_t number, std::size_t bytes) {
  if (bytes <= max_postgres_parameter_bytes)
    return {};
  return make_error(db_errc::sql_error, "parameter $" + std::to_string(number) + " holds " + std::to_string(bytes)
                                          + " bytes; PostgreSQL takes at most "
                                          + std::to_string(max_postgres_parameter_bytes) + " bytes per parameter");
}

} // namespace otpp::workers
