#include "otpp/actors/events/log_sink.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/sink.h>

#include "otpp/actors/events/printable.hpp"

namespace otpp::events {

namespace {

using json = nlohmann::ordered_json;
using steady = std::chrono::steady_clock;

template <class>
constexpr bool unsupported_field = false;

// `raw` as a quoted text value: invalid UTF-8 through `printable`, then
// quotes, backslashes and every control byte escaped.
void append_quoted(std::string& out, std::string_view raw) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (char ch : printable(raw)) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

template <class V>
void append_text_value(std::string& out, const V& v) {
  if constexpr (std::is_same_v<V, std::string>)
    append_quoted(out, v);
  else if constexpr (std::is_same_v<V, bool>)
    out += v ? "true" : "false";
  else if constexpr (std::is_same_v<V, uint64_t> || std::is_same_v<V, int64_t>)
    out += std::to_string(v);
  else if constexpr (std::is_same_v<V, double>)
    out += json(v).dump(); // the shortest form that reads back the same; null for NaN and infinities
  else
    static_assert(unsupported_field<V>, "event fields are std::string, uint64_t, int64_t, double or bool");
}

template <class V>
json json_value(const V& v) {
  if constexpr (std::is_same_v<V, std::string>)
    return printable(v);
  else if constexpr (std::is_same_v<V, bool> || std::is_same_v<V, uint64_t> || std::is_same_v<V, int64_t>
                     || std::is_same_v<V, double>)
    return v;
  else
    static_assert(unsupported_field<V>, "event fields are std::string, uint64_t, int64_t, double or bool");
}

// `time level event[ node="..."]`: the head of every text line.
std::string text_head(std::chrono::system_clock::time_point time, level severity, const char* event,
                      const std::string& node) {
  std::string out = rfc3339(time);
  out += ' ';
  out += to_string(severity);
  out += ' ';
  out += event;
  if (!node.empty()) {
    out += " node=";
    append_quoted(out, node);
  }
  return out;
}

json json_head(std::chrono::system_clock::time_point time, level severity, const char* event, const std::string& node) {
  json out = json::object();
  out["time"] = rfc3339(time);
  out["level"] = to_string(severity);
  out["event"] = event;
  out["node"] = printable(node);
  return out;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

constexpr const char* dropped_event_name = "events_dropped";

// Events the burst limit held back in one window, about one component.
struct burst_summary {
  std::chrono::system_clock::time_point time;
  const char* event;
  const char* component_kind;
  std::string component;
  uint64_t dropped;
  std::chrono::milliseconds window;
};

std::string summary_line(const burst_summary& s, log_format format, const std::string& node) {
  if (format == log_format::json) {
    auto j = json_head(s.time, level::warning, dropped_event_name, node);
    j["cause"] = "burst_limit";
    j["dropped_event"] = s.event;
    j["component_kind"] = s.component_kind;
    j["component"] = printable(s.component);
    j["dropped"] = s.dropped;
    j["window_ms"] = s.window.count();
    return dump(j);
  }
  auto out = text_head(s.time, level::warning, dropped_event_name, node);
  out += " dropped " + std::to_string(s.dropped) + " " + s.event + " events of " + s.component_kind + " ";
  append_quoted(out, s.component);
  out += " in " + duration_text(s.window);
  return out;
}

std::string behind_line(uint64_t dropped, log_format format, const std::string& node) {
  auto now = std::chrono::system_clock::now();
  if (format == log_format::json) {
    auto j = json_head(now, level::warning, dropped_event_name, node);
    j["cause"] = "writer_behind";
    j["dropped"] = dropped;
    return dump(j);
  }
  return text_head(now, level::warning, dropped_event_name, node) + " dropped " + std::to_string(dropped)
         + " events: the log writer fell behind";
}

// The burst limit's key: one kind of event about one component.
struct burst_key {
  std::string_view event; // the event type's static name
  std::string component;
};

struct burst_key_view {
  std::string_view event;
  std::string_view component;
};

struct burst_key_less {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return std::tie(a.event, a.component) < std::tie(b.event, b.component);
  }
};

struct burst_count {
  const char* component_kind;
  std::size_t passed = 0;
  uint64_t dropped = 0;
};

const char* component_kind_of(const event& e) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::component_kind; }, e);
}

const std::string& component_of(const event& e) {
  return std::visit([](const auto& x) -> const std::string& { return x.component(); }, e);
}

} // namespace

