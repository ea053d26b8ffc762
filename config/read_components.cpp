#include <algorithm>

#include "otpp/actors/pool/worker_kinds.hpp"
#include "otpp/actors/redis/connection.hpp"
#include "otpp/actors/workers/postgres_worker.hpp"
#include "otpp/actors/workers/redis_worker.hpp"
#include "otpp/actors/workers/sqlite_worker.hpp"
#include "otpp/config/sections.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::config {

void read_limiters(toml_reader& r, const toml::table& root, node_config& c) {
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
      if (auto s = r.integer(t, path, "scale_ms", 1, max_duration_ms))
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

void read_pools(toml_reader& r, const toml::table& root, node_config& c) {
  workers::register_sqlite_kind(); // otpp's own connection workers
  workers::register_redis_kind();
  workers::register_postgres_kind();
  each_named(r, root, "pools", [&](const std::string& name, const toml::table& t, const std::string& path) {
    auto problems_before = r.problems.size();
    r.only(t, path, {"size", "max_overflow", "strategy", "worker", "worker_args", "supervisor", "crash_alarm_exits",
                     "crash_alarm_window_ms"});
    placed<pool::pool_config> p;
    p.config.name = name;
    if (auto v = r.integer(t, path, "size", 0, 100000))
      p.config.size = static_cast<std::size_t>(*v);
    if (auto v = r.integer(t, path, "max_overflow", 0, 100000))
      p.config.max_overflow = static_cast<std::size_t>(*v);
    if (auto s = r.choice(t, path, "strategy", {"lifo", "fifo"}))
      p.config.strategy = *s == "fifo" ? pool::pool_strategy::fifo : pool::pool_strategy::lifo;
    if (auto v = r.integer(t, path, "crash_alarm_exits", 0, 1000000))
      p.config.crash_alarm_exits = static_cast<std::size_t>(*v);
    if (auto v = r.integer(t, path, "crash_alarm_window_ms", 1, max_duration_ms))
      p.config.crash_alarm_window = ms(*v);
    auto* args = r.table(t, path, "worker_args");
    auto worker = r.text(t, path, "worker");
    if (worker || !t.get("worker")) { // absent: the default kind
      p.config.worker = worker.value_or(p.config.worker);
      if (auto kind = pool::find_worker_kind(p.config.worker); !kind)
        r.add(t.get("worker"), path + ".worker", text_of(kind.error()));
      else if (auto checked = r.kind_arguments(args, &t, path + ".worker_args", kind->arguments))
        p.config.args = std::move(*checked);
    }
    p.supervisor = r.text(t, path, "supervisor").value_or("");
    if (r.problems.size() == problems_before)
      r.check(pool::validate(p.config), t, path);
    c.pools.push_back(p);
  });
}

void read_breakers(toml_reader& r, const toml::table& root, node_config& c) {
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
    if (auto v = r.integer(t, path, "slow_duration_ms", 1, max_duration_ms))
      b.config.slow_duration = ms(*v);
    if (auto v = r.integer(t, path, "wait_in_open_ms", 1, max_duration_ms))
      b.config.wait_in_open = ms(*v);
    if (auto v = r.boolean(t, path, "automatic_half_open"))
      b.config.automatic_half_open = *v;
    if (auto v = r.integer(t, path, "half_open_permits", 1, 1'000'000))
      b.config.half_open_permits = static_cast<uint32_t>(*v);
    if (auto v = r.integer(t, path, "max_wait_in_half_open_ms", 0, max_duration_ms))
      b.config.max_wait_in_half_open = ms(*v);
    b.supervisor = r.text(t, path, "supervisor").value_or("");
    c.breakers.push_back(b);
  });
}

void read_memory(toml_reader& r, const toml::table& root, node_config& c) {
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
  if (auto v = r.integer(*t, "memory", "sample_interval_ms", 1, max_duration_ms))
    m.sample_interval = ms(*v);
  if (auto v = r.choice(*t, "memory", "reject_at", {"elevated", "high", "critical"}))
    m.reject_at = *v == "elevated" ? memory::pressure::elevated
                  : *v == "high"   ? memory::pressure::high
                                   : memory::pressure::critical;
  if (r.problems.size() == problems_before)
    r.check(memory::validate(m), *t, "memory");
  c.memory = m;
}

namespace {

// sentinels = ["host:port", ...] with master_name, instead of url.
void read_sentinels(toml_reader& r, const toml::table& t, const std::string& path, rate_limit::redis_options& o) {
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

} // namespace

void read_rate_limiting(toml_reader& r, const toml::table& root, node_config& c) {
  auto* t = r.table(root, "", "rate_limiting");
  if (!t)
    return;
  r.only(*t, "rate_limiting", {"backend", "cleanup_interval_ms", "redis"});
  if (auto b = r.choice(*t, "rate_limiting", "backend", {"memory", "redis"}))
    c.rate_limiting.backend = *b;
  if (auto v = r.integer(*t, "rate_limiting", "cleanup_interval_ms", 1, max_duration_ms))
    c.rate_limiting.cleanup_interval = ms(*v);
  if (auto* redis = r.table(*t, "rate_limiting", "redis")) {
    const std::string path = "rate_limiting.redis";
    r.only(*redis, path,
           {"url", "sentinels", "master_name", "prefix", "timeout_ms", "connections", "on_error", "block", "block_lease_ms"});
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
    if (auto v = r.integer(*redis, path, "block", 0, (int64_t{1} << 53) - 1))
      o.block = *v;
    if (auto v = r.integer(*redis, path, "block_lease_ms", 1, 3'600'000))
      o.block_lease = ms(*v);
  }
}

} // namespace otpp::config
