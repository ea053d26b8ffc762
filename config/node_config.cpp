#include "config/node_config.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "actors/pool/worker_kinds.hpp"
#include "actors/redis/connection.hpp"
#include "actors/workers/postgres_worker.hpp"
#include "actors/workers/redis_worker.hpp"
#include "actors/workers/sqlite_worker.hpp"
#include "supervision/errors.hpp"

extern char** environ;

namespace otpp::config {

std::string problem::to_string() const {
  return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + path + ": " + message;
}

namespace {

constexpr std::size_t max_file_bytes = 1024 * 1024;
constexpr const char* env_prefix = "OTPP__";

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    auto diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      auto up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// Reads one table after another, collecting every problem with its position.
class reader {
public:
  reader(std::string source, std::map<std::string, std::string> overridden)
    : source_(std::move(source)), overridden_(std::move(overridden)) {}

  std::vector<problem> problems;

  void add(const toml::node* at, const std::string& path, std::string message) {
    add(at ? &at->source() : nullptr, path, std::move(message));
  }

  void add(const toml::source_region* at, const std::string& path, std::string message) {
    problem p{source_, 0, 0, path, std::move(message)};
    for (auto& [prefix, variable] : overridden_)
      if (path == prefix || path.rfind(prefix + ".", 0) == 0) {
        p.source = "env:" + variable;
        at = nullptr;
      }
    if (at) {
      p.line = static_cast<int>(at->begin.line);
      p.column = static_cast<int>(at->begin.column);
    }
    problems.push_back(std::move(p));
  }

  // Every key of `t` must be one of `allowed`.
  void only(const toml::table& t, const std::string& path, const std::vector<std::string>& allowed) {
    for (auto&& [key, value] : t) {
      (void) value;
      std::string k{key.str()};
      if (std::find(allowed.begin(), allowed.end(), k) != allowed.end())
        continue;
      std::string closest;
      std::size_t best = 3;
      for (const auto& a : allowed)
        if (auto d = edit_distance(k, a); d < best) {
          best = d;
          closest = a;
        }
      add(&key.source(), join(path, k),
          "unknown key" + (closest.empty() ? std::string{} : " (did you mean '" + closest + "'?)"));
    }
  }

  const toml::table* table(const toml::table& t, const std::string& path, const char* key) {
    auto* n = t.get(key);
    if (!n)
      return nullptr;
    if (auto* sub = n->as_table())
      return sub;
    add(n, join(path, key), "must be a table");
    return nullptr;
  }

  std::optional<int64_t> integer(const toml::table& t, const std::string& path, const char* key, int64_t low,
                                 int64_t high) {
    auto* n = t.get(key);
    if (!n)
      return std::nullopt;
    auto v = n->value_exact<int64_t>();
    if (!v) {
      add(n, join(path, key), "must be an integer");
      return std::nullopt;
    }
    if (*v < low || *v > high) {
      add(n, join(path, key), "must be in [" + std::to_string(low) + ", " + std::to_string(high) + "], got "
                                + std::to_string(*v));
      return std::nullopt;
    }
    return v;
  }

