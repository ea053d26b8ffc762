#include "otpp/config/reload_plan.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <type_traits>

#include "otpp/actors/events/printable.hpp"

namespace otpp::config {

std::string to_string(config_change::what x) {
  switch (x) {
    case config_change::what::added:
      return "added";
    case config_change::what::removed:
      return "removed";
    case config_change::what::changed:
      return "changed";
    case config_change::what::moved:
      return "moved";
  }
  return "?";
}

std::string to_string(reload_step::action x) {
  switch (x) {
    case reload_step::action::stop:
      return "stop";
    case reload_step::action::update:
      return "update";
    case reload_step::action::start:
      return "start";
  }
  return "?";
}

std::string reload_plan::summary() const {
  std::size_t changed = 0, added = 0, removed = 0;
  for (auto& c : changes) {
    if (c.change == config_change::what::added)
      ++added;
    else if (c.change == config_change::what::removed)
      ++removed;
    else
      ++changed;
  }
  return "reload: " + std::to_string(changed) + " changed, " + std::to_string(added) + " added, "
         + std::to_string(removed) + " removed, " + std::to_string(unchanged) + " unchanged";
}

namespace {

// Values as a change's details show them.
std::string text(const std::string& x) { return "\"" + x + "\""; }
std::string text(bool x) { return x ? "true" : "false"; }
std::string text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", x);
  return buf;
}
std::string text(std::chrono::milliseconds x) { return events::duration_text(x); }
std::string text(const supervision::arguments& x) { return x.to_string(); }
std::string text(const supervision::shutdown_policy& x) {
  switch (x.how) {
    case supervision::shutdown_policy::kind::brutal_kill:
      return "brutal_kill";
    case supervision::shutdown_policy::kind::infinity:
      return "infinity";
    case supervision::shutdown_policy::kind::timeout:
      break;
  }
  return events::duration_text(x.timeout);
}
std::string text(const cluster::address& x) { return x.to_string(); }
std::string text(memory::pressure x) { return memory::to_string(x); }
std::string text(pool::pool_strategy x) { return x == pool::pool_strategy::lifo ? "lifo" : "fifo"; }
std::string text(breaker::window_kind x) { return x == breaker::window_kind::count ? "count" : "time"; }
template <class T>
std::enable_if_t<std::is_integral_v<T>, std::string> text(T x) {
  return std::to_string(x);
}
template <class T>
std::enable_if_t<std::is_enum_v<T>, std::string> text(T x) {
  using supervision::to_string, rate_limit::to_string;
  return to_string(x);
}

bool same(const supervision::shutdown_policy& a, const supervision::shutdown_policy& b) {
  return a.how == b.how && (a.how != supervision::shutdown_policy::kind::timeout || a.timeout == b.timeout);
}
bool same(const cluster::address& a, const cluster::address& b) { return a.host == b.host && a.port == b.port; }
template <class T>
bool same(const T& a, const T& b) {
  return a == b;
}

// The fields of one section that differ, as `name old -> new`.
class field_diff {
public:
  template <class T>
  void add(const std::string& name, const T& a, const T& b) {
    if (!same(a, b))
      details.push_back(name + " " + text(a) + " -> " + text(b));
  }

  template <class T>
  void add(const std::string& name, const std::optional<T>& a, const std::optional<T>& b) {
    if (a && b)
      add(name, *a, *b);
    else if (a || b)
      details.push_back(name + " " + (a ? text(*a) : "unset") + " -> " + (b ? text(*b) : "unset"));
  }

  /// A value that must not reach a log (a password, a passphrase).
  void add_secret(const std::string& name, const std::string& a, const std::string& b) {
    if (a != b)
      details.push_back(name + " changed");
  }

