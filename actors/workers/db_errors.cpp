#include "otpp/actors/workers/db_errors.hpp"

#include "otpp/supervision/errors.hpp"

namespace otpp::workers {

std::string to_string(db_errc code) {
  switch (code) {
    case db_errc::sql_error: return "sql_error";
    case db_errc::connection_reset: return "connection_reset";
    case db_errc::unavailable: return "unavailable";
    case db_errc::timeout: return "timeout";
  }
  return "unknown_db_errc";
}

caf::error make_error(db_errc code, std::string text) {
  return supervision::make_categorized_error(db_errc_category, static_cast<uint8_t>(code), std::move(text));
}

namespace {

const bool db_errors_named = [] {
  supervision::add_error_names(db_errc_category, [](uint8_t code) { return to_string(static_cast<db_errc>(code)); });
  return true;
}();

} // namespace

} // namespace otpp::workers
