#include <doctest/doctest.h>

#include <cstdint>
#include <ctime>
#include <limits>
#include <optional>
#include <regex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "otpp/actors/events/log_sink.hpp"
#include "otpp/actors/events/printable.hpp"

using namespace otpp::events;
using ordered_json = nlohmann::ordered_json;

namespace {

// 2026-12-02T14:15:17.123456Z
std::chrono::system_clock::time_point example_time() {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 11;
  tm.tm_mday = 2;
  tm.tm_hour = 14;
  tm.tm_min = 15;
  tm.tm_sec = 17;
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::microseconds{123456};
}

// One field as a test expects to read it back.
struct field {
  std::string key;
  std::string text; // a string's value, or a number or boolean as written
  bool is_string;
};

// The fields of `e`, every string field set to `text` first.
template <class E>
std::vector<field> fill(E& e, const std::string& text) {
  std::vector<field> out;
  e.fields([&](const char* key, const auto& v) {
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<V, std::string>) {
      const_cast<std::string&>(v) = text; // `e` itself is not const
      out.push_back({key, text, true});
    } else if constexpr (std::is_same_v<V, bool>) {
      const_cast<bool&>(v) = true;
      out.push_back({key, "true", false});
    } else if constexpr (std::is_same_v<V, double>) {
      const_cast<double&>(v) = 12.5;
      out.push_back({key, "12.5", false});
    } else {
      const_cast<V&>(v) = std::numeric_limits<V>::max();
      out.push_back({key, std::to_string(std::numeric_limits<V>::max()), false});
    }
  });
  return out;
}

// A text line split back into its head and fields; nothing if it is not of
// the form `time level event key=value...` with quoted, escaped strings.
struct parsed_text {
  std::string time, level, event;
  std::vector<field> fields;
};

std::optional<std::string> unquote(const std::string& line, std::size_t& at) {
  if (at >= line.size() || line[at] != '"')
    return {};
  std::string out;
  for (++at; at < line.size(); ++at) {
    char c = line[at];
    if (c == '"') {
      ++at;
      return out;
    }
    if (static_cast<unsigned char>(c) < 0x20)
      return {};
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++at >= line.size())
      return {};
    switch (line[at]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u':
        if (at + 4 >= line.size() || line.compare(at + 1, 2, "00") != 0)
          return {};
        out += static_cast<char>(std::stoi(line.substr(at + 3, 2), nullptr, 16));
        at += 4;
        break;
      default: return {};
    }
  }
  return {};
}

std::optional<parsed_text> parse_text(const std::string& line) {
  std::regex head{R"(^(\S+) (\S+) (\S+))"};
  std::smatch m;
  if (!std::regex_search(line, m, head))
    return {};
  parsed_text out{m[1], m[2], m[3], {}};
  std::size_t at = static_cast<std::size_t>(m.length(0));
  while (at < line.size()) {
    if (line[at++] != ' ')
      return {};
    auto eq = line.find('=', at);
    if (eq == std::string::npos)
      return {};
    field f{line.substr(at, eq - at), "", false};
    if (f.key.empty() || f.key.find_first_of(" \"") != std::string::npos)
      return {};
    at = eq + 1;
    if (at < line.size() && line[at] == '"') {
      auto v = unquote(line, at);
      if (!v)
        return {};
      f.text = *v;
      f.is_string = true;
    } else {
      auto end = std::min(line.find(' ', at), line.size());
      f.text = line.substr(at, end - at);
      at = end;
    }
    out.fields.push_back(f);
  }
  return out;
}

const std::vector<std::string> hostile_texts{
  "plain",
  "",
  "say \"hi\"",
  "} {\"event\":\"forged\"",
  "line one\nline two\r\n2026-12-02T00:00:00.000000Z error child_terminated node=\"x\"",
  "db\" reason=\"forged",
  "=\"x\"",
  "tab\there",
  "back\\slash \\\" \\n",
  "\x01\x1b[31mred\x7f",
  std::string{"nul\0byte", 8},
  "bad \xff byte",
  "truncated \xe2\x82",
  "ends in a lead byte \xc3",
  "overlong \xc0\xaf and surrogate \xed\xa0\x80",
  "valid caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
};

bool one_clean_line(const std::string& line) {
  for (char c : line)
    if (static_cast<unsigned char>(c) < 0x20)
      return false;
  return true;
}

// Every alternative of `event`, default-constructed.
template <std::size_t... I>
std::vector<event> every_event_type(std::index_sequence<I...>) {
  return {event{std::in_place_index<I>}...};
}

std::vector<event> every_event_type() {
  return every_event_type(std::make_index_sequence<std::variant_size_v<event>>{});
}

} // namespace