  std::vector<std::string> details;
};

void compare(field_diff& d, const std::string& prefix, const supervision::backoff_options& a,
             const supervision::backoff_options& b) {
  d.add(prefix + "min_ms", a.min, b.min);
  d.add(prefix + "max_ms", a.max, b.max);
  d.add(prefix + "multiplier", a.multiplier, b.multiplier);
  d.add(prefix + "jitter", a.jitter, b.jitter);
  d.add(prefix + "reset_after_ms", a.reset_after, b.reset_after);
}

void compare(field_diff& d, const supervision::supervisor_flags& a, const supervision::supervisor_flags& b) {
  d.add("strategy", a.strategy, b.strategy);
  d.add("intensity", a.intensity, b.intensity);
  d.add("period", a.period, b.period);
  d.add("auto_shutdown", a.auto_shutdown, b.auto_shutdown);
}

void compare(field_diff& d, const std::string& prefix, const child_section& a, const child_section& b) {
  d.add(prefix + "kind", a.kind, b.kind);
  d.add(prefix + "restart", a.restart, b.restart);
  d.add(prefix + "shutdown", a.shutdown, b.shutdown);
  d.add(prefix + "significant", a.significant, b.significant);
  d.add(prefix + "args", a.args, b.args);
}

void compare(field_diff& d, const supervisor_section& a, const supervisor_section& b) {
  compare(d, a.flags, b.flags);
  if (a.child_template && b.child_template)
    compare(d, "template.", *a.child_template, *b.child_template);
  else if (a.child_template || b.child_template)
    d.details.push_back(std::string{"template "} + (a.child_template ? "set" : "unset") + " -> "
                        + (b.child_template ? "set" : "unset"));
}

void compare(field_diff& d, const memory::memory_config& a, const memory::memory_config& b) {
  d.add("limit_mb", a.limit_mb, b.limit_mb);
  d.add("elevated_percent", a.elevated_percent, b.elevated_percent);
  d.add("high_percent", a.high_percent, b.high_percent);
  d.add("critical_percent", a.critical_percent, b.critical_percent);
  d.add("hysteresis_percent", a.hysteresis_percent, b.hysteresis_percent);
  d.add("reject_at", a.reject_at, b.reject_at);
  d.add("sample_interval", a.sample_interval, b.sample_interval);
}

// A limiter's limits (changed in place); its algorithm is compared apart.
void compare(field_diff& d, const rate_limit::limiter_config& a, const rate_limit::limiter_config& b) {
  d.add("scale_ms", a.scale_ms, b.scale_ms);
  d.add("limit", a.limit, b.limit);
  d.add("capacity", a.capacity, b.capacity);
  d.add("rate_per_s", a.rate_per_s, b.rate_per_s);
}

void compare(field_diff& d, const breaker::breaker_config& a, const breaker::breaker_config& b) {
  d.add("window", a.window, b.window);
  d.add("window_size", a.window_size, b.window_size);
  d.add("minimum_calls", a.minimum_calls, b.minimum_calls);
  d.add("failure_threshold", a.failure_threshold, b.failure_threshold);
  d.add("slow_threshold", a.slow_threshold, b.slow_threshold);
  d.add("slow_duration", a.slow_duration, b.slow_duration);
  d.add("wait_in_open", a.wait_in_open, b.wait_in_open);
  d.add("automatic_half_open", a.automatic_half_open, b.automatic_half_open);
  d.add("half_open_permits", a.half_open_permits, b.half_open_permits);
  d.add("max_wait_in_half_open", a.max_wait_in_half_open, b.max_wait_in_half_open);
}

// The fields a pool changes in place; `worker` and `worker_args` are compared apart.
void compare(field_diff& d, const pool::pool_config& a, const pool::pool_config& b) {
  d.add("size", a.size, b.size);
  d.add("max_overflow", a.max_overflow, b.max_overflow);
  d.add("strategy", a.strategy, b.strategy);
  compare(d, "start_backoff.", a.start_backoff, b.start_backoff);
  d.add("give_up_after", a.give_up_after, b.give_up_after);
  d.add("crash_alarm_exits", a.crash_alarm_exits, b.crash_alarm_exits);
  d.add("crash_alarm_window", a.crash_alarm_window, b.crash_alarm_window);
}

void compare(field_diff& d, const logging_config& a, const logging_config& b) {
  d.add("level", a.level, b.level);
  d.add("format", a.format, b.format);
  d.add("file", a.file, b.file);
  d.add("burst_limit_enable", a.burst_limit_enable, b.burst_limit_enable);
  d.add("burst_limit_max_count", a.burst_limit_max_count, b.burst_limit_max_count);
  d.add("burst_limit_window", a.burst_limit_window, b.burst_limit_window);
  d.add("drop_mode_qlen", a.drop_mode_qlen, b.drop_mode_qlen);
}

void compare(field_diff& d, const http_config& a, const http_config& b) {
  d.add("listen", a.listen, b.listen);
  d.add("allow_remote", a.allow_remote, b.allow_remote);
  d.add("token_file", a.token_file, b.token_file);
  d.add("token_env", a.token_env, b.token_env);
  auto tls_text = [](const std::optional<http_tls_config>& t) {
    return t ? std::string{"certificate "} + text(t->certificate) + " key " + text(t->key) : std::string{"off"};
  };
  d.add("tls", tls_text(a.tls), tls_text(b.tls));
  d.add("max_connections", a.max_connections, b.max_connections);
  d.add("read_timeout", a.read_timeout, b.read_timeout);
  d.add("write_timeout", a.write_timeout, b.write_timeout);
  d.add("idle_timeout", a.idle_timeout, b.idle_timeout);
  d.add("max_header_bytes", a.max_header_bytes, b.max_header_bytes);
  d.add("max_headers", a.max_headers, b.max_headers);
  d.add("max_body_bytes", a.max_body_bytes, b.max_body_bytes);
}

// What changes the keys of every limiter: the backend and where it is.
void compare_backend(field_diff& d, const rate_limiting_config& a, const rate_limiting_config& b) {
  d.add("backend", a.backend, b.backend);
  if (a.backend != "redis" || b.backend != "redis")
    return;
  d.add_secret("redis.url", a.redis.url, b.redis.url); // may hold a password
  auto joined = [](const std::vector<std::string>& xs) {
    std::string s;
    for (auto& x : xs)
      s += (s.empty() ? "" : ",") + x;
    return s;
  };
  d.add("redis.sentinels", joined(a.redis.sentinels), joined(b.redis.sentinels));
  d.add("redis.master_name", a.redis.master_name, b.redis.master_name);
  d.add("redis.prefix", a.redis.prefix, b.redis.prefix);
  d.add("redis.timeout", a.redis.timeout, b.redis.timeout);
  d.add("redis.connections", a.redis.connections, b.redis.connections);
  d.add("redis.on_error", a.redis.on_error, b.redis.on_error);
  d.add("redis.block", a.redis.block, b.redis.block);
  d.add("redis.block_lease", a.redis.block_lease, b.redis.block_lease);
}

void compare(field_diff& d, const cluster::cluster_config& a, const cluster::cluster_config& b) {
  d.add("node_name", a.node_name, b.node_name);
  d.add("listen", a.listen, b.listen);
  auto peers = [](const std::vector<cluster::peer_config>& ps) {
    std::string s;
    for (auto& p : ps)
      s += (s.empty() ? "" : ",") + p.name + "@" + p.at.to_string();
    return s;
  };
  d.add("peers", peers(a.peers), peers(b.peers));
  d.add("heartbeat_interval", a.heartbeat_interval, b.heartbeat_interval);
  d.add("connection_timeout", a.connection_timeout, b.connection_timeout);
  d.add("connect_timeout", a.connect_timeout, b.connect_timeout);
  d.add("reconnect_backoff_min", a.reconnect_backoff_min, b.reconnect_backoff_min);
  d.add("reconnect_backoff_max", a.reconnect_backoff_max, b.reconnect_backoff_max);
  d.add("insecure_plaintext", a.insecure_plaintext, b.insecure_plaintext);
  d.add("tls", std::string{a.tls ? "on" : "off"}, std::string{b.tls ? "on" : "off"});
  if (a.tls && b.tls) {
    d.add("tls.certificate", a.tls->certificate, b.tls->certificate);
    d.add("tls.key", a.tls->key, b.tls->key);
    d.add("tls.cafile", a.tls->cafile, b.tls->cafile);
    d.add_secret("tls.passphrase", a.tls->passphrase, b.tls->passphrase);
  }
}

void compare(field_diff& d, const demo_config& a, const demo_config& b) {
  d.add("duration", std::chrono::duration_cast<std::chrono::milliseconds>(a.duration),
        std::chrono::duration_cast<std::chrono::milliseconds>(b.duration));
  d.add("clients", a.clients, b.clients);
  d.add("rate_per_s", a.rate_per_s, b.rate_per_s);
  d.add("crash_probability", a.crash_probability, b.crash_probability);
  d.add("failure_probability", a.failure_probability, b.failure_probability);
  d.add("keys", a.keys, b.keys);
}

template <class T>
std::vector<std::string> differences(const T& a, const T& b) {
  field_diff d;
  compare(d, a, b);
  return std::move(d.details);
}

template <class T>
std::vector<std::string> differences(const std::optional<T>& a, const std::optional<T>& b) {
  if (a && b)
    return differences(*a, *b);
  if (a || b)
    return {std::string{a ? "configured" : "absent"} + " -> " + (b ? "configured" : "absent")};
  return {};
}

// A component as a tree places it.
struct placement {
  component_ref ref;
  std::string supervisor; ///< "" is the root
};

// Every component of `c` (the root excepted) in the order a node starts
// them: under each supervisor the memory manager (the root only), limiters,
// breakers, pools, [children] in file order, then each nested supervisor
// followed by what it starts.
std::vector<placement> start_order(const node_config& c) {
  std::vector<placement> out;
  auto under = [&](const std::string& s, auto& self) -> void {
    if (s.empty() && c.memory)
      out.push_back({{"memory", ""}, ""});
    for (auto& l : c.limiters)
      if (l.supervisor == s)
        out.push_back({{"limiter", l.config.name}, s});
    for (auto& b : c.breakers)
      if (b.supervisor == s)
        out.push_back({{"breaker", b.config.name}, s});
    for (auto& p : c.pools)
      if (p.supervisor == s)
        out.push_back({{"pool", p.config.name}, s});
    for (auto& child : c.children)
      if (child.supervisor == s)
        out.push_back({{"child", child.name}, s});
    for (auto& sup : c.supervisors)
      if (sup.parent == s) {
        out.push_back({{"supervisor", sup.name}, s});
        self(sup.name, self);
      }
  };
  under("", under);
  return out;
}

// How a component present in both configurations under the same supervisor differs.
struct difference {
  std::vector<std::string> details;
  bool restart = false; ///< stopped and started, not changed in place
};

class planner {
public:
  planner(const node_config& running, const node_config& next) : a_(running), b_(next) {}

