#include <cstdio>
#include <optional>

#include "otpp/actors/events/printable.hpp"
#include "otpp/actors/health/health.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/actors/perf/registry.hpp"
#include "otpp/config/node.hpp"
#include "otpp/config/top_view.hpp"

namespace otpp::config {

namespace {

namespace fam = perf::families;

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

// A gauge's value as text, "-" when the series does not exist.
std::string gauge(const perf::snapshot& m, const perf::family& f, const perf::label_values& labels) {
  auto* s = m.find(f.name, labels);
  return s ? number(s->value) : "-";
}

// The label value of `f`'s series for `name` that reads 1 (a state gauge), or "-".
std::string current_state(const perf::snapshot& m, const perf::family& f, const std::string& name,
                          std::initializer_list<const char*> states) {
  for (auto state : states)
    if (auto* s = m.find(f.name, {name, state}); s && s->value == 1)
      return state;
  return "-";
}

std::string rate(std::optional<double> r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", r ? *r : 0.0);
  return r ? buf : "-";
}

struct table_context {
  const perf::snapshot& m;
  pool_exit_counts* last;
  pool_exit_counts now;
};

std::string pool_figures(const std::string& pool, table_context& t) {
  std::string figures;
  for (auto state : {"idle", "busy", "overflow"})
    figures += std::string{state} + "=" + gauge(t.m, fam::pool_workers, {pool, state}) + " ";
  figures += "waiting=" + gauge(t.m, fam::pool_waiting, {pool});
  auto exits = t.m.sum(fam::pool_worker_exits.name, {pool});
  auto crashes = t.m.sum(fam::pool_worker_exits.name, {pool, "crash"});
  t.now.exits[pool] = {exits, crashes};
  std::optional<double> exit_rate, crash_rate;
  if (t.last && t.last->at != std::chrono::steady_clock::time_point{}) {
    auto seconds = std::chrono::duration<double>(t.now.at - t.last->at).count();
    auto i = t.last->exits.find(pool);
    auto before = i != t.last->exits.end() ? i->second : std::pair<double, double>{0, 0};
    exit_rate = top::per_second(before.first, exits, seconds);
    crash_rate = top::per_second(before.second, crashes, seconds);
  }
  figures += " exits/s=" + rate(exit_rate);
  if (crash_rate && *crash_rate > 0)
    figures += " (crash " + rate(crash_rate) + ")";
  return figures;
}

std::string figures_of(const health::node& h, table_context& t) {
  auto& m = t.m;
  if (h.kind == "supervisor")
    return "restarts=" + number(m.sum(fam::supervisor_restarts.name, {h.name}));
  if (h.kind == "pool")
    return pool_figures(h.name, t);
  if (h.kind == "limiter")
    return "allowed=" + number(m.sum(fam::limiter_hits.name, {h.name, "allow"}))
           + " denied=" + number(m.sum(fam::limiter_hits.name, {h.name, "deny"}))
           + " keys=" + gauge(m, fam::limiter_keys, {h.name})
           + " degraded_hits=" + number(m.sum(fam::limiter_degraded_hits.name, {h.name}));
  if (h.kind == "breaker") {
    auto* ratio = m.find(fam::breaker_failure_ratio.name, {h.name});
    return "state=" + current_state(m, fam::breaker_state, h.name, {"closed", "open", "half_open"})
           + " failure_rate=" + (ratio ? number(100 * ratio->value) : "-")
           + "% rejected=" + number(m.sum(fam::breaker_calls.name, {h.name, "rejected"}));
  }
  if (h.kind == "memory") {
    auto* level = m.find(fam::memory_level.name, {h.name});
    auto* used = m.find(fam::memory_bytes.name, {h.name});
    auto* limit = m.find(fam::memory_limit_bytes.name, {h.name});
    return "level=" + (level ? top::memory_level_name(level->value) : "-") + " usage="
           + (used && limit && limit->value > 0 ? number(100 * used->value / limit->value) : "-") + "%";
  }
  return {};
}

void status_lines(const health::node& h, table_context& t, int depth, std::string& out) {
  auto figures = figures_of(h, t);
  char line[256];
  std::snprintf(line, sizeof line, "%*s%-*s %-10s %-9s %s", depth * 2, "", 24 - depth * 2,
                events::printable(h.name).c_str(), h.kind.c_str(), health::to_string(h.state).c_str(), figures.c_str());
  out += line;
  if (!h.reason.empty() && h.children.empty())
    out += " (" + events::printable(h.reason) + ")";
  out += "\n";
  for (auto& c : h.children)
    status_lines(c, t, depth + 1, out);
}

} // namespace

std::string status_table(node& n, pool_exit_counts* last) {
  auto health = health::check(n.system(), n.root(), n.name());
  auto snapshot = perf::metrics().take_snapshot();
  table_context t{snapshot, last, {std::chrono::steady_clock::now(), {}}};
  std::string out;
  status_lines(health, t, 0, out);
  if (last)
    *last = std::move(t.now);
  if (auto* m = n.membership())
    for (auto& p : m->peers()) {
      char line[256];
      std::snprintf(line, sizeof line, "%-24s %-10s %-9s since_unix_ms=%lld", p.name.c_str(), "peer", p.state.c_str(),
                    static_cast<long long>(p.since_unix_ms));
      out += line;
      out += p.last_error.empty() ? "\n" : " (" + p.last_error + ")\n";
    }
  return out;
}

} // namespace otpp::config