TEST_SUITE("events.log_format") {

TEST_CASE("a text line quotes every string and leaves numbers bare") {
  record r{example_time(), level::error, child_terminated{{"root", "one_for_one", "db", "exception: boom", 2}}};
  CHECK(format_line(r, log_format::text, "web")
        == R"(2026-12-02T14:15:17.123456Z error child_terminated node="web" supervisor="root" strategy="one_for_one" )"
           R"(child="db" reason="exception: boom" restarts=2)");
  CHECK(format_line(r, log_format::text, "")
        == R"(2026-12-02T14:15:17.123456Z error child_terminated supervisor="root" strategy="one_for_one" )"
           R"(child="db" reason="exception: boom" restarts=2)");
}

TEST_CASE("a JSON line has time, level, event and node first, then the event's fields as typed values") {
  record r{example_time(), level::warning,
           memory_level_changed{"memory", "normal", "warning", 87.5, 512}};
  CHECK(format_line(r, log_format::json, "web")
        == R"({"time":"2026-12-02T14:15:17.123456Z","level":"warning","event":"memory_level_changed","node":"web",)"
           R"("manager":"memory","from":"normal","to":"warning","usage_percent":87.5,"limit_mb":512})");
  record started{example_time(), level::info, node_started{"web", 4}};
  CHECK(format_line(started, log_format::json, "web")
        == R"({"time":"2026-12-02T14:15:17.123456Z","level":"info","event":"node_started","node":"web","children":4})");
}

TEST_CASE("every event type, whatever its strings hold, is one valid JSON object with its fields in order") {
  for (auto& text : hostile_texts) {
    for (auto e : every_event_type()) {
      auto expected = std::visit([&](auto& x) { return fill(x, text); }, e);
      record r{example_time(), level_of(e), e};
      auto line = format_line(r, log_format::json, text);
      CAPTURE(line);
      REQUIRE(one_clean_line(line));
      auto j = ordered_json::parse(line); // throws if not valid JSON
      REQUIRE(j.is_object());
      std::vector<std::string> keys;
      for (auto& [key, value] : j.items())
        keys.push_back(key);
      std::vector<std::string> want{"time", "level", "event", "node"};
      for (auto& f : expected)
        want.push_back(f.key);
      CHECK(keys == want);
      CHECK(j["time"] == "2026-12-02T14:15:17.123456Z");
      CHECK(j["level"] == to_string(level_of(e)));
      CHECK(j["event"] == name_of(e));
      CHECK(j["node"] == printable(text));
      for (auto& f : expected) {
        auto& v = j[f.key];
        if (f.is_string) {
          CHECK(v.is_string());
          CHECK(v == printable(f.text));
        } else {
          CHECK(v.is_primitive());
          CHECK_FALSE(v.is_string());
          CHECK(v.dump() == f.text);
        }
      }
    }
  }
}

TEST_CASE("every event type, whatever its strings hold, is one text line whose fields cannot be forged") {
  for (auto& text : hostile_texts) {
    for (auto e : every_event_type()) {
      auto expected = std::visit([&](auto& x) { return fill(x, text); }, e);
      record r{example_time(), level_of(e), e};
      auto line = format_line(r, log_format::text, "web");
      CAPTURE(line);
      REQUIRE(one_clean_line(line));
      auto parsed = parse_text(line);
      REQUIRE(parsed);
      CHECK(parsed->time == "2026-12-02T14:15:17.123456Z");
      CHECK(parsed->level == to_string(level_of(e)));
      CHECK(parsed->event == name_of(e));
      REQUIRE(parsed->fields.size() == expected.size() + 1);
      CHECK(parsed->fields[0].key == "node");
      CHECK(parsed->fields[0].text == "web");
      for (std::size_t i = 0; i < expected.size(); ++i) {
        auto& got = parsed->fields[i + 1];
        CHECK(got.key == expected[i].key);
        CHECK(got.is_string == expected[i].is_string);
        CHECK(got.text == (expected[i].is_string ? printable(expected[i].text) : expected[i].text));
      }
    }
  }
}

TEST_CASE("a node name with quotes and newlines is escaped in both formats") {
  record r{example_time(), level::info, node_stopped{"x"}};
  CHECK(format_line(r, log_format::text, "a\"b\nc") == R"(2026-12-02T14:15:17.123456Z info node_stopped node="a\"b\nc")");
  CHECK(format_line(r, log_format::json, "a\"b\nc\xff")
        == R"({"time":"2026-12-02T14:15:17.123456Z","level":"info","event":"node_stopped","node":"a\"b\nc\\xff"})");
}

TEST_CASE("control bytes come out as \\u00XX and invalid UTF-8 as \\xNN in text lines") {
  record r{example_time(), level::warning, node_down{"p\x01\x7f", "c\xff", "r"}};
  CHECK(format_line(r, log_format::text, "")
        == R"(2026-12-02T14:15:17.123456Z warning node_down peer="p\u0001\u007f" cause="c\\xff" reason="r")");
}

TEST_CASE("times before 1970 and at the end of a second are written right") {
  record r{std::chrono::system_clock::time_point{} - std::chrono::microseconds{1}, level::info, node_stopped{"x"}};
  CHECK(format_line(r, log_format::text, "").rfind("1969-12-31T23:59:59.999999Z info", 0) == 0);
}

TEST_CASE("no event names a field like one of the fixed JSON keys") {
  for (auto& e : every_event_type())
    std::visit(
      [](auto& x) {
        x.fields([](const char* key, const auto&) {
          for (auto fixed : {"time", "level", "event", "node"})
            CHECK(std::string{key} != fixed);
        });
      },
      e);
}

}
