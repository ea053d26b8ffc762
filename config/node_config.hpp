#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "otpp/actors/breaker/circuit_breaker.hpp"
#include "otpp/actors/cluster/cluster_config.hpp"
#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/rate_limit/limiter.hpp"
#include "otpp/supervision/arguments.hpp"
#include "otpp/supervision/child_spec.hpp"

/// The plain data of a node's TOML file (see loader.hpp).
namespace otpp::config {

/// `[logging]`: the process log (see actors/events/log_sink.hpp).
struct logging_config {
  /// trace, debug, info, warn, error, critical; otpp's events have four
  /// levels: trace means debug, critical means error.
  std::string level = "info";
  std::string format = "text"; ///< text or json
  std::string file;            ///< empty: stderr
  /// The burst limit: at most `burst_limit_max_count` events of one kind
  /// about one component per `burst_limit_window`, then one summary line.
  bool burst_limit_enable = true;
  std::size_t burst_limit_max_count = 50;
  std::chrono::milliseconds burst_limit_window{1000};
  std::size_t drop_mode_qlen = 1000; ///< lines waiting for the writer beyond which events are dropped
};

/// A child of a registered child kind, as `[children.NAME]` or a
/// `simple_one_for_one` supervisor's `template` describes it.
struct child_section {
  std::string name;       ///< child id and registered name (a template's: the supervisor's name)
  std::string kind;       ///< a registered child kind
  std::string supervisor; ///< empty: the root
  supervision::restart_type restart = supervision::restart_type::permanent;
  supervision::shutdown_policy shutdown = supervision::shutdown_policy::after(std::chrono::milliseconds{5000});
  bool significant = false;
  supervision::arguments args; ///< checked against the kind's declaration, defaults filled in
};

/// A supervisor of the tree; the root has an empty name and no parent.
struct supervisor_section {
  std::string name;
  std::string parent; ///< empty: the root
  supervision::supervisor_flags flags;
  std::optional<child_section> child_template; ///< `simple_one_for_one`: the children it starts
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

/// `[http.tls]`: the endpoint serves HTTPS with this certificate chain and key (PEM files).
struct http_tls_config {
  std::string certificate; ///< PEM file: the server's certificate (chain)
  std::string key;         ///< PEM file: its private key (unencrypted)
};

/// `[http]`: the node's HTTP endpoint (config/http_endpoint.hpp) and its bounds.
struct http_config {
  std::string listen;        ///< "host:port" or "[v6]:port"; empty: off
  bool allow_remote = false; ///< a non-loopback `listen` is refused unless set (and a token is set)
  std::string token_file;    ///< file holding the bearer token (surrounding whitespace ignored)
  std::string token_env;     ///< environment variable holding the bearer token
  std::optional<http_tls_config> tls; ///< absent: plain HTTP
  std::size_t max_connections = 256;  ///< connections served at once; more are answered 503 and closed
  std::chrono::milliseconds read_timeout{5000};  ///< a request's head and body must arrive within it (408)
  std::chrono::milliseconds write_timeout{5000}; ///< a response must be taken within it, else the connection closes
  std::chrono::milliseconds idle_timeout{5000};  ///< a kept-alive connection waits this long for the next request
  std::size_t max_header_bytes = 16384; ///< request line and headers together (431 beyond)
  std::size_t max_headers = 64;         ///< header lines (431 beyond)
  std::size_t max_body_bytes = 65536;   ///< a larger Content-Length is answered 413 before any byte of the body is read
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

/// The component named `name` of `xs` (limiters, pools, breakers), or null.
template <class Config>
const placed<Config>* find_component(const std::vector<placed<Config>>& xs, const std::string& name) {
  for (auto& x : xs)
    if (x.config.name == name)
      return &x;
  return nullptr;
}

/// The section named `name` of `xs` (supervisors, children), or null.
template <class Section>
const Section* find_section(const std::vector<Section>& xs, const std::string& name) {
  for (auto& x : xs)
    if (x.name == name)
      return &x;
  return nullptr;
}

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
  std::vector<child_section> children; ///< in file order
  std::optional<memory::memory_config> memory; ///< absent: no memory manager
  http_config http;
  std::optional<cluster::cluster_config> cluster; ///< absent: a single node
  std::optional<demo_config> demo; ///< absent: no demo workload
};

} // namespace otpp::config