  reload_plan plan() {
    refuse_what_needs_a_restart();
    node_wide(component_ref{"logging", ""}, differences(a_.logging, b_.logging));

    auto before = start_order(a_);
    auto after = start_order(b_);
    std::map<std::string, std::string> parent_before, parent_after;
    for (auto& s : a_.supervisors)
      parent_before[s.name] = s.parent;
    for (auto& s : b_.supervisors)
      parent_after[s.name] = s.parent;
    for (auto& p : before)
      if (p.ref.kind == "supervisor" && (!parent_after.count(p.ref.name) || parent_after[p.ref.name] != p.supervisor))
        stopped_supervisors_.insert(p.ref.name);
    for (auto& p : after)
      if (p.ref.kind == "supervisor" && (!parent_before.count(p.ref.name) || parent_before[p.ref.name] != p.supervisor))
        started_supervisors_.insert(p.ref.name);
    // A supervisor that becomes or stops being simple_one_for_one cannot
    // change in place: it restarts with everything under it.
    for (auto& s : b_.supervisors)
      if (auto* was = find_section(a_.supervisors, s.name); was != nullptr && was->parent == s.parent
          && dynamic(was->flags) != dynamic(s.flags)) {
        strategy_kind_changed_.insert(s.name);
        stopped_supervisors_.insert(s.name);
        started_supervisors_.insert(s.name);
      }

    // Stops, in reverse start order of the running tree.
    for (auto p = before.rbegin(); p != before.rend(); ++p) {
      auto now = find(after, p->ref);
      if (!now) {
        report(config_change::what::removed, p->ref, {});
        stop_unless_covered(*p, parent_before);
        continue;
      }
      auto d = compare_component(p->ref);
      if (now->supervisor != p->supervisor) {
        d.details.insert(d.details.begin(), "supervisor " + text(p->supervisor) + " -> " + text(now->supervisor));
        report(config_change::what::moved, p->ref, std::move(d.details));
        stop_unless_covered(*p, parent_before);
      } else if (auto moved = moved_above(p->supervisor, parent_before); !moved.empty()) {
        d.details.insert(d.details.begin(), "restarted: supervisor " + text(moved)
                                              + (strategy_kind_changed_.count(moved) ? " restarts" : " moved"));
        report(config_change::what::changed, p->ref, std::move(d.details));
      } else if (d.details.empty()) {
        ++plan_.unchanged;
      } else {
        report(config_change::what::changed, p->ref, std::move(d.details));
        if (d.restart)
          stop_unless_covered(*p, parent_before);
        else
          updates_.push_back({reload_step::action::update, p->ref, p->supervisor});
      }
    }
    auto root = differences(a_.root.flags, b_.root.flags);
    if (root.empty()) {
      ++plan_.unchanged;
    } else {
      report(config_change::what::changed, {"supervisor", ""}, std::move(root));
      updates_.insert(updates_.begin(), {reload_step::action::update, {"supervisor", ""}, ""});
    }
    field_diff sweeps;
    sweeps.add("cleanup_interval", a_.rate_limiting.cleanup_interval, b_.rate_limiting.cleanup_interval);
    node_wide(component_ref{"rate_limiting", ""}, std::move(sweeps.details));
    plan_.steps.insert(plan_.steps.end(), updates_.begin(), updates_.end());

    // Starts, in start order of the new tree.
    for (auto& p : after) {
      auto was = find(before, p.ref);
      if (!was)
        report(config_change::what::added, p.ref, {});
      if (!was || was->supervisor != p.supervisor || restarts_.count(key(p.ref)) > 0) {
        if (!covered(p.supervisor, started_supervisors_, parent_after))
          plan_.steps.push_back({reload_step::action::start, p.ref, p.supervisor});
      }
    }
    node_wide(component_ref{"http", ""}, differences(a_.http, b_.http));
    return std::move(plan_);
  }

private:
  static std::string key(const component_ref& r) { return r.kind + "/" + r.name; }

