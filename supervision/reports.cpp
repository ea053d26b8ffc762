#include "otpp/supervision/reports.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <utility>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace otpp::supervision {

namespace {

constexpr const char* text_pattern = "%Y-%m-%d %H:%M:%S.%e %^%l%$ [%n] %v";
constexpr const char* json_pattern =
  R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v})";

std::atomic<report_format> current_format{report_format::text};

std::string text_value(const std::string& value) {
  bool plain = !value.empty() && value.find_first_of(" \"=\\\n") == std::string::npos;
  return plain ? value : json_quote(value);
}

struct subscriber {
  report_subscription id;
  std::shared_ptr<const report_callback> callback;
};

std::mutex subscribers_mutex;
std::vector<subscriber> subscribers; // guarded by subscribers_mutex
report_subscription last_subscription = 0;
std::atomic<bool> any_subscriber{false};

// Called outside the lock, so that a callback may subscribe or unsubscribe.
void publish(report_kind kind, spdlog::level::level_enum level, const report_origin& origin,
             const std::string& child, const std::string& reason, std::size_t restarts) {
  if (!any_subscriber.load(std::memory_order_acquire))
    return;
  std::vector<std::shared_ptr<const report_callback>> callbacks;
  {
    std::lock_guard<std::mutex> guard{subscribers_mutex};
    for (const auto& s : subscribers)
      callbacks.push_back(s.callback);
  }
  report value{kind,
               level >= spdlog::level::err ? report_severity::error : report_severity::info,
               std::chrono::system_clock::now(),
               origin.supervisor,
               origin.strategy,
               child,
               reason,
               restarts};
  for (const auto& callback : callbacks) {
    try {
      (*callback)(value);
    } catch (...) { // a subscriber's failure must not reach the supervisor making the report
    }
  }
}

// Every report carries the same five fields, so that log tools can rely on them.
void emit(spdlog::level::level_enum level, report_kind which, const report_origin& origin,
          const std::string& child, const std::string& reason, std::size_t restarts) {
  publish(which, level, origin, child, reason, restarts);
  auto kind = to_string(which);
  auto logger = report_logger();
  if (!logger->should_log(level))
    return;
  std::string line;
  if (current_format.load(std::memory_order_relaxed) == report_format::json) {
    line = "\"report\":" + json_quote(kind) + ",\"supervisor\":" + json_quote(origin.supervisor)
           + ",\"child\":" + json_quote(child) + ",\"reason\":" + json_quote(reason)
           + ",\"restarts\":" + std::to_string(restarts)
           + ",\"strategy\":" + json_quote(origin.strategy);
  } else {
    line = kind + " supervisor=" + text_value(origin.supervisor)
           + " child=" + text_value(child) + " reason=" + text_value(reason)
           + " restarts=" + std::to_string(restarts) + " strategy=" + origin.strategy;
  }
  logger->log(level, line);
}

} // namespace

std::shared_ptr<spdlog::logger> report_logger() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!spdlog::get("otpp")) {
      auto logger = spdlog::stderr_color_mt("otpp");
      logger->set_pattern(text_pattern);
    }
  });
  return spdlog::get("otpp");
}

void set_report_format(report_format format) {
  current_format = format;
  report_logger()->set_pattern(format == report_format::json ? json_pattern : text_pattern,
                               spdlog::pattern_time_type::utc);
}

void report_child_started(const report_origin& o, const std::string& child, std::size_t restarts) {
  emit(spdlog::level::info, report_kind::child_started, o, child, "", restarts);
}

void report_child_terminated(const report_origin& o, const std::string& child,
                             const std::string& reason, std::size_t restarts) {
  emit(spdlog::level::err, report_kind::child_terminated, o, child, reason, restarts);
}

void report_start_error(const report_origin& o, const std::string& child, const std::string& reason,
                        std::size_t restarts) {
  emit(spdlog::level::err, report_kind::start_error, o, child, reason, restarts);
}

void report_shutdown_error(const report_origin& o, const std::string& child,
                           const std::string& reason, std::size_t restarts) {
  emit(spdlog::level::err, report_kind::shutdown_error, o, child, reason, restarts);
}

void report_max_intensity(const report_origin& o, const std::string& child,
                          const std::string& reason, std::size_t restarts) {
  emit(spdlog::level::err, report_kind::reached_max_restart_intensity, o, child, reason, restarts);
}

void report_supervisor_shutdown(const report_origin& o, const std::string& reason,
                                std::size_t restarts, bool normal) {
  emit(normal ? spdlog::level::info : spdlog::level::err, report_kind::supervisor_shutdown, o, "", reason,
       restarts);
}

std::string to_string(report_kind kind) {
  switch (kind) {
    case report_kind::child_started: return "child_started";
    case report_kind::child_terminated: return "child_terminated";
    case report_kind::start_error: return "start_error";
    case report_kind::shutdown_error: return "shutdown_error";
    case report_kind::reached_max_restart_intensity: return "reached_max_restart_intensity";
    case report_kind::supervisor_shutdown: return "supervisor_shutdown";
  }
  return "unknown_report";
}

report_subscription subscribe_reports(report_callback callback) {
  std::lock_guard<std::mutex> guard{subscribers_mutex};
  auto id = ++last_subscription;
  subscribers.push_back({id, std::make_shared<const report_callback>(std::move(callback))});
  any_subscriber.store(true, std::memory_order_release);
  return id;
}

bool unsubscribe_reports(report_subscription id) {
  std::lock_guard<std::mutex> guard{subscribers_mutex};
  auto i = std::find_if(subscribers.begin(), subscribers.end(), [&](const subscriber& s) { return s.id == id; });
  if (i == subscribers.end())
    return false;
  subscribers.erase(i);
  any_subscriber.store(!subscribers.empty(), std::memory_order_release);
  return true;
}

std::string json_quote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

} // namespace otpp::supervision
