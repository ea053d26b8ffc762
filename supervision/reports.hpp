#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
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

/// The kind of a report, one per `report_*` function above.
enum class report_kind {
  child_started,
  child_terminated,
  start_error,
  shutdown_error,
  reached_max_restart_intensity,
  supervisor_shutdown,
};

/// The name the log records carry, e.g. "child_terminated".
std::string to_string(report_kind kind);

/// How serious a report is: the level of its log record.
enum class report_severity { info, error };

/// One report as a typed value, with the fields of its log record.
struct report {
  report_kind kind = report_kind::child_started;
  report_severity severity = report_severity::info;
  std::chrono::system_clock::time_point time; ///< when it was made
  std::string supervisor; ///< the supervisor's (or pool's) name
  std::string strategy;   ///< its strategy, e.g. "one_for_one" ("pool" for a pool)
  std::string child;      ///< the child's id; empty for `supervisor_shutdown`
  std::string reason;     ///< as `describe` renders it; empty for `child_started`
  std::size_t restarts = 0;
};

/// Receives every report made after it subscribed.
using report_callback = std::function<void(const report&)>;

/// Identifies one subscription; never 0.
using report_subscription = uint64_t;

/// Calls `callback` with every report from now on, process-wide, whatever
/// the report logger's level and format (the log records stay as they are).
/// It runs synchronously on the thread that makes the report (often a
/// supervisor's scheduler thread, which waits meanwhile), possibly on several
/// threads at once: it must be thread-safe and quick, and hand slow work to
/// another thread or actor; an exception escaping it is dropped.
report_subscription subscribe_reports(report_callback callback);

/// Ends a subscription; false if `id` is unknown. No call starts after it
/// returns, but a call already running on another thread may still finish
/// (the callback object lives until then: keep what it uses alive through it).
bool unsubscribe_reports(report_subscription id);

/// `text` as a JSON string literal, quotes included.
std::string json_quote(const std::string& text);

} // namespace otpp::supervision