std::string format_line(const record& r, log_format format, const std::string& node) {
  auto name = name_of(r.value);
  if (format == log_format::json) {
    auto j = json_head(r.time, r.severity, name, node);
    std::visit([&](const auto& e) { e.fields([&](const char* key, const auto& v) { j[key] = json_value(v); }); },
               r.value);
    return dump(j);
  }
  auto out = text_head(r.time, r.severity, name, node);
  std::visit(
    [&](const auto& e) {
      e.fields([&](const char* key, const auto& v) {
        out += ' ';
        out += key;
        out += '=';
        append_text_value(out, v);
      });
    },
    r.value);
  return out;
}

line_writer stderr_writer() {
  return [](std::string_view line) {
    std::string out{line};
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stderr);
  };
}

line_writer spdlog_writer(std::shared_ptr<spdlog::sinks::sink> sink) {
  sink->set_pattern("%v");
  return [sink = std::move(sink)](std::string_view line) {
    sink->log(spdlog::details::log_msg{"otpp", spdlog::level::info, spdlog::string_view_t{line.data(), line.size()}});
    sink->flush();
  };
}

struct log_sink::state {
  using entry = std::variant<record, burst_summary>;

  state(log_options o, line_writer w)
    : options(std::move(o)), min_level(options.min_level), writer(std::move(w)) {}

  std::mutex mutex;
  std::condition_variable wake;    // the writer thread: work, a window to close, or stop
  std::condition_variable written; // flush: lines were written
  log_options options;             // guarded by mutex
  std::atomic<level> min_level;    // a copy of options.min_level, read without the lock
  line_writer writer;              // used by the writer thread only
  // The burst limit's current window (guarded by mutex).
  std::map<burst_key, burst_count, burst_key_less> bursts;
  steady::time_point window_start{}, window_end{};
  uint64_t dropped_in_window = 0;
  // Lines for the writer thread (guarded by mutex).
  std::deque<entry> queue;
  uint64_t dropped_behind = 0; // events dropped since the queue was last taken, because it was full
  uint64_t enqueued = 0;       // lines promised so far (queued entries, and one per writer-behind summary)
  uint64_t done = 0;           // of which written
  bool stopping = false;
  std::thread thread;

  // On the emitting thread.
  void on_event(const record& r) {
    if (r.severity < min_level.load(std::memory_order_relaxed))
      return;
    std::unique_lock<std::mutex> lock{mutex};
    bool was_empty = queue.empty(); // the writer thread may be waiting for work
    if (options.burst_limit_enable && !within_burst_limit(r.value))
      return;
    if (queue.size() >= options.drop_mode_qlen) {
      if (dropped_behind++ == 0) {
        ++enqueued; // its summary
        wake.notify_one();
      }
      return;
    }
    queue.emplace_back(std::in_place_type<record>, r);
    ++enqueued;
    lock.unlock();
    if (was_empty)
      wake.notify_one();
  }

  // Counts `e` in its key's window; false if over the limit. Holds the lock.
  bool within_burst_limit(const event& e) {
    auto now = steady::now();
    if (now >= window_end)
      close_window(now);
    burst_key_view key{name_of(e), component_of(e)};
    auto it = bursts.find(key);
    if (it == bursts.end())
      it = bursts.emplace(burst_key{key.event, std::string{key.component}}, burst_count{component_kind_of(e)}).first;
    auto& count = it->second;
    if (count.passed < options.burst_limit_max_count) {
      ++count.passed;
      return true;
    }
    ++count.dropped;
    if (dropped_in_window++ == 0)
      wake.notify_one(); // the writer thread closes the window on time
    return false;
  }

