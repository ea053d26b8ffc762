#include "otpp/config/top_view.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "otpp/actors/events/printable.hpp"
#include "otpp/actors/memory/memory_manager.hpp"

namespace otpp::config::top {

namespace {

using json = nlohmann::json;

// Valid UTF-8 without control characters (C0, DEL, C1): a name cannot move
// the cursor or change the terminal's state.
std::string safe(const std::string& text) {
  auto valid = events::printable(text);
  std::string out;
  for (std::size_t i = 0; i < valid.size(); ++i) {
    auto c = static_cast<unsigned char>(valid[i]);
    auto next = i + 1 < valid.size() ? static_cast<unsigned char>(valid[i + 1]) : 0;
    char hex[8];
    if (c < 0x20 || c == 0x7f) {
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) { // U+0080..U+009F
      std::snprintf(hex, sizeof hex, "\\u%04x", next);
      out += hex;
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string text_of(const json& j, const char* key) {
  auto i = j.find(key);
  return i != j.end() && i->is_string() ? safe(i->get<std::string>()) : std::string{};
}

// Calls f(labels, value) for each series of a counter or gauge family.
template <class F>
void each_series(const json& metrics, const char* family, F f) {
  auto fam = metrics.find(family);
  if (fam == metrics.end() || !fam->is_object())
    return;
  auto series = fam->find("series");
  if (series == fam->end() || !series->is_array())
    return;
  for (auto& s : *series) {
    auto labels = s.find("labels");
    auto value = s.find("value");
    if (labels != s.end() && labels->is_object() && value != s.end() && value->is_number())
      f(*labels, value->get<double>());
  }
}

void flatten(const json& node, int depth, std::vector<tree_row>& out) {
  if (!node.is_object())
    throw std::runtime_error("a node of the health tree is not an object");
  tree_row row{depth, text_of(node, "name"), text_of(node, "kind"), text_of(node, "status"),
               text_of(node, "reason"), std::nullopt, text_of(node, "last_reason")};
  if (auto r = node.find("restarts"); r != node.end() && r->is_number_unsigned())
    row.restarts = r->get<uint64_t>();
  out.push_back(std::move(row));
  if (auto children = node.find("children"); children != node.end() && children->is_array())
    for (auto& c : *children)
      flatten(c, depth + 1, out);
}

template <class Row>
std::vector<Row> values_of(std::map<std::string, Row>& rows) {
  std::vector<Row> out;
  for (auto& [name, row] : rows) {
    row.name = name;
    out.push_back(std::move(row));
  }
  return out;
}

void read_metrics(const json& m, frame& f) {
  std::map<std::string, pool_row> pools;
  each_series(m, "otpp_pool_workers", [&](const json& l, double v) {
    auto& p = pools[text_of(l, "pool")];
    auto state = text_of(l, "state");
    if (state == "idle")
      p.idle = v;
    else if (state == "busy")
      p.busy = v;
    else if (state == "overflow")
      p.overflow = v;
  });
  each_series(m, "otpp_pool_waiting", [&](const json& l, double v) { pools[text_of(l, "pool")].waiting = v; });
  each_series(m, "otpp_pool_worker_exits_total", [&](const json& l, double v) {
    auto& p = pools[text_of(l, "pool")];
    p.exits += v;
    if (text_of(l, "reason") == "crash")
      p.crashes += v;
  });
  f.pools = values_of(pools);

  std::map<std::string, breaker_row> breakers;
  each_series(m, "otpp_breaker_state", [&](const json& l, double v) {
    auto& b = breakers[text_of(l, "breaker")];
    if (b.state.empty())
      b.state = "-";
    if (v == 1)
      b.state = text_of(l, "state");
  });
  f.breakers = values_of(breakers);

  std::map<std::string, limiter_row> limiters;
  each_series(m, "otpp_limiter_hits_total", [&](const json& l, double v) {
    auto& x = limiters[text_of(l, "limiter")];
    auto decision = text_of(l, "decision");
    if (decision == "allow")
      x.allowed += v;
    else if (decision == "deny")
      x.denied += v;
  });
  f.limiters = values_of(limiters);

  std::map<std::string, memory_row> memory;
  each_series(m, "otpp_memory_level", [&](const json& l, double v) {
    memory[text_of(l, "manager")].level = memory_level_name(v);
  });
  each_series(m, "otpp_memory_bytes", [&](const json& l, double v) { memory[text_of(l, "manager")].bytes = v; });
  each_series(m, "otpp_memory_limit_bytes",
              [&](const json& l, double v) { memory[text_of(l, "manager")].limit_bytes = v; });
  for (auto& [name, row] : memory)
    if (row.level.empty())
      row.level = "-";
  f.memory = values_of(memory);

  each_series(m, "otpp_supervisor_restarts_total", [&](const json&, double v) { f.supervisor_restarts += v; });
}

std::string format(const char* pattern, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* pattern, ...) {
  va_list args;
  va_start(args, pattern);
  va_list again;
  va_copy(again, args);
  std::string out(static_cast<std::size_t>(std::vsnprintf(nullptr, 0, pattern, args)), '\0');
  std::vsnprintf(out.data(), out.size() + 1, pattern, again);
  va_end(again);
  va_end(args);
  return out;
}

std::string rate_text(std::optional<double> r) {
  return r ? format("%.1f", *r) : "-";
}

std::string bytes_text(std::optional<double> b) {
  if (!b)
    return "-";
  static const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = *b;
  int u = 0;
  for (; v >= 1024 && u < 4; ++u)
    v /= 1024;
  return format(u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

// The earlier reading of the row `name` in `rows`, if there is one.
template <class Row, class Field>
std::optional<double> earlier(const std::optional<frame>& previous, std::vector<Row> frame::*rows,
                              const std::string& name, Field field) {
  if (!previous)
    return std::nullopt;
  for (auto& r : (*previous).*rows)
    if (r.name == name)
      return r.*field;
  return std::nullopt;
}

std::vector<std::string> header(const view& v) {
  std::vector<std::string> out;
  std::string title = "otpp-node top";
  if (v.current)
    title += "  " + v.current->node + "  " + v.current->status
             + format("  restarts %.0f", v.current->supervisor_restarts);
  out.push_back(title + "  " + safe(v.url));
  if (!v.error.empty())
    out.push_back("error: " + safe(v.error) + " (retrying every second)");
  else if (!v.current)
    out.push_back("connecting...");
  return out;
}

std::vector<std::string> body(const view& v) {
  std::vector<std::string> out;
  if (!v.current)
    return out;
  auto& f = *v.current;
  double seconds = v.previous ? f.at_seconds - v.previous->at_seconds : 0;
  out.push_back(format("%-26s %-10s %-9s %8s  %s", "SUPERVISION TREE", "KIND", "STATE", "RESTARTS", "LAST REASON"));
  for (auto& r : f.tree) {
    auto name = std::string(static_cast<std::size_t>(r.depth) * 2, ' ') + r.name;
    auto note = !r.last_reason.empty() ? r.last_reason : r.status != "healthy" ? r.reason : std::string{};
    out.push_back(format("%-26s %-10s %-9s %8s  %s", name.c_str(), r.kind.c_str(), r.status.c_str(),
                         r.restarts ? std::to_string(*r.restarts).c_str() : "-", note.c_str()));
  }
  if (!f.pools.empty()) {
    out.push_back(format("%-26s %5s %5s %5s %5s %5s %8s %8s", "POOL", "LIVE", "IDLE", "BUSY", "OVFL", "WAIT",
                         "EXITS/S", "CRASH/S"));
    for (auto& p : f.pools) {
      auto exits = per_second(earlier(v.previous, &frame::pools, p.name, &pool_row::exits), p.exits, seconds);
      auto crashes = per_second(earlier(v.previous, &frame::pools, p.name, &pool_row::crashes), p.crashes, seconds);
      out.push_back(format("%-26s %5.0f %5.0f %5.0f %5.0f %5.0f %8s %8s", p.name.c_str(), p.idle + p.busy + p.overflow, p.idle,
                           p.busy, p.overflow, p.waiting, rate_text(exits).c_str(), rate_text(crashes).c_str()));
    }
  }
  if (!f.breakers.empty()) {
    out.push_back(format("%-26s %s", "BREAKER", "STATE"));
    for (auto& b : f.breakers)
      out.push_back(format("%-26s %s", b.name.c_str(), b.state.c_str()));
  }
  if (!f.limiters.empty()) {
    out.push_back(format("%-26s %8s %8s %10s %10s", "LIMITER", "HITS/S", "DENIED/S", "HITS", "DENIED"));
    for (auto& l : f.limiters) {
      auto hits = per_second(earlier(v.previous, &frame::limiters, l.name, &limiter_row::allowed), l.allowed, seconds);
      auto denied = per_second(earlier(v.previous, &frame::limiters, l.name, &limiter_row::denied), l.denied, seconds);
      if (hits && denied)
        *hits += *denied;
      else
        hits.reset();
      out.push_back(format("%-26s %8s %8s %10.0f %10.0f", l.name.c_str(), rate_text(hits).c_str(),
                           rate_text(denied).c_str(), l.allowed + l.denied, l.denied));
    }
  }
  if (!f.memory.empty()) {
    out.push_back(format("%-26s %-9s %10s %10s", "MEMORY", "LEVEL", "USED", "LIMIT"));
    for (auto& m : f.memory)
      out.push_back(format("%-26s %-9s %10s %10s", m.name.c_str(), m.level.c_str(), bytes_text(m.bytes).c_str(),
                           bytes_text(m.limit_bytes).c_str()));
  }
  if (!f.peers.empty()) {
    out.push_back(format("%-26s %-12s %s", "PEER", "STATE", "LAST ERROR"));
    for (auto& p : f.peers)
      out.push_back(format("%-26s %-12s %s", p.name.c_str(), p.state.c_str(), p.last_error.c_str()));
  }
  for (auto& line : out)
    line.erase(line.find_last_not_of(' ') + 1);
  return out;
}

// The first `width` characters (code points) of `line`.
std::string fit(const std::string& line, std::size_t width) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < line.size(); ++i)
    if ((static_cast<unsigned char>(line[i]) & 0xc0) != 0x80 && chars++ == width)
      return line.substr(0, i);
  return line;
}

} // namespace

frame read_status(const std::string& body, double at_seconds) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string{"the answer is not JSON: "} + e.what());
  }
  if (!j.is_object())
    throw std::runtime_error("the answer is not a JSON object");
  auto health = j.find("health");
  if (health == j.end() || !health->is_object())
    throw std::runtime_error("the answer has no \"health\" object: is this an otpp node's /status?");
  frame f;
  f.at_seconds = at_seconds;
  f.node = text_of(j, "node");
  f.status = text_of(*health, "status");
  flatten(*health, 0, f.tree);
  if (auto m = j.find("metrics"); m != j.end() && m->is_object())
    read_metrics(*m, f);
  if (auto peers = j.find("peers"); peers != j.end() && peers->is_array())
    for (auto& p : *peers)
      if (p.is_object())
        f.peers.push_back({text_of(p, "name"), text_of(p, "state"), text_of(p, "last_error")});
  return f;
}

std::string memory_level_name(double value) {
  auto critical = static_cast<double>(memory::pressure::critical);
  if (!(value >= 0 && value <= critical))
    return "-";
  return memory::to_string(static_cast<memory::pressure>(static_cast<int>(value)));
}

std::string normalize_url(const std::string& url) {
  auto bad = [&](const std::string& why) { return std::runtime_error("bad URL '" + safe(url) + "': " + why); };
  std::string scheme = "http";
  auto rest = url;
  if (auto colon = url.find("://"); colon != std::string::npos) {
    scheme = url.substr(0, colon);
    rest = url.substr(colon + 3);
    if (scheme != "http" && scheme != "https")
      throw bad("the scheme must be http or https");
  }
  if (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  if (rest.find_first_of("/?#") != std::string::npos)
    throw bad("expected HOST:PORT, without a path");
  std::string host;
  std::string port = scheme == "https" ? "443" : "80";
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos)
      throw bad("an IPv6 address needs its closing ']'");
    host = rest.substr(0, close + 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':')
      throw bad("expected ':PORT' after the address");
  } else {
    host = rest.substr(0, rest.find(':'));
    rest = rest.substr(host.size());
  }
  if (host.empty() || host == "[]" || host.find_first_of("/?#@ ") != std::string::npos)
    throw bad("expected HOST:PORT, without a path");
  if (!rest.empty()) {
    port = rest.substr(1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos
        || std::stoi(port) < 1 || std::stoi(port) > 65535)
      throw bad("the port must be a number from 1 to 65535");
  }
  return scheme + "://" + host + ":" + port;
}

