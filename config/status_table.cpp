#include <cstdio>
#include <cstdlib>

#include "otpp/actors/health/health.hpp"
#include "otpp/actors/perf/registry.hpp"
#include "otpp/config/node.hpp"

namespace otpp::config {

namespace {

void status_lines(const health::node& h, const perf::snapshot& m, int depth, std::string& out) {
  auto gauge = [&](const std::string& name) -> std::string {
    auto i = m.gauges.find(name);
    if (i == m.gauges.end())
      return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", i->second);
    return buf;
  };
  std::string figures;
  if (h.kind == "supervisor") {
    auto i = m.counters.find("supervisor." + h.name + ".restarts");
    figures = "restarts=" + std::to_string(i == m.counters.end() ? 0 : i->second);
  } else if (h.kind == "pool") {
    for (auto field : {"idle", "busy", "overflow", "waiting"})
      figures += (figures.empty() ? "" : " ") + std::string{field} + "=" + gauge("pool." + h.name + "." + field);
  } else if (h.kind == "limiter") {
    figures = "keys=" + gauge("limiter." + h.name + ".keys") + " degraded_hits=" + gauge("limiter." + h.name + ".degraded_hits");
  } else if (h.kind == "breaker") {
    auto state = gauge("breaker." + h.name + ".state");
    static const char* names[] = {"closed", "open", "half_open", "disabled", "forced_open"};
    auto s = state == "-" ? -1 : std::atoi(state.c_str());
    figures = std::string{"state="} + (s >= 0 && s < 5 ? names[s] : "-") + " failure_rate="
              + gauge("breaker." + h.name + ".failure_rate") + "% not_permitted="
              + gauge("breaker." + h.name + ".not_permitted");
  } else if (h.kind == "memory") {
    auto level = gauge("memory.level");
    static const char* names[] = {"normal", "elevated", "high", "critical"};
    auto l = level == "-" ? -1 : std::atoi(level.c_str());
    figures = std::string{"level="} + (l >= 0 && l < 4 ? names[l] : "-") + " usage=" + gauge("memory.usage_percent") + "%";
  }
  char line[256];
  std::snprintf(line, sizeof line, "%*s%-*s %-10s %-9s %s", depth * 2, "", 24 - depth * 2, h.name.c_str(),
                h.kind.c_str(), health::to_string(h.state).c_str(), figures.c_str());
  out += line;
  if (!h.reason.empty() && h.children.empty())
    out += " (" + h.reason + ")";
  out += "\n";
  for (auto& c : h.children)
    status_lines(c, m, depth + 1, out);
}

} // namespace

std::string status_table(node& n) {
  std::string out;
  status_lines(health::check(n.system(), n.root(), n.config().name), perf::metrics().take_snapshot(), 0, out);
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