  static bool dynamic(const supervision::supervisor_flags& f) {
    return f.strategy == supervision::strategy::simple_one_for_one;
  }

  static const placement* find(const std::vector<placement>& xs, const component_ref& ref) {
    auto i = std::find_if(xs.begin(), xs.end(), [&](const placement& p) { return p.ref == ref; });
    return i == xs.end() ? nullptr : &*i;
  }

  // The supervisor at or above `s` that moved (stops and starts again), or "".
  std::string moved_above(std::string s, const std::map<std::string, std::string>& parents) const {
    while (!s.empty()) {
      if (stopped_supervisors_.count(s) && started_supervisors_.count(s))
        return s;
      auto up = parents.find(s);
      if (up == parents.end())
        return "";
      s = up->second;
    }
    return "";
  }

  // Whether supervisor `s` or one above it is in `set`.
  static bool covered(std::string s, const std::set<std::string>& set,
                      const std::map<std::string, std::string>& parents) {
    while (!s.empty()) {
      if (set.count(s))
        return true;
      auto up = parents.find(s);
      if (up == parents.end())
        return false;
      s = up->second;
    }
    return false;
  }

  void stop_unless_covered(const placement& p, const std::map<std::string, std::string>& parents) {
    restarts_.insert(key(p.ref));
    if (!covered(p.supervisor, stopped_supervisors_, parents))
      plan_.steps.push_back({reload_step::action::stop, p.ref, p.supervisor});
  }

