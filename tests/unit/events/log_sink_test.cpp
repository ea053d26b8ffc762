#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/events/log_sink.hpp"
#include "tests/support/collected_lines.hpp"

using namespace otpp::events;
using otpp::test::collected_lines;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

log_options json_options() {
  log_options o;
  o.format = log_format::json;
  o.node = "test";
  return o;
}

pool_worker_exited crash(const std::string& pool) {
  return {pool, "echo#1", "crash", "exception: boom"};
}

std::vector<json> parsed(const std::vector<std::string>& lines) {
  std::vector<json> out;
  for (auto& line : lines)
    out.push_back(json::parse(line));
  return out;
}

std::size_t count_event(const std::vector<json>& lines, const std::string& event) {
  std::size_t n = 0;
  for (auto& j : lines)
    n += j["event"] == event ? 1 : 0;
  return n;
}

std::size_t count_pool(const std::vector<json>& lines, const std::string& pool) {
  std::size_t n = 0;
  for (auto& j : lines)
    n += j["event"] == "pool_worker_exited" && j["pool"] == pool ? 1 : 0;
  return n;
}

std::vector<json> summaries(const std::vector<json>& lines) {
  std::vector<json> out;
  for (auto& j : lines)
    if (j["event"] == "events_dropped")
      out.push_back(j);
  return out;
}

// A writer that blocks inside its first line until released.
struct blocking_writer {
  struct state {
    std::mutex mutex;
    std::condition_variable changed;
    bool entered = false, released = false;
    std::vector<std::string> lines;
  };
  std::shared_ptr<state> st = std::make_shared<state>();

  line_writer writer() {
    return [st = st](std::string_view line) {
      std::unique_lock<std::mutex> lock{st->mutex};
      st->entered = true;
      st->changed.notify_all();
      st->changed.wait(lock, [&] { return st->released; });
      st->lines.emplace_back(line);
    };
  }
  bool wait_entered() {
    std::unique_lock<std::mutex> lock{st->mutex};
    return st->changed.wait_for(lock, 5s, [&] { return st->entered; });
  }
  void release() {
    std::lock_guard<std::mutex> guard{st->mutex};
    st->released = true;
    st->changed.notify_all();
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> guard{st->mutex};
    return st->lines;
  }
};

} // namespace

TEST_SUITE("events.log_sink") {

TEST_CASE("the sink writes the events at or above its level, in order") {
  disable_log();
  collected_lines out;
  auto o = json_options();
  o.min_level = level::warning;
  log_sink sink{o, out.writer()};
  emit(pool_waiters{"db", 0});                      // info
  emit(pool_waiters{"db", 3});                      // warning
  emit(crash("db"));                                // error
  emit(database_notice{"postgres", "db", "hello"}); // debug
  sink.flush();
  auto lines = parsed(out.lines());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["event"] == "pool_waiters");
  CHECK(lines[0]["waiting"] == 3);
  CHECK(lines[1]["event"] == "pool_worker_exited");
}

TEST_CASE("set_options changes the level and the format from the next event on") {
  disable_log();
  collected_lines out;
  log_sink sink{json_options(), out.writer()};
  emit(node_started{"test", 1});
  sink.flush();
  auto o = json_options();
  o.format = log_format::text;
  o.min_level = level::debug;
  sink.set_options(o);
  emit(database_notice{"postgres", "db", "hello"});
  sink.flush();
  auto lines = out.lines();
  REQUIRE(lines.size() == 2);
  CHECK(json::parse(lines[0])["event"] == "node_started");
  CHECK(lines[1].find(" debug database_notice node=\"test\" kind=\"postgres\"") != std::string::npos);
}

TEST_CASE("the burst limit passes max_count events of one kind about one component, then one summary") {
  disable_log();
  collected_lines out;
  auto o = json_options();
  o.burst_limit_max_count = 5;
  o.burst_limit_window = 60s; // flush closes it
  log_sink sink{o, out.writer()};
  for (int i = 0; i < 100; ++i)
    emit(crash("database"));
  for (int i = 0; i < 3; ++i) {
    emit(crash("cache"));
    emit(child_terminated{{"database", "one_for_one", "w", "boom", 1}});
  }
  sink.flush();
  auto lines = parsed(out.lines());
  CHECK(count_pool(lines, "database") == 5);
  CHECK(count_pool(lines, "cache") == 3);             // another component
  CHECK(count_event(lines, "child_terminated") == 3); // another kind of event about a same-named component
  auto s = summaries(lines);
  REQUIRE(s.size() == 1);
  CHECK(s[0]["level"] == "warning");
  CHECK(s[0]["node"] == "test");
  CHECK(s[0]["cause"] == "burst_limit");
  CHECK(s[0]["dropped_event"] == "pool_worker_exited");
  CHECK(s[0]["component_kind"] == "pool");
  CHECK(s[0]["component"] == "database");
  CHECK(s[0]["dropped"] == 95);
  CHECK(s[0]["window_ms"].is_number_integer());
  CHECK(lines.size() == 5 + 3 + 3 + 1);
}

TEST_CASE("a burst summary is written when its window ends, and the next window passes events again") {
  disable_log();
  collected_lines out;
  auto o = json_options();
  o.burst_limit_max_count = 2;
  o.burst_limit_window = 300ms;
  log_sink sink{o, out.writer()};
  for (int i = 0; i < 10; ++i)
    emit(crash("database"));
  auto summary = [](const std::string& line) { return json::parse(line)["event"] == "events_dropped"; };
  REQUIRE(out.wait_for(summary)); // nobody flushes: the window's end writes it
  auto lines = parsed(out.lines());
  auto s = summaries(lines);
  REQUIRE(s.size() == 1);
  CHECK(s[0]["dropped"] == 8);
  CHECK(s[0]["window_ms"] == 300);
  CHECK(count_pool(lines, "database") == 2);
  emit(crash("database"));
  sink.flush();
  CHECK(count_pool(parsed(out.lines()), "database") == 3);
}