void view::update(frame f) {
  previous = std::move(current);
  current = std::move(f);
  error.clear();
}

void view::fail(std::string why) {
  error = std::move(why);
}

std::optional<double> per_second(std::optional<double> before, double now, double seconds) {
  if (!before || seconds <= 0)
    return std::nullopt;
  return (now >= *before ? now - *before : now) / seconds;
}

std::vector<std::string> lines(const view& v) {
  auto out = header(v);
  for (auto& line : body(v))
    out.push_back(std::move(line));
  return out;
}

std::vector<std::string> screen(const view& v, std::size_t width, std::size_t height, std::size_t& scroll) {
  auto head = header(v);
  auto rest = body(v);
  std::vector<std::string> out;
  for (auto& line : head)
    if (out.size() < height)
      out.push_back(fit(line, width));
  if (out.size() + 1 >= height) {
    scroll = 0;
    return out;
  }
  auto room = height - out.size() - 1;
  auto last = rest.size() > room ? rest.size() - room : 0;
  scroll = std::min(scroll, last);
  for (std::size_t i = scroll; i < rest.size() && i < scroll + room; ++i)
    out.push_back(fit(rest[i], width));
  out.resize(height - 1);
  std::string footer = "q: quit";
  if (rest.size() > room)
    footer += format("  up/down, PgUp/PgDn: scroll  (lines %zu-%zu of %zu)", scroll + 1,
                     std::min(scroll + room, rest.size()), rest.size());
  out.push_back(fit(footer, width));
  return out;
}

} // namespace otpp::config::top