  void report(config_change::what what, const component_ref& ref, std::vector<std::string> details) {
    plan_.changes.push_back({what, ref, std::move(details)});
  }

  // A node-wide setting: one update step where it belongs in the order.
  void node_wide(const component_ref& ref, std::vector<std::string> details) {
    if (details.empty()) {
      ++plan_.unchanged;
      return;
    }
    report(config_change::what::changed, ref, std::move(details));
    plan_.steps.push_back({reload_step::action::update, ref, ""});
  }

  void refuse_what_needs_a_restart() {
    auto refuse = [&](const std::string& what, const std::vector<std::string>& details) {
      if (details.empty())
        return;
      std::string joined;
      for (auto& d : details)
        joined += (joined.empty() ? "" : ", ") + d;
      plan_.refused.push_back(what + " changed (" + joined + "): a restart of the node is needed");
    };
    field_diff node;
    node.add("name", a_.name, b_.name);
    node.add("scheduler.policy", a_.scheduler.policy, b_.scheduler.policy);
    node.add("scheduler.max_threads", a_.scheduler.max_threads, b_.scheduler.max_threads);
    refuse("[node]", node.details);
    refuse("[cluster]", differences(a_.cluster, b_.cluster));
    refuse("[demo]", differences(a_.demo, b_.demo));
  }