  // A number in [low, high]; `low_open`: in (low, high].
  std::optional<double> number(const toml::table& t, const std::string& path, const char* key, double low,
                               double high, bool low_open = false) {
    auto* n = t.get(key);
    if (!n)
      return std::nullopt;
    auto v = n->value<double>();
    if (!v || !(n->is_integer() || n->is_floating_point())) {
      add(n, join(path, key), "must be a number");
      return std::nullopt;
    }
    if (!((low_open ? *v > low : *v >= low) && *v <= high)) {
      std::ostringstream text;
      text << "must be in " << (low_open ? "(" : "[") << low << ", " << high << "], got " << *v;
      add(n, join(path, key), text.str());
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(const toml::table& t, const std::string& path, const char* key) {
    auto* n = t.get(key);
    if (!n)
      return std::nullopt;
    auto v = n->value_exact<bool>();
    if (!v)
      add(n, join(path, key), "must be true or false");
    return v;
  }

  std::optional<std::string> text(const toml::table& t, const std::string& path, const char* key) {
    auto* n = t.get(key);
    if (!n)
      return std::nullopt;
    auto v = n->value_exact<std::string>();
    if (!v)
      add(n, join(path, key), "must be a string");
    return v;
  }

  // A string that must be one of `choices`.
  std::optional<std::string> choice(const toml::table& t, const std::string& path, const char* key,
                                    std::initializer_list<const char*> choices) {
    auto v = text(t, path, key);
    if (!v)
      return std::nullopt;
    if (std::any_of(choices.begin(), choices.end(), [&](const char* c) { return *v == c; }))
      return v;
    std::string list;
    for (const char* c : choices)
      list += (list.empty() ? "" : ", ") + std::string{c};
    add(t.get(key), join(path, key), "must be one of " + list + ", got '" + *v + "'");
    return std::nullopt;
  }

  // A component's own validation, reported at its table.
  void check(const caf::error& err, const toml::table& t, const std::string& path) {
    if (err)
      add(&t, path, supervision::describe(err));
  }

private:
  std::string source_;
  std::map<std::string, std::string> overridden_; ///< dotted path -> variable
};

std::chrono::milliseconds ms(int64_t x) {
  return std::chrono::milliseconds{x};
}

constexpr int64_t big = int64_t{1} << 53;

supervision::strategy strategy_of(const std::string& name) {
  if (name == "one_for_all")
    return supervision::strategy::one_for_all;
  if (name == "rest_for_one")
    return supervision::strategy::rest_for_one;
  return supervision::strategy::one_for_one;
}

void read_flags(reader& r, const toml::table& t, const std::string& path, supervision::supervisor_flags& flags) {
  if (auto s = r.choice(t, path, "strategy", {"one_for_one", "one_for_all", "rest_for_one"}))
    flags.strategy = strategy_of(*s);
  if (auto i = r.integer(t, path, "intensity", 0, 1'000'000))
    flags.intensity = static_cast<int>(*i);
  if (auto p = r.integer(t, path, "period_ms", 1, big))
    flags.period = ms(*p);
}

// Calls `fn(name, table, path)` for every table under `section`.
void each_named(reader& r, const toml::table& root, const char* section,
                const std::function<void(const std::string&, const toml::table&, const std::string&)>& fn) {
  auto* all = r.table(root, "", section);
  if (!all)
    return;
  for (auto&& [key, value] : *all) {
    std::string name{key.str()};
    auto path = std::string{section} + "." + name;
    if (auto* t = value.as_table())
      fn(name, *t, path);
    else
      r.add(&value, path, "must be a table");
  }
}

void read_limiters(reader& r, const toml::table& root, node_config& c) {
  each_named(r, root, "rate_limiters", [&](const std::string& name, const toml::table& t, const std::string& path) {
    r.only(t, path, {"algorithm", "scale_ms", "limit", "capacity", "refill_per_s", "leak_per_s", "supervisor"});
    placed<rate_limit::limiter_config> l;
    l.config.name = name;
    auto algorithm =
      r.choice(t, path, "algorithm", {"fixed_window", "sliding_window", "token_bucket", "leaky_bucket"});
    if (!algorithm) {
      if (!t.get("algorithm"))
        r.add(&t, path + ".algorithm", "missing");
      return;
    }
    using rate_limit::algorithm;
    bool windowed = *algorithm == "fixed_window" || *algorithm == "sliding_window";
    l.config.algorithm = *algorithm == "fixed_window"     ? algorithm::fixed_window
                         : *algorithm == "sliding_window" ? algorithm::sliding_window
                         : *algorithm == "token_bucket"   ? algorithm::token_bucket
                                                          : algorithm::leaky_bucket;
    auto required = [&](const char* key) {
      if (!t.get(key))
        r.add(&t, join(path, key), "missing (needed by " + *algorithm + ")");
    };
    auto not_for = [&](const char* key) {
      if (t.get(key))
        r.add(t.get(key), join(path, key), "does not apply to " + *algorithm);
    };
    if (windowed) {
      required("scale_ms");
      required("limit");
      for (auto key : {"capacity", "refill_per_s", "leak_per_s"})
        not_for(key);
      if (auto s = r.integer(t, path, "scale_ms", 1, big))
        l.config.scale_ms = *s;
      if (auto v = r.integer(t, path, "limit", 0, big))
        l.config.limit = *v;
    } else {
      auto rate_key = *algorithm == "token_bucket" ? "refill_per_s" : "leak_per_s";
      required("capacity");
      required(rate_key);
      for (auto key : {"scale_ms", "limit", *algorithm == "token_bucket" ? "leak_per_s" : "refill_per_s"})
        not_for(key);
      if (auto v = r.integer(t, path, "capacity", 0, big))
        l.config.capacity = *v;
      if (auto v = r.number(t, path, rate_key, 0, 1e12))
        l.config.rate_per_s = *v;
    }
    l.supervisor = r.text(t, path, "supervisor").value_or("");
    c.limiters.push_back(l);
  });
}

void read_pools(reader& r, const toml::table& root, node_config& c) {
  workers::register_sqlite_kind(); // otpp's own connection workers
  workers::register_redis_kind();
  workers::register_postgres_kind();
  auto kinds = pool::worker_kinds();
  each_named(r, root, "pools", [&](const std::string& name, const toml::table& t, const std::string& path) {
    auto problems_before = r.problems.size();
    r.only(t, path, {"size", "max_overflow", "strategy", "worker", "worker_args", "supervisor"});
    placed<pool::pool_config> p;
    p.config.name = name;
    if (auto v = r.integer(t, path, "size", 0, 100000))
      p.config.size = static_cast<std::size_t>(*v);
    if (auto v = r.integer(t, path, "max_overflow", 0, 100000))
      p.config.max_overflow = static_cast<std::size_t>(*v);
    if (auto s = r.choice(t, path, "strategy", {"lifo", "fifo"}))
      p.config.strategy = *s == "fifo" ? pool::pool_strategy::fifo : pool::pool_strategy::lifo;
    if (auto w = r.text(t, path, "worker")) {
      if (std::find(kinds.begin(), kinds.end(), *w) == kinds.end()) {
        std::string list;
        for (auto& k : kinds)
          list += (list.empty() ? "" : ", ") + k;
        r.add(t.get("worker"), path + ".worker", "unknown worker kind '" + *w + "' (registered: " + list + ")");
      }
      p.config.worker = *w;
    }
    if (auto* args = r.table(t, path, "worker_args")) {
      if (auto accepted = pool::worker_kind_arguments(p.config.worker))
        r.only(*args, path + ".worker_args", *accepted);
      for (auto&& [key, value] : *args) {
        std::string k{key.str()};
        if (auto s = value.value_exact<std::string>())
          p.config.args[k] = *s;
        else if (auto i = value.value_exact<int64_t>())
          p.config.args[k] = std::to_string(*i);
        else if (auto b = value.value_exact<bool>())
          p.config.args[k] = *b ? "true" : "false";
        else if (auto d = value.value_exact<double>())
          p.config.args[k] = std::to_string(*d);
        else
          r.add(&value, path + ".worker_args." + k, "must be a string, number or boolean");
      }
    }
    p.supervisor = r.text(t, path, "supervisor").value_or("");
    if (r.problems.size() == problems_before)
      r.check(pool::validate(p.config), t, path);
    c.pools.push_back(p);
  });
}

void read_breakers(reader& r, const toml::table& root, node_config& c) {
  each_named(r, root, "breakers", [&](const std::string& name, const toml::table& t, const std::string& path) {
    r.only(t, path, {"window", "window_size", "minimum_calls", "failure_threshold", "slow_threshold",
                     "slow_duration_ms", "wait_in_open_ms", "automatic_half_open", "half_open_permits",
                     "max_wait_in_half_open_ms", "supervisor"});
    placed<breaker::breaker_config> b;
    b.config.name = name;
    if (auto w = r.choice(t, path, "window", {"count", "time"}))
      b.config.window = *w == "time" ? breaker::window_kind::time : breaker::window_kind::count;
    if (auto v = r.integer(t, path, "window_size", 1, 1'000'000))
      b.config.window_size = static_cast<uint32_t>(*v);
    if (auto v = r.integer(t, path, "minimum_calls", 1, 1'000'000))
      b.config.minimum_calls = static_cast<uint32_t>(*v);
    if (auto v = r.number(t, path, "failure_threshold", 0, 100, true))
      b.config.failure_threshold = *v;
    if (auto v = r.number(t, path, "slow_threshold", 0, 100, true))
      b.config.slow_threshold = *v;
    if (auto v = r.integer(t, path, "slow_duration_ms", 1, big))
      b.config.slow_duration = ms(*v);
    if (auto v = r.integer(t, path, "wait_in_open_ms", 1, big))
      b.config.wait_in_open = ms(*v);
    if (auto v = r.boolean(t, path, "automatic_half_open"))
      b.config.automatic_half_open = *v;
    if (auto v = r.integer(t, path, "half_open_permits", 1, 1'000'000))
      b.config.half_open_permits = static_cast<uint32_t>(*v);
    if (auto v = r.integer(t, path, "max_wait_in_half_open_ms", 0, big))
      b.config.max_wait_in_half_open = ms(*v);
    b.supervisor = r.text(t, path, "supervisor").value_or("");
    c.breakers.push_back(b);
  });
}

void read_memory(reader& r, const toml::table& root, node_config& c) {
  auto* t = r.table(root, "", "memory");
  if (!t)
    return;
  auto problems_before = r.problems.size();
  r.only(*t, "memory", {"limit_mb", "elevated_percent", "high_percent", "critical_percent", "hysteresis_percent",
                        "sample_interval_ms", "reject_at"});
  memory::memory_config m;
  if (auto v = r.integer(*t, "memory", "limit_mb", 0, int64_t{1} << 40))
    m.limit_mb = static_cast<uint64_t>(*v);
  if (auto v = r.number(*t, "memory", "elevated_percent", 0, 100))
    m.elevated_percent = *v;
  if (auto v = r.number(*t, "memory", "high_percent", 0, 100))
    m.high_percent = *v;
  if (auto v = r.number(*t, "memory", "critical_percent", 0, 100))
    m.critical_percent = *v;
  if (auto v = r.number(*t, "memory", "hysteresis_percent", 0, 100))
    m.hysteresis_percent = *v;
  if (auto v = r.integer(*t, "memory", "sample_interval_ms", 1, big))
    m.sample_interval = ms(*v);
  if (auto v = r.choice(*t, "memory", "reject_at", {"elevated", "high", "critical"}))
    m.reject_at = *v == "elevated" ? memory::pressure::elevated
                  : *v == "high"   ? memory::pressure::high
                                   : memory::pressure::critical;
  if (r.problems.size() == problems_before)
    r.check(memory::validate(m), *t, "memory");
  c.memory = m;
}

void read_supervisors(reader& r, const toml::table& root, node_config& c) {
  if (auto* t = r.table(root, "", "supervisor")) {
    r.only(*t, "supervisor", {"strategy", "intensity", "period_ms"});
    read_flags(r, *t, "supervisor", c.root.flags);
  }
  std::map<std::string, std::pair<supervisor_section, const toml::table*>> named;
  each_named(r, root, "supervisors", [&](const std::string& name, const toml::table& t, const std::string& path) {
    r.only(t, path, {"parent", "strategy", "intensity", "period_ms"});
    supervisor_section s;
    s.name = name;
    s.parent = r.text(t, path, "parent").value_or("");
    read_flags(r, t, path, s.flags);
    named[name] = {s, &t};
  });
  // Each supervisor's own parent must exist; each cycle is told once, from
  // its first member by name.
  std::set<std::string> placed_names;
  for (auto& [name, entry] : named) {
    auto& parent = entry.first.parent;
    if (!parent.empty() && !named.count(parent)) {
      r.add(entry.second->get("parent"), "supervisors." + name + ".parent", "no supervisor '" + parent + "'");
      continue;
    }
    std::vector<std::string> chain{name};
    for (auto up = parent; !up.empty() && named.count(up); up = named.at(up).first.parent) {
      if (up == name) {
        if (*std::min_element(chain.begin(), chain.end()) == name) {
          std::string cycle;
          for (auto& n : chain)
            cycle += n + " -> ";
          r.add(entry.second->get("parent"), "supervisors." + name + ".parent", "cycle: " + cycle + name);
        }
        break;
      }
      if (std::find(chain.begin(), chain.end(), up) != chain.end())
        break; // a cycle further up, told by its own members
      chain.push_back(up);
    }
  }
  std::function<void(const std::string&)> place = [&](const std::string& name) {
    if (placed_names.count(name) || !named.count(name))
      return;
    placed_names.insert(name);
    auto& s = named[name].first;
    if (!s.parent.empty())
      place(s.parent);
    c.supervisors.push_back(s);
  };
  if (r.problems.empty())
    for (auto& [name, entry] : named)
      place(name);
  // Components must name a known supervisor.
  auto known = [&](const std::string& s) { return s.empty() || named.count(s); };
  auto check_place = [&](const char* section, const std::string& name, const std::string& supervisor) {
    if (known(supervisor))
      return;
    auto* t = root.get(section) ? root.get(section)->as_table() : nullptr;
    auto* item = t && t->get(name) ? t->get(name)->as_table() : nullptr;
    r.add(item ? item->get("supervisor") : nullptr, std::string{section} + "." + name + ".supervisor",
          "no supervisor '" + supervisor + "'");
  };
  for (auto& l : c.limiters)
    check_place("rate_limiters", l.config.name, l.supervisor);
  for (auto& p : c.pools)
    check_place("pools", p.config.name, p.supervisor);
  for (auto& b : c.breakers)
    check_place("breakers", b.config.name, b.supervisor);
}

// sentinels = ["host:port", ...] with master_name, instead of url.
void read_sentinels(reader& r, const toml::table& t, const std::string& path, rate_limit::redis_options& o) {
  auto* list = t.get("sentinels");
  if (list) {
    auto* items = list->as_array();
    if (!items || items->empty())
      r.add(list, path + ".sentinels", "must be a non-empty array of \"host:port\" strings");
    for (std::size_t i = 0; items && i < items->size(); ++i) {
      auto* item = items->get(i);
      auto at = path + ".sentinels[" + std::to_string(i) + "]";
      auto text = item->value_exact<std::string>();
      if (!text)
        r.add(item, at, "must be a string \"host:port\"");
      else if (auto parsed = redis::parse_host_port(*text); !parsed)
        r.add(item, at, supervision::describe(parsed.error()));
      else
        o.sentinels.push_back(*text);
    }
    if (t.get("url"))
      r.add(list, path + ".sentinels", "give either url or sentinels, not both");
    if (!t.get("master_name"))
      r.add(&t, path + ".master_name", "missing (needed with sentinels)");
  }
  if (auto v = r.text(t, path, "master_name")) {
    if (v->empty())
      r.add(t.get("master_name"), path + ".master_name", "must not be empty");
    else if (!list)
      r.add(t.get("master_name"), path + ".master_name", "only applies with sentinels");
    o.master_name = *v;
  }
}

void read_rate_limiting(reader& r, const toml::table& root, node_config& c) {
  auto* t = r.table(root, "", "rate_limiting");
  if (!t)
    return;
  r.only(*t, "rate_limiting", {"backend", "cleanup_interval_ms", "redis"});
  if (auto b = r.choice(*t, "rate_limiting", "backend", {"memory", "redis"}))
    c.rate_limiting.backend = *b;
  if (auto v = r.integer(*t, "rate_limiting", "cleanup_interval_ms", 1, big))
    c.rate_limiting.cleanup_interval = ms(*v);
  if (auto* redis = r.table(*t, "rate_limiting", "redis")) {
    const std::string path = "rate_limiting.redis";
    r.only(*redis, path, {"url", "sentinels", "master_name", "prefix", "timeout_ms", "connections", "on_error"});
    auto& o = c.rate_limiting.redis;
    if (auto v = r.text(*redis, path, "url")) {
      o.url = *v;
      if (auto parsed = redis::parse_url(*v); !parsed)
        r.add(redis->get("url"), path + ".url", supervision::describe(parsed.error()));
    }
    read_sentinels(r, *redis, path, o);
    if (auto v = r.text(*redis, path, "prefix"))
      o.prefix = *v;
    if (auto v = r.integer(*redis, path, "timeout_ms", 1, 3'600'000))
      o.timeout = ms(*v);
    if (auto v = r.integer(*redis, path, "connections", 1, 1024))
      o.connections = static_cast<int>(*v);
    if (auto v = r.choice(*redis, path, "on_error", {"fail_closed", "fail_open"}))
      o.on_error = *v == "fail_open" ? rate_limit::failure_policy::fail_open : rate_limit::failure_policy::fail_closed;
  }
}

void read_cluster(reader& r, const toml::table& root, node_config& c) {
  auto* t = r.table(root, "", "cluster");
  if (!t)
    return;
  const std::string path = "cluster";
  r.only(*t, path, {"node_name", "listen", "peers", "heartbeat_interval_ms", "connection_timeout_ms",
                    "connect_timeout_ms", "reconnect_backoff_ms", "insecure_plaintext", "tls"});
  cluster::cluster_config k;
  if (auto v = r.text(*t, path, "node_name")) {
    if (!cluster::valid_node_name(*v))
      r.add(t->get("node_name"), "cluster.node_name", "must match [A-Za-z0-9_-]{1,64}, got '" + *v + "'");
    k.node_name = *v;
  } else if (!t->get("node_name")) {
    r.add(t, "cluster.node_name", "missing");
  }
  if (auto v = r.text(*t, path, "listen")) {
    if (auto a = cluster::parse_address(*v))
      k.listen = *a;
    else
      r.add(t->get("listen"), "cluster.listen", supervision::describe(a.error()));
  }
  if (auto* n = t->get("peers")) {
    auto* list = n->as_array();
    if (!list)
      r.add(n, "cluster.peers", "must be an array of \"name@host:port\" strings");
    std::set<std::string> names;
    for (std::size_t i = 0; list && i < list->size(); ++i) {
      auto* item = list->get(i);
      auto at = "cluster.peers[" + std::to_string(i) + "]";
      auto text = item->value_exact<std::string>();
      if (!text) {
        r.add(item, at, "must be a string \"name@host:port\"");
        continue;
      }
      auto peer = cluster::parse_peer(*text);
      if (!peer)
        r.add(item, at, supervision::describe(peer.error()));
      else if (peer->name == k.node_name)
        r.add(item, at, "is this node itself ('" + k.node_name + "'); list only the other nodes");
      else if (!names.insert(peer->name).second)
        r.add(item, at, "a second peer named '" + peer->name + "'");
      else
        k.peers.push_back(*peer);
    }
  }
  if (auto v = r.integer(*t, path, "heartbeat_interval_ms", 1, 3'600'000))
    k.heartbeat_interval = ms(*v);
  if (auto v = r.integer(*t, path, "connection_timeout_ms", 1, 3'600'000))
    k.connection_timeout = ms(*v);
  if (k.connection_timeout < 3 * k.heartbeat_interval)
    r.add(t->get("connection_timeout_ms") ? t->get("connection_timeout_ms") : t, "cluster.connection_timeout_ms",
          "must be >= 3 x heartbeat_interval_ms (" + std::to_string(3 * k.heartbeat_interval.count()) + "), got "
            + std::to_string(k.connection_timeout.count()));
  if (auto v = r.integer(*t, path, "connect_timeout_ms", 1, 3'600'000))
    k.connect_timeout = ms(*v);
  if (auto* n = t->get("reconnect_backoff_ms")) {
    auto* pair = n->as_array();
    auto low = pair && pair->size() == 2 ? pair->get(0)->value_exact<int64_t>() : std::nullopt;
    auto high = pair && pair->size() == 2 ? pair->get(1)->value_exact<int64_t>() : std::nullopt;
    if (!low || !high || *low < 1 || *high < *low || *high > 3'600'000)
      r.add(n, "cluster.reconnect_backoff_ms", "must be [min, max] in ms with 1 <= min <= max <= 3600000");
    else {
      k.reconnect_backoff_min = ms(*low);
      k.reconnect_backoff_max = ms(*high);
    }
  }
  if (auto v = r.boolean(*t, path, "insecure_plaintext"))
    k.insecure_plaintext = *v;
  if (auto* tls = r.table(*t, path, "tls")) {
    r.only(*tls, "cluster.tls", {"certificate", "key", "cafile", "passphrase"});
    cluster::tls_config files;
    for (auto [key, field] : {std::pair{"certificate", &cluster::tls_config::certificate},
                              std::pair{"key", &cluster::tls_config::key}, std::pair{"cafile", &cluster::tls_config::cafile}}) {
      auto v = r.text(*tls, "cluster.tls", key);
      if (!v) {
        if (!tls->get(key))
          r.add(tls, "cluster.tls." + std::string{key},
                "missing: certificate, key and cafile are all required (CAF would otherwise fall back to "
                "unauthenticated encryption)");
        continue;
      }
      if (!std::ifstream{*v})
        r.add(tls->get(key), "cluster.tls." + std::string{key}, "cannot read '" + *v + "'");
      files.*field = *v;
    }
    files.passphrase = r.text(*tls, "cluster.tls", "passphrase").value_or("");
    k.tls = files;
  }
  if (!k.tls && !k.insecure_plaintext && !cluster::is_loopback(k.listen.host))
    r.add(t->get("listen"), "cluster.listen",
          "'" + k.listen.to_string() + "' is not a loopback address: configure [cluster.tls], or set "
          "insecure_plaintext = true to send node traffic unencrypted");
  c.cluster = k;
}

node_config read(reader& r, const toml::table& root) {
  node_config c;
  r.only(root, "", {"node", "logging", "supervisor", "supervisors", "rate_limiting", "rate_limiters", "pools",
                    "breakers", "memory", "http", "cluster", "demo"});
  if (auto* t = r.table(root, "", "node")) {
    r.only(*t, "node", {"name", "scheduler"});
    if (auto v = r.text(*t, "node", "name")) {
      if (v->empty())
        r.add(t->get("name"), "node.name", "must not be empty");
      c.name = *v;
    }
    if (auto* s = r.table(*t, "node", "scheduler")) {
      r.only(*s, "node.scheduler", {"policy", "max-threads"});
      if (auto v = r.choice(*s, "node.scheduler", "policy", {"stealing", "sharing"}))
        c.scheduler.policy = *v;
      if (auto v = r.integer(*s, "node.scheduler", "max-threads", 1, 1024))
        c.scheduler.max_threads = static_cast<std::size_t>(*v);
    }
  }
  if (auto* t = r.table(root, "", "logging")) {
    r.only(*t, "logging", {"level", "format", "file"});
    if (auto v = r.choice(*t, "logging", "level", {"trace", "debug", "info", "warn", "error", "critical"}))
      c.logging.level = *v;
    if (auto v = r.choice(*t, "logging", "format", {"text", "json"}))
      c.logging.format = *v;
    if (auto v = r.text(*t, "logging", "file"))
      c.logging.file = *v;
  }
  read_rate_limiting(r, root, c);
  read_limiters(r, root, c);
  read_pools(r, root, c);
  read_breakers(r, root, c);
  read_memory(r, root, c);
  read_supervisors(r, root, c);
  if (auto* t = r.table(root, "", "http")) {
    r.only(*t, "http", {"listen"});
    c.http.listen = r.text(*t, "http", "listen").value_or("");
    auto colon = c.http.listen.rfind(':');
    auto port = colon == std::string::npos ? std::string{} : c.http.listen.substr(colon + 1);
    if (!c.http.listen.empty()
        && (colon == 0 || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos
            || std::stoi(port) > 65535))
      r.add(t->get("listen"), "http.listen", "expected host:port (port 0-65535), got '" + c.http.listen + "'");
  }
  read_cluster(r, root, c);
  if (auto* t = r.table(root, "", "demo")) {
    r.only(*t, "demo", {"duration_s", "clients", "rate_per_s", "crash_probability", "failure_probability", "keys"});
    demo_config d;
    if (auto v = r.integer(*t, "demo", "duration_s", 1, 86400))
      d.duration = std::chrono::seconds(*v);
    if (auto v = r.integer(*t, "demo", "clients", 1, 256))
      d.clients = static_cast<int>(*v);
    if (auto v = r.number(*t, "demo", "rate_per_s", 0, 10000, true))
      d.rate_per_s = *v;
    if (auto v = r.number(*t, "demo", "crash_probability", 0, 1))
      d.crash_probability = *v;
    if (auto v = r.number(*t, "demo", "failure_probability", 0, 1))
      d.failure_probability = *v;
    if (auto v = r.integer(*t, "demo", "keys", 1, 1'000'000))
      d.keys = static_cast<int>(*v);
    for (auto [section, name] : {std::pair{"rate_limiters", "config_update"}, std::pair{"pools", "database"},
                                 std::pair{"breakers", "config_server"}}) {
      auto* s = root.get(section) ? root.get(section)->as_table() : nullptr;
      if (!s || !s->get(name))
        r.add(t, "demo", std::string{"needs "} + section + "." + name);
    }
    c.demo = d;
  }
  // Names are unique across the tree: they are child ids and registered names.
  std::map<std::string, std::string> owners;
  auto unique = [&](const std::string& name, const std::string& path) {
    if (auto [i, fresh] = owners.emplace(name, path); !fresh)
      r.add(static_cast<const toml::node*>(nullptr), path, "the name '" + name + "' is already used by " + i->second);
  };
  for (auto& s : c.supervisors)
    unique(s.name, "supervisors." + s.name);
  for (auto& l : c.limiters)
    unique(l.config.name, "rate_limiters." + l.config.name);
  for (auto& p : c.pools)
    unique(p.config.name, "pools." + p.config.name);
  for (auto& b : c.breakers)
    unique(b.config.name, "breakers." + b.config.name);
  return c;
}

// Applies OTPP__SECTION__KEY=value overrides; returns dotted path -> variable.
std::map<std::string, std::string> apply(toml::table& root, const environment& env, std::vector<problem>& problems) {
  std::map<std::string, std::string> applied;
  for (auto& [variable, value] : env) {
    if (variable.rfind(env_prefix, 0) != 0)
      continue;
    std::vector<std::string> keys;
    std::string rest = variable.substr(std::string{env_prefix}.size());
    for (std::size_t start = 0;;) {
      auto end = rest.find("__", start);
      keys.push_back(lower(rest.substr(start, end - start)));
      if (end == std::string::npos)
        break;
      start = end + 2;
    }
    std::string path;
    for (auto& k : keys)
      path = join(path, k);
    if (std::any_of(keys.begin(), keys.end(), [](auto& k) { return k.empty(); }) || keys.size() < 2) {
      problems.push_back({"env:" + variable, 0, 0, path, "expected OTPP__SECTION__KEY=value"});
      continue;
    }
    toml::table* at = &root;
    bool ok = true;
    for (std::size_t i = 0; i + 1 < keys.size() && ok; ++i) {
      auto* next = at->get(keys[i]);
      if (!next)
        next = at->insert_or_assign(keys[i], toml::table{}).first->second.as_table();
      ok = next && next->is_table();
      at = ok ? next->as_table() : nullptr;
    }
    if (!ok) {
      problems.push_back({"env:" + variable, 0, 0, path, "is not a table in the file"});
      continue;
    }
    // The value as TOML (numbers, booleans, quoted strings), else as plain text.
    toml::table parsed;
    try {
      parsed = toml::parse("v = " + value);
    } catch (const toml::parse_error&) {
      parsed.insert_or_assign("v", value);
    }
    at->insert_or_assign(keys.back(), *parsed.get("v"));
    applied[path] = variable;
  }
  return applied;
}

} // namespace

environment process_environment() {
  environment env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry{*e};
    if (entry.rfind(env_prefix, 0) != 0)
      continue;
    auto eq = entry.find('=');
    if (eq != std::string::npos)
      env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

load_result load_string(const std::string& text, const std::string& source, const environment& env) {
  load_result result;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    result.problems.push_back({source, 1, 1, "", "the file is empty"});
    return result;
  }
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    result.problems.push_back({source, static_cast<int>(e.source().begin.line),
                               static_cast<int>(e.source().begin.column), "", std::string{e.description()}});
    return result;
  }
  std::vector<problem> env_problems;
  auto overridden = apply(root, env, env_problems);
  reader r{source, overridden};
  auto config = read(r, root);
  result.problems = std::move(env_problems);
  result.problems.insert(result.problems.end(), r.problems.begin(), r.problems.end());
  if (result.problems.empty())
    result.config = std::move(config);
  return result;
}

load_result load_file(const std::string& path, const environment& env) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return {std::nullopt, {{path, 0, 0, "", "cannot read the file"}}};
  std::string text(max_file_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_file_bytes)
    return {std::nullopt, {{path, 0, 0, "", "the file is larger than 1 MiB"}}};
  return load_string(text, path, env);
}

} // namespace otpp::config