TEST_CASE("a text burst summary says how many events of which kind about which component were dropped") {
  disable_log();
  collected_lines out;
  log_options o;
  o.node = "web";
  o.burst_limit_max_count = 1;
  o.burst_limit_window = 200ms;
  log_sink sink{o, out.writer()};
  for (int i = 0; i < 4; ++i)
    emit(crash("data\"base\n"));
  REQUIRE(out.wait_for([](const std::string& line) { return line.find(" events_dropped ") != std::string::npos; }));
  auto lines = out.lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].find(R"( warning events_dropped node="web" dropped 3 pool_worker_exited events of pool "data\"base\n" in 200 ms)")
        != std::string::npos);
}

TEST_CASE("with the burst limit off every event is written") {
  disable_log();
  collected_lines out;
  auto o = json_options();
  o.burst_limit_enable = false;
  o.burst_limit_max_count = 1;
  log_sink sink{o, out.writer()};
  for (int i = 0; i < 20; ++i)
    emit(crash("database"));
  sink.flush();
  CHECK(out.lines().size() == 20);
}

TEST_CASE("a writer that blocks never blocks the emitter: events beyond the queue are dropped and summarised") {
  disable_log();
  blocking_writer w;
  auto o = json_options();
  o.burst_limit_enable = false;
  o.drop_mode_qlen = 10;
  log_sink sink{o, w.writer()};
  emit(crash("database"));
  REQUIRE(w.wait_entered()); // the writer thread holds the first line
  for (int i = 0; i < 999; ++i)
    emit(crash("database")); // returns although nothing is written: the test would hang otherwise
  w.release();
  sink.flush();
  auto lines = parsed(w.lines());
  REQUIRE(lines.size() == 1 + 10 + 1);
  CHECK(count_pool(lines, "database") == 11);
  auto s = summaries(lines);
  REQUIRE(s.size() == 1);
  CHECK(s[0]["cause"] == "writer_behind");
  CHECK(s[0]["dropped"] == 989);
  CHECK(lines.back()["event"] == "events_dropped");
}

TEST_CASE("the text summary of a writer that fell behind") {
  disable_log();
  blocking_writer w;
  log_options o;
  o.drop_mode_qlen = 1;
  o.burst_limit_enable = false;
  log_sink sink{o, w.writer()};
  emit(crash("database"));
  REQUIRE(w.wait_entered());
  for (int i = 0; i < 5; ++i)
    emit(crash("database"));
  w.release();
  sink.flush();
  auto lines = w.lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[2].find(" warning events_dropped dropped 4 events: the log writer fell behind") != std::string::npos);
}

TEST_CASE("a flood of one kind of event writes a bounded number of lines per window") {
  disable_log();
  collected_lines out;
  log_options o; // the defaults: 50 per key per second
  o.node = "web";
  log_sink sink{o, out.writer()};
  auto start = std::chrono::steady_clock::now();
  auto duration = 2s;
  long long emitted = 0;
  while (std::chrono::steady_clock::now() - start < duration) {
    for (int i = 0; i < 1000; ++i)
      emit(crash("database"));
    emitted += 1000;
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  sink.flush();
  auto lines = out.lines();
  std::size_t bytes = 0;
  for (auto& line : lines)
    bytes += line.size() + 1;
  // Windows begin at the first event: a flood of d seconds spans at most d + 1 of them.
  auto windows = static_cast<std::size_t>(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count()) + 1;
  MESSAGE("emitted " << emitted << " events in " << std::chrono::duration<double>(elapsed).count() << " s: "
                     << lines.size() << " lines, " << bytes << " bytes");
  CHECK(emitted > 100 * 50);
  CHECK(lines.size() <= windows * (o.burst_limit_max_count + 1));
  CHECK(lines.size() >= 2 * o.burst_limit_max_count);
}

TEST_CASE("destroying a sink writes what it queued and ends its subscription") {
  disable_log();
  collected_lines out;
  {
    log_sink sink{json_options(), out.writer()};
    for (int i = 0; i < 5; ++i)
      emit(node_started{"test", 1});
    CHECK(has_subscribers());
  }
  CHECK(out.lines().size() == 5);
  CHECK_FALSE(has_subscribers());
}

TEST_CASE("the process log is replaced by configure_log and turned off by disable_log") {
  collected_lines first, second;
  configure_log(json_options(), first.writer());
  emit(node_started{"test", 1});
  flush_log();
  configure_log(log_options{}, second.writer());
  emit(node_stopped{"test"});
  flush_log();
  disable_log();
  emit(node_stopped{"test"});
  flush_log();
  detail::ensure_process_log(); // settled: stays off
  CHECK_FALSE(has_subscribers());
  REQUIRE(first.lines().size() == 1);
  CHECK(json::parse(first.lines()[0])["event"] == "node_started");
  REQUIRE(second.lines().size() == 1);
  CHECK(second.lines()[0].find(" info node_stopped") != std::string::npos);
}

TEST_CASE("an exception from the writer loses its line only") {
  disable_log();
  collected_lines out;
  auto write = out.writer();
  int calls = 0;
  log_sink sink{json_options(), [&](std::string_view line) {
                  if (++calls == 1)
                    throw std::runtime_error("disk full");
                  write(line);
                }};
  emit(node_started{"test", 1});
  sink.flush();
  emit(node_stopped{"test"});
  sink.flush();
  REQUIRE(out.lines().size() == 1);
  CHECK(json::parse(out.lines()[0])["event"] == "node_stopped");
}

}
