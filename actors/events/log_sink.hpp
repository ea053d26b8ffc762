#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "otpp/actors/events/bus.hpp"

namespace spdlog::sinks {
class sink;
}

namespace otpp::events {

/// How log lines look.
enum class log_format {
  /// `2026-12-02T14:15:17.123456Z error child_terminated node="web" supervisor="root" child="db"
  /// reason="exception: boom" restarts=2`: strings always quoted and escaped
  /// (no name or reason can forge a line), numbers and booleans bare.
  text,
  /// One JSON object per line: `time` (RFC 3339, UTC, microseconds), `level`,
  /// `event`, `node`, then the event's fields as typed JSON values.
  json,
};

/// What the log writes and how it protects itself (OTP logger's overload
/// protection: a burst limit, then one summary line; a bounded queue).
struct log_options {
  log_format format = log_format::text;
  level min_level = level::info;
  std::string node; ///< the `node` of every line; empty outside a node
  /// At most `burst_limit_max_count` events of one kind about one component
  /// (e.g. pool_worker_exited of pool "database") per `burst_limit_window`;
  /// the rest are counted and summarised in one line when the window ends,
  /// an `events_dropped` line (level warning): in text
  /// `... events_dropped node="web" dropped 4312 pool_worker_exited events of pool "database" in 1 s`,
  /// in JSON with the fields `cause` ("burst_limit"), `dropped_event`,
  /// `component_kind`, `component`, `dropped` and `window_ms`.
  bool burst_limit_enable = true;
  std::size_t burst_limit_max_count = 50;
  std::chrono::milliseconds burst_limit_window{1000};
  /// Lines waiting for the writer thread beyond which new events are dropped
  /// instead of queued: a slow sink never blocks the emitting actor. Once the
  /// writer takes the queue, an `events_dropped` line says how many:
  /// `dropped 17 events: the log writer fell behind` (in JSON `cause`
  /// "writer_behind" and `dropped`).
  std::size_t drop_mode_qlen = 1000;
};

/// Writes one finished line (without its newline); called on the sink's own thread.
using line_writer = std::function<void(std::string_view line)>;

/// Writes to stderr.
line_writer stderr_writer();

/// Writes through a spdlog sink (a file, a rotating file, syslog, ...),
/// flushing it after each line; sets the sink's pattern to "%v" (the line is
/// the whole message).
line_writer spdlog_writer(std::shared_ptr<spdlog::sinks::sink> sink);

/// The line of `r` in `format`, with `node` as its node.
std::string format_line(const record& r, log_format format, const std::string& node);

/// A log: subscribes to the events at construction, filters by level, applies
/// the burst limit on the emitting thread (a few counter updates), formats
/// and writes on its own thread. Unsubscribes, writes what is queued and
/// stops its thread when destroyed.
class log_sink {
public:
  explicit log_sink(log_options options, line_writer writer = stderr_writer());
  ~log_sink();
  log_sink(const log_sink&) = delete;
  log_sink& operator=(const log_sink&) = delete;

  /// Changes the options from the next event on.
  void set_options(log_options options);

  /// Ends the burst limit's current window (its summaries are queued), then
  /// waits until every line queued so far is written (tests, shutdown).
  void flush();

  struct state;

private:
  std::shared_ptr<state> state_;
  subscription subscription_ = 0;
};

/// The process's log: a text log to stderr at level info, started at the
/// first event emitted unless `configure_log` or `disable_log` came first
/// (so a program that configures nothing still sees its supervisors'
/// reports, as with OTP's default logger).
/// Replaces the process log's options and writer: the previous log writes
/// what it queued and stops first.
void configure_log(log_options options, line_writer writer = stderr_writer());

/// Turns the process log off (events still reach other subscribers).
void disable_log();

/// Waits until the process log has written what is queued (as `log_sink::flush`);
/// also runs at a normal exit.
void flush_log();

namespace detail {
/// Starts the default process log unless it was configured or disabled; `emit` calls it.
void ensure_process_log();
} // namespace detail

} // namespace otpp::events
