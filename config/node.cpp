#include "config/node.hpp"

#include <map>

#include <caf/scoped_actor.hpp>
#include <spdlog/sinks/basic_file_sink.h>

#include <cstdio>
#include <cstdlib>

#include "actors/breaker/breaker_owner.hpp"
#include "actors/health/health.hpp"
#include "actors/perf/registry.hpp"
#include "actors/memory/memory_manager.hpp"
#include "actors/pool/pool.hpp"
#include "actors/rate_limit/limiter_owner.hpp"
#include "supervision/errors.hpp"
#include "supervision/reports.hpp"
#include "supervision/system_setup.hpp"

namespace otpp::config {

supervision::supervisor_config build_tree(const node_config& c) {
  std::map<std::string, supervision::supervisor_config> trees; // "" is the root
  trees[""] = {c.name, c.root.flags, {}};
  for (auto& s : c.supervisors)
    trees[s.name] = {s.name, s.flags, {}};
  if (c.memory)
    trees[""].children.push_back(memory::memory_child(*c.memory));
  for (auto& l : c.limiters)
    trees[l.supervisor].children.push_back(
      c.rate_limiting.backend == "redis"
        ? rate_limit::limiter_child(l.config, c.rate_limiting.redis, c.rate_limiting.cleanup_interval)
        : rate_limit::limiter_child(l.config, c.rate_limiting.cleanup_interval));
  for (auto& b : c.breakers)
    trees[b.supervisor].children.push_back(breaker::breaker_child(b.config));
  for (auto& p : c.pools)
    trees[p.supervisor].children.push_back(pool::pool_child(p.config));
  // Children before parents: the list has parents first.
  for (auto s = c.supervisors.rbegin(); s != c.supervisors.rend(); ++s)
    trees[s->parent].children.push_back(supervision::supervisor_child(s->name, trees[s->name]));
  return trees[""];
}

caf::error apply_logging(const logging_config& logging) {
  auto logger = supervision::report_logger();
  if (!logging.file.empty()) {
    try {
      logger->sinks().clear();
      logger->sinks().push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(logging.file));
    } catch (const spdlog::spdlog_ex& e) {
      return supervision::make_error(supervision::errc::invalid_spec,
                                     "logging.file: cannot open '" + logging.file + "': " + e.what());
    }
  }
  logger->set_level(spdlog::level::from_str(logging.level));
  supervision::set_report_format(logging.format == "json" ? supervision::report_format::json
                                                          : supervision::report_format::text);
  return {};
}

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

node::system_config::system_config(const node_config& c) {
  auto& scheduler = c.scheduler;
  set("logger.console", caf::atom("none"));
  add_otpp_types(*this);
  apply_scheduler_profile(*this);
  set("scheduler.policy", scheduler.policy == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
  if (scheduler.max_threads > 0)
    set("scheduler.max-threads", scheduler.max_threads);
  if (c.cluster)
    cluster::configure(*this, *c.cluster);
}

node::node(node_config c) : config_(std::move(c)), cfg_(config_) {}

caf::expected<std::unique_ptr<node>> node::start(const node_config& c) {
  if (auto err = apply_logging(c.logging))
    return err;
  std::unique_ptr<node> n{new node(c)};
  n->system_ = std::make_unique<caf::actor_system>(n->cfg_);
  auto tree = build_tree(c);
  auto children = tree.children.size();
  auto root = supervision::start_supervisor(*n->system_, std::move(tree));
  if (!root)
    return root.error();
  n->root_ = *root;
  if (c.cluster) {
    std::vector<std::string> pools;
    for (auto& p : c.pools)
      pools.push_back(p.config.name);
    auto m = cluster::membership::start(*n->system_, *c.cluster, std::move(pools));
    if (!m)
      return m.error();
    n->membership_ = std::move(*m);
  }
  if (!c.http.listen.empty()) {
    auto http = http_endpoint::start(c.http.listen, *n->system_, n->root_, c.name);
    if (!http)
      return http.error(); // the tree stops with `n`
    n->http_ = std::move(*http);
  }
  supervision::report_logger()->info("node_started node={} children={}", c.name,
                                     children);
  return n;
}

node::~node() {
  http_.reset(); // no request may ask a tree that is going away
  membership_.reset();
  if (root_) {
    caf::scoped_actor self{*system_};
    self->monitor(root_);
    self->send_exit(root_, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {});
    supervision::report_logger()->info("node_stopped node={}", config_.name);
  }
}

} // namespace otpp::config