  // Queues one summary per key that dropped events, and starts a new window
  // at `now`; keys unused in the closed window are forgotten. Holds the lock.
  void close_window(steady::time_point now) {
    auto covered = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(now - window_start),
                            options.burst_limit_window);
    auto wall = std::chrono::system_clock::now();
    for (auto it = bursts.begin(); it != bursts.end();) {
      auto& count = it->second;
      if (count.dropped > 0) {
        queue.emplace_back(std::in_place_type<burst_summary>, burst_summary{wall, it->first.event.data(),
                                                                           count.component_kind,
                                                                           it->first.component, count.dropped,
                                                                           covered});
        ++enqueued;
      }
      if (count.passed == 0) {
        it = bursts.erase(it);
      } else {
        count.passed = 0;
        count.dropped = 0;
        ++it;
      }
    }
    dropped_in_window = 0;
    window_start = now;
    window_end = now + options.burst_limit_window;
  }

  // The writer thread.
  void run() {
    std::unique_lock<std::mutex> lock{mutex};
    for (;;) {
      auto now = steady::now();
      if (dropped_in_window > 0 && (now >= window_end || stopping))
        close_window(now);
      if (!queue.empty() || dropped_behind > 0) {
        write_batch(lock);
        continue;
      }
      if (stopping)
        return;
      if (dropped_in_window > 0)
        wake.wait_until(lock, window_end);
      else
        wake.wait(lock);
    }
  }

  // Takes the whole queue and writes it outside the lock.
  void write_batch(std::unique_lock<std::mutex>& lock) {
    std::deque<entry> batch;
    batch.swap(queue);
    auto behind = std::exchange(dropped_behind, 0);
    auto format = options.format;
    auto node = options.node;
    lock.unlock();
    for (auto& e : batch) {
      if (auto* r = std::get_if<record>(&e))
        write(format_line(*r, format, node));
      else
        write(summary_line(std::get<burst_summary>(e), format, node));
    }
    if (behind > 0)
      write(behind_line(behind, format, node));
    lock.lock();
    done += batch.size() + (behind > 0 ? 1 : 0);
    written.notify_all();
  }

  void write(const std::string& line) {
    try {
      writer(line);
    } catch (...) { // a failing writer loses its line, the log goes on
    }
  }
};

log_sink::log_sink(log_options options, line_writer writer)
  : state_(std::make_shared<state>(std::move(options), std::move(writer))) {
  state_->thread = std::thread([st = state_.get()] { st->run(); });
  subscription_ = subscribe([st = state_](const record& r) { st->on_event(r); });
}

log_sink::~log_sink() {
  unsubscribe(subscription_);
  {
    std::lock_guard<std::mutex> guard{state_->mutex};
    state_->stopping = true;
  }
  state_->wake.notify_one();
  state_->thread.join();
}

void log_sink::set_options(log_options options) {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->min_level.store(options.min_level, std::memory_order_relaxed);
  state_->options = std::move(options);
}

void log_sink::flush() {
  auto& st = *state_;
  std::unique_lock<std::mutex> lock{st.mutex};
  if (st.dropped_in_window > 0)
    st.close_window(steady::now());
  auto target = st.enqueued;
  st.wake.notify_one();
  st.written.wait(lock, [&] { return st.done >= target; });
}

// --- The process log. ------------------------------------------------------------

namespace {

std::atomic<bool> process_log_settled{false}; // configured, disabled, or started by default

struct process_log_holder {
  std::mutex mutex;
  std::unique_ptr<log_sink> sink; // guarded by mutex
};

// Never destroyed: emitters may run until the process ends.
process_log_holder& process_log() {
  static auto* holder = new process_log_holder;
  return *holder;
}

// What is queued at a normal exit still reaches the log.
void flush_at_exit() {
  static std::once_flag once;
  std::call_once(once, [] { std::atexit(flush_log); });
}

// Holds the holder's lock. The old log writes what it has queued and stops
// before the new one starts: no event is written twice.
void replace_process_log(process_log_holder& p, const log_options* options, line_writer writer) {
  p.sink.reset();
  if (options) {
    flush_at_exit();
    p.sink = std::make_unique<log_sink>(*options, std::move(writer));
  }
  process_log_settled.store(true, std::memory_order_release);
}

} // namespace

void configure_log(log_options options, line_writer writer) {
  auto& p = process_log();
  std::lock_guard<std::mutex> guard{p.mutex};
  replace_process_log(p, &options, std::move(writer));
}

void disable_log() {
  auto& p = process_log();
  std::lock_guard<std::mutex> guard{p.mutex};
  replace_process_log(p, nullptr, {});
}

void flush_log() {
  auto& p = process_log();
  std::lock_guard<std::mutex> guard{p.mutex};
  if (p.sink)
    p.sink->flush();
}

namespace detail {

void ensure_process_log() {
  if (process_log_settled.load(std::memory_order_acquire))
    return;
  auto& p = process_log();
  std::lock_guard<std::mutex> guard{p.mutex};
  if (process_log_settled.load(std::memory_order_relaxed))
    return;
  log_options defaults;
  replace_process_log(p, &defaults, stderr_writer());
}

} // namespace detail

} // namespace otpp::events