  difference compare_component(const component_ref& ref) {
    difference d;
    if (ref.kind == "memory") {
      d.details = differences(a_.memory, b_.memory);
    } else if (ref.kind == "supervisor") {
      d.details = differences(*find_section(a_.supervisors, ref.name), *find_section(b_.supervisors, ref.name));
      d.restart = strategy_kind_changed_.count(ref.name) > 0;
      if (d.restart)
        d.details.front() += " (restarted with everything under it)";
    } else if (ref.kind == "child") {
      field_diff f;
      compare(f, "", *find_section(a_.children, ref.name), *find_section(b_.children, ref.name));
      d.details = std::move(f.details);
      d.restart = !d.details.empty();
    } else if (ref.kind == "pool") {
      auto& x = find_component(a_.pools, ref.name)->config;
      auto& y = find_component(b_.pools, ref.name)->config;
      d.details = differences(x, y);
      field_diff rolling;
      rolling.add("worker", x.worker, y.worker);
      rolling.add("worker_args", x.args, y.args);
      for (auto& r : rolling.details)
        d.details.push_back(r + " (workers replaced one at a time)");
    } else if (ref.kind == "breaker") {
      d.details = differences(find_component(a_.breakers, ref.name)->config, find_component(b_.breakers, ref.name)->config);
    } else if (ref.kind == "limiter") {
      auto& x = find_component(a_.limiters, ref.name)->config;
      auto& y = find_component(b_.limiters, ref.name)->config;
      field_diff f;
      compare_backend(f, a_.rate_limiting, b_.rate_limiting);
      f.add("algorithm", x.algorithm, y.algorithm);
      d.restart = !f.details.empty();
      if (d.restart)
        f.details.back() += " (keys start over)";
      compare(f, x, y);
      d.details = std::move(f.details);
    }
    return d;
  }

  const node_config& a_;
  const node_config& b_;
  reload_plan plan_;
  std::set<std::string> stopped_supervisors_; ///< removed or moved: stop with what they run
  std::set<std::string> started_supervisors_; ///< added or moved: start with what they run
  std::set<std::string> strategy_kind_changed_; ///< to or from simple_one_for_one: restart with what they run
  std::set<std::string> restarts_;            ///< components stopped here and started again if still present
  std::vector<reload_step> updates_;
};

} // namespace

reload_plan plan_reload(const node_config& running, const node_config& next) { return planner{running, next}.plan(); }

} // namespace otpp::config
