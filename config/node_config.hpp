#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/breaker/circuit_breaker.hpp"
#include "actors/cluster/cluster_config.hpp"
#include "actors/memory/memory_manager.hpp"
#include "actors/pool/pool.hpp"
#include "actors/rate_limit/limiter.hpp"
#include "supervision/child_spec.hpp"

namespace otpp::config {

/// One thing wrong with a configuration, where it is.
struct problem {
  std::string source; ///< the file, or "env:OTPP__..." for an override
  int line = 0;       ///< 1-based; 0 when unknown
  int column = 0;
  std::string path; ///< the key's dotted path, e.g. "pools.database.size"
  std::string message;

  /// `source:line:column: path: message`
  std::string to_string() const;
};

struct logging_config {
  std::string level = "info"; ///< trace, debug, info, warn, error, critical
  std::string format = "text"; ///< text or json
  std::string file;            ///< empty: stderr
};

/// A supervisor of the tree; the root has an empty name and no parent.
struct supervisor_section {
  std::string name;
  std::string parent; ///< empty: the root
  supervision::supervisor_flags flags;
};

/// Where a component goes in the tree.
template <class Config>
struct placed {
  Config config;
  std::string supervisor; ///< empty: the root
};

struct rate_limiting_config {
  std::string backend = "memory"; ///< memory or redis
  std::chrono::milliseconds cleanup_interval{30000};
  rate_limit::redis_options redis;
};

/// `[node] scheduler.*`: CAF's scheduler for the node's actor system.
struct scheduler_config {
  std::string policy = "stealing"; ///< `stealing` (CAF's work stealing) or `sharing` (one shared queue)
  std::size_t max_threads = 0;     ///< scheduler threads; 0: one per core
};

struct http_config {
  std::string listen; ///< empty: off
};

/// `[demo]`: a configuration service in the style of the seed's ConfigServer,
/// run by otpp-node against its own tree (see config/demo.hpp).
struct demo_config {
  std::chrono::seconds duration{10}; ///< how long clients run
  int clients = 4;                   ///< client threads
  double rate_per_s = 5;             ///< updates per second and client (as many reads)
  double crash_probability = 0.05;   ///< an update's database worker crashes
  double failure_probability = 0.0;  ///< an update fails (counts against the breaker)
  int keys = 8;                      ///< config keys the clients share
};

/// A whole node, as its TOML file describes it.
struct node_config {
  std::string name = "otpp-node";
  scheduler_config scheduler;
  logging_config logging;
  supervisor_section root;
  std::vector<supervisor_section> supervisors; ///< parents before children
  rate_limiting_config rate_limiting;
  std::vector<placed<rate_limit::limiter_config>> limiters;
  std::vector<placed<pool::pool_config>> pools;
  std::vector<placed<breaker::breaker_config>> breakers;
  std::optional<memory::memory_config> memory; ///< absent: no memory manager
  http_config http;
  std::optional<cluster::cluster_config> cluster; ///< absent: a single node
  std::optional<demo_config> demo; ///< absent: no demo workload
};

/// A configuration, or every problem found in it.
struct load_result {
  std::optional<node_config> config;
  std::vector<problem> problems;
};

/// Environment overrides: variable name to value (e.g. from `environ`).
using environment = std::map<std::string, std::string>;

/// The OTPP__SECTION__KEY=value variables of the process.
environment process_environment();

/// Parses and validates `text` (named `source` in problems), with the
/// overrides of `env` applied first; reports all problems at once.
load_result load_string(const std::string& text, const std::string& source, const environment& env = {});

/// As `load_string`, for a file (at most 1 MiB).
load_result load_file(const std::string& path, const environment& env = {});

/// Exit code for a configuration error (EX_CONFIG).
constexpr int exit_config_error = 78;

} // namespace otpp::config
