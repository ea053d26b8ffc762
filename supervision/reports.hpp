#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace otpp::supervision {

/// How report records are written.
enum class report_format {
  text, ///< `child_terminated supervisor=root child=db reason="exception: boom" restarts=2 strategy=one_for_one`
  ///  (a value with spaces, quotes or '=' is JSON-quoted)
  json, ///< one JSON object per line: {"time":..,"level":..,"report":"child_terminated","supervisor":"root",...}
};

/// The spdlog logger ("otpp") that carries every supervisor report; stderr by default.
std::shared_ptr<spdlog::logger> report_logger();

/// Switches the report logger's line format.
void set_report_format(report_format format);

/// The fixed fields every report of one supervisor carries.
struct report_origin {
  std::string supervisor;
  std::string strategy;
};

/// One function per OTP (SASL) report kind; each writes one record with the
/// same fixed fields: supervisor, child, reason, restarts, strategy.
/// child_started (info): a child's incarnation is running.
void report_child_started(const report_origin& origin, const std::string& child, std::size_t restarts);
/// child_terminated (error): a child ended by itself with an abnormal reason (or was permanent).
void report_child_terminated(const report_origin& origin, const std::string& child,
                             const std::string& reason, std::size_t restarts);
/// start_error (error): a child's start function failed.
void report_start_error(const report_origin& origin, const std::string& child,
                        const std::string& reason, std::size_t restarts);
/// shutdown_error (error): a child did not stop as asked (e.g. "killed" after its timeout).
void report_shutdown_error(const report_origin& origin, const std::string& child,
                           const std::string& reason, std::size_t restarts);
/// reached_max_restart_intensity (error): the supervisor gives up.
void report_max_intensity(const report_origin& origin, const std::string& child,
                          const std::string& reason, std::size_t restarts);
/// supervisor_shutdown (info for normal/shutdown reasons, else error): the supervisor ends;
/// `restarts` counts all restarts it made, `child` is empty.
void report_supervisor_shutdown(const report_origin& origin, const std::string& reason,
                                std::size_t restarts, bool normal);

/// `text` as a JSON string literal, quotes included.
std::string json_quote(const std::string& text);

} // namespace otpp::supervision
