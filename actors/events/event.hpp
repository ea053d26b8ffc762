#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>

namespace otpp::events {

/// How serious an event is; the log's level filter compares against it.
enum class level : uint8_t { debug, info, warning, error };

/// "debug", "info", "warning", "error".
const char* to_string(level x);

// Every event is a plain struct with named fields. Each has:
// - `name`: what the logs call it (the JSON key "event");
// - `component_kind` and `component()`: what it is about ("pool", "database"),
//   the key of the log's burst limit and of its summaries;
// - `severity()`: its level;
// - `fields(f)`: calls f(key, value) for each field in order, with values of
//   type std::string, uint64_t, int64_t, double or bool (what sinks render).
// Reasons are texts as `supervision::describe` renders them.

// --- Supervisors: OTP's (SASL) supervisor reports. ---------------------------

/// A child's incarnation is running.
struct child_started {
  static constexpr const char* name = "child_started";
  static constexpr const char* component_kind = "supervisor";
  std::string supervisor;
  std::string strategy; ///< e.g. "one_for_one"
  std::string child;
  uint64_t restarts = 0; ///< restarts the supervisor has made of this child
  const std::string& component() const { return supervisor; }
  level severity() const { return level::info; }
  template <class F>
  void fields(F&& f) const {
    f("supervisor", supervisor), f("strategy", strategy), f("child", child), f("restarts", restarts);
  }
};

/// Shared shape of the four error reports about one child.
struct child_report {
  static constexpr const char* component_kind = "supervisor";
  std::string supervisor;
  std::string strategy;
  std::string child;
  std::string reason;
  uint64_t restarts = 0;
  const std::string& component() const { return supervisor; }
  level severity() const { return level::error; }
  template <class F>
  void fields(F&& f) const {
    f("supervisor", supervisor), f("strategy", strategy), f("child", child), f("reason", reason),
      f("restarts", restarts);
  }
};

/// A child ended by itself with an abnormal reason (or was permanent).
struct child_terminated : child_report {
  static constexpr const char* name = "child_terminated";
};

/// A child's start function failed.
struct start_error : child_report {
  static constexpr const char* name = "start_error";
};

/// A child did not stop as asked (e.g. "killed" after its shutdown timeout).
struct shutdown_error : child_report {
  static constexpr const char* name = "shutdown_error";
};

/// The supervisor gives up: too many restarts in its period.
struct reached_max_restart_intensity : child_report {
  static constexpr const char* name = "reached_max_restart_intensity";
};

/// The supervisor ends; `restarts` counts all restarts it made.
struct supervisor_shutdown {
  static constexpr const char* name = "supervisor_shutdown";
  static constexpr const char* component_kind = "supervisor";
  std::string supervisor;
  std::string strategy;
  std::string reason;
  uint64_t restarts = 0;
  bool normal = true; ///< a normal or shutdown reason (info); otherwise error
  const std::string& component() const { return supervisor; }
  level severity() const { return normal ? level::info : level::error; }
  template <class F>
  void fields(F&& f) const {
    f("supervisor", supervisor), f("strategy", strategy), f("reason", reason), f("restarts", restarts),
      f("normal", normal);
  }
};

// --- Pools. -------------------------------------------------------------------

/// A pool started a worker (to fill its size, replace one, or as overflow;
/// overflow churn is routine, so those are debug).
struct pool_worker_started {
  static constexpr const char* name = "pool_worker_started";
  static constexpr const char* component_kind = "pool";
  std::string pool;
  std::string worker;   ///< the worker's label in the pool (its kind and number)
  bool overflow = false;
  const std::string& component() const { return pool; }
  level severity() const { return overflow ? level::debug : level::info; }
  template <class F>
  void fields(F&& f) const {
    f("pool", pool), f("worker", worker), f("overflow", overflow);
  }
};

/// A pool's worker ended without being dismissed: `cause` is "crash" (it
/// exited abnormally, or its holder released it as broken) or "normal".
struct pool_worker_exited {
  static constexpr const char* name = "pool_worker_exited";
  static constexpr const char* component_kind = "pool";
  std::string pool;
  std::string worker;
  std::string cause;
  std::string reason;
  const std::string& component() const { return pool; }
  level severity() const { return cause == "normal" ? level::info : level::error; }
  template <class F>
  void fields(F&& f) const {
    f("pool", pool), f("worker", worker), f("cause", cause), f("reason", reason);
  }
};

/// A pool stopped a worker it no longer needs (an overflow worker checked in,
/// or a smaller size): routine, so debug.
struct pool_worker_dismissed {
  static constexpr const char* name = "pool_worker_dismissed";
  static constexpr const char* component_kind = "pool";
  std::string pool;
  std::string worker;
  std::string why; ///< e.g. "overflow_checked_in"
  const std::string& component() const { return pool; }
  level severity() const { return level::debug; }
  template <class F>
  void fields(F&& f) const {
    f("pool", pool), f("worker", worker), f("why", why);
  }
};

/// A pool could not start a worker.
struct pool_start_error {
  static constexpr const char* name = "pool_start_error";
  static constexpr const char* component_kind = "pool";
  std::string pool;
  std::string worker_kind;
  std::string reason;
  const std::string& component() const { return pool; }
  level severity() const { return level::error; }
  template <class F>
  void fields(F&& f) const {
    f("pool", pool), f("worker_kind", worker_kind), f("reason", reason);
  }
};

/// Callers started waiting for a worker (the queue was empty), or the last
/// waiting caller was served or gave up (`waiting` is 0).
struct pool_waiters {
  static constexpr const char* name = "pool_waiters";
  static constexpr const char* component_kind = "pool";
  std::string pool;
  uint64_t waiting = 0;
  const std::string& component() const { return pool; }
  level severity() const { return waiting > 0 ? level::warning : level::info; }
  template <class F>
  void fields(F&& f) const {
    f("pool", pool), f("waiting", waiting);
  }
};

// --- Breakers, limiters, memory. ------------------------------------------------

/// A circuit breaker moved between "closed", "open", "half_open", "disabled"
/// and "forced_open" (warning when calls are now rejected).
struct breaker_state_changed {
  static constexpr const char* name = "breaker_state_changed";
  static constexpr const char* component_kind = "breaker";
  std::string breaker;
  std::string from;
  std::string to;
  const std::string& component() const { return breaker; }
  level severity() const { return to == "open" || to == "forced_open" ? level::warning : level::info; }
  template <class F>
  void fields(F&& f) const {
    f("breaker", breaker), f("from", from), f("to", to);
  }
};

/// A limiter's shared backend (Redis) fails; `policy` says what hits get
/// meanwhile ("fail_closed": deny, or "fail_open": allow).
struct limiter_backend_degraded {
  static constexpr const char* name = "limiter_backend_degraded";
  static constexpr const char* component_kind = "limiter";
  std::string limiter;
  std::string backend;
  std::string policy;
  std::string reason;
  const std::string& component() const { return limiter; }
  level severity() const { return level::warning; }
  template <class F>
  void fields(F&& f) const {
    f("limiter", limiter), f("backend", backend), f("policy", policy), f("reason", reason);
  }
};

/// A limiter's backend answers again.
struct limiter_backend_recovered {
  static constexpr const char* name = "limiter_backend_recovered";
  static constexpr const char* component_kind = "limiter";
  std::string limiter;
  std::string backend;
  const std::string& component() const { return limiter; }
  level severity() const { return level::info; }
  template <class F>
  void fields(F&& f) const {
    f("limiter", limiter), f("backend", backend);
  }
};

/// The memory manager's pressure level changed ("normal", "elevated", "high", "critical").
struct memory_level_changed {
  static constexpr const char* name = "memory_level_changed";
  static constexpr const char* component_kind = "memory";
  std::string manager; ///< the memory manager's name
  std::string from;
  std::string to;
  double usage_percent = 0;
  uint64_t limit_mb = 0;
  const std::string& component() const { return manager; }
  level severity() const {
    return to == "critical" ? level::error : to == "normal" ? level::info : level::warning;
  }
  template <class F>
  void fields(F&& f) const {
    f("manager", manager), f("from", from), f("to", to), f("usage_percent", usage_percent),
      f("limit_mb", limit_mb);
  }
};

// --- Connection workers. ---------------------------------------------------------

/// A connection worker lost its connection (`action`: what it does about it,
/// e.g. "reopen_on_next_use" or "reconnect"); `kind` is "sqlite", "postgres"
/// or "redis", `target` what it connects to, without secrets.
struct connection_lost {
  static constexpr const char* name = "connection_lost";
  static constexpr const char* component_kind = "worker";
  std::string kind;
  std::string target;
  std::string reason;
  std::string action;
  const std::string& component() const { return target; }
  level severity() const { return level::warning; }
  template <class F>
  void fields(F&& f) const {
    f("kind", kind), f("target", target), f("reason", reason), f("action", action);
  }
};

/// A message the database server sent to the session (PostgreSQL NOTICE).
struct database_notice {
  static constexpr const char* name = "database_notice";
  static constexpr const char* component_kind = "worker";
  std::string kind;
  std::string target;
  std::string text;
  const std::string& component() const { return target; }
  level severity() const { return level::debug; }
  template <class F>
  void fields(F&& f) const {
    f("kind", kind), f("target", target), f("text", text);
  }
};

// --- Clusters. ---------------------------------------------------------------------

/// This node listens for its peers.
struct cluster_started {
  static constexpr const char* name = "cluster_started";
  static constexpr const char* component_kind = "cluster";
  std::string listen; ///< host:port
  uint64_t peers = 0;
  std::string transport; ///< "tcp" or "tls"
  const std::string& component() const { return listen; }
  level severity() const { return level::info; }
  template <class F>
  void fields(F&& f) const {
    f("listen", listen), f("peers", peers), f("transport", transport);
  }
};

/// A peer node joined; `pools` it offers.
struct node_up {
  static constexpr const char* name = "node_up";
  static constexpr const char* component_kind = "peer";
  std::string peer;
  uint64_t pools = 0;
  const std::string& component() const { return peer; }
  level severity() const { return level::info; }
  template <class F>
  void fields(F&& f) const {
    f("peer", peer), f("pools", pools);
  }
};

/// A peer node went down: `cause` is "connection_lost", "heartbeat_timeout", ...
struct node_down {
  static constexpr const char* name = "node_down";
  static constexpr const char* component_kind = "peer";
  std::string peer;
  std::string cause;
  std::string reason;
  const std::string& component() const { return peer; }
  level severity() const { return level::warning; }
  template <class F>
  void fields(F&& f) const {
    f("peer", peer), f("cause", cause), f("reason", reason);
  }
};

/// A peer could not be reached yet (info: it may start later).
struct node_unreachable {
  static constexpr const char* name = "node_unreachable";
  static constexpr const char* component_kind = "peer";
  std::string peer;
  std::string reason;
  const std::string& component() const { return peer; }
  level severity() const { return level::info; }
  template <class F>
  void fields(F&& f) const {
    f("peer", peer), f("reason", reason);
  }
};

/// A peer was refused (wrong cookie, name clash, TLS failure, ...).
struct node_refused {
  static constexpr const char* name = "node_refused";
  static constexpr const char* component_kind = "peer";
  std::string peer;
  std::string reason;
  const std::string& component() const { return peer; }
  level severity() const { return level::warning; }
  template <class F>
  void fields(F&& f) const {
    f("peer", peer), f("reason", reason);
  }
};

// --- The node. ---------------------------------------------------------------------

/// The node's tree is running with `children` top-level children.
struct node_started {
  static constexpr const char* name = "node_started";
  static constexpr const char* component_kind = "node";
  std::string node;
  uint64_t children = 0;
  const std::string& component() const { return node; }
  level severity() const { return level::info; }
  template <class F>
  void fields(F&& f) const {
    f("children", children);
  }
};

/// The node begins to stop: `by` is "SIGINT", "SIGTERM" or "request_stop".
struct node_stopping {
  static constexpr const char* name = "node_stopping";
  static constexpr const char* component_kind = "node";
  std::string node;
  std::string by;
  const std::string& component() const { return node; }
  level severity() const { return level::info; }
  template <class F>
  void fields(F&& f) const {
    f("by", by);
  }
};

/// The node's tree has stopped.
struct node_stopped {
  static constexpr const char* name = "node_stopped";
  static constexpr const char* component_kind = "node";
  std::string node;
  const std::string& component() const { return node; }
  level severity() const { return level::info; }
  template <class F>
  void fields(F&&) const {}
};

/// The node's HTTP endpoint listens at `address`:`port` (the port it bound,
/// also when the file said 0).
struct http_listening {
  static constexpr const char* name = "http_listening";
  static constexpr const char* component_kind = "http";
  std::string address;
  uint64_t port = 0;
  bool tls = false;
  const std::string& component() const { return address; }
  level severity() const { return level::info; }
  template <class F>
  void fields(F&& f) const {
    f("address", address), f("port", port), f("tls", tls);
  }
};

/// A running node's configuration differs from its new file in one
/// component or node-wide setting (a reload applies it): `change` is
/// "added", "removed", "changed" or "moved"; `kind` the component's kind
/// ("pool", "limiter", "supervisor", ..., or "logging", "rate_limiting",
/// "http"); `details` what differs, `; `-separated, e.g. "size 3 -> 6".
struct config_changed {
  static constexpr const char* name = "config_changed";
  static constexpr const char* component_kind = "config";
  std::string change;
  std::string kind;
  std::string component_name; ///< empty for the memory manager, the root and node-wide settings
  std::string details;
  const std::string& component() const { return component_name; }
  level severity() const { return level::info; }
  template <class F>
  void fields(F&& f) const {
    f("change", change), f("kind", kind), f("details", details);
  }
};

/// A reload applied `path` (its SHA-256 `sha256`): `summary` reads
/// `reload: 3 changed, 1 added, 1 removed, 17 unchanged`; `failures` lists
/// the steps that could not be applied (`; `-separated; empty when all were).
struct config_reloaded {
  static constexpr const char* name = "config_reloaded";
  static constexpr const char* component_kind = "config";
  std::string node;
  std::string path;
  std::string sha256;
  std::string summary;
  std::string failures;
  const std::string& component() const { return node; }
  level severity() const { return failures.empty() ? level::info : level::error; }
  template <class F>
  void fields(F&& f) const {
    f("path", path), f("sha256", sha256), f("summary", summary), f("failures", failures);
  }
};

/// A reload of `path` changed nothing because of `error`: a problem of the
/// file as `--check` prints it, or a change that needs a restart. One event
/// per error.
struct config_rejected {
  static constexpr const char* name = "config_rejected";
  static constexpr const char* component_kind = "config";
  std::string node;
  std::string path;
  std::string error;
  const std::string& component() const { return node; }
  level severity() const { return level::error; }
  template <class F>
  void fields(F&& f) const {
    f("path", path), f("error", error);
  }
};

/// Any otpp event.
using event = std::variant<child_started, child_terminated, start_error, shutdown_error,
                           reached_max_restart_intensity, supervisor_shutdown, pool_worker_started,
                           pool_worker_exited, pool_worker_dismissed, pool_start_error, pool_waiters,
                           breaker_state_changed, limiter_backend_degraded, limiter_backend_recovered,
                           memory_level_changed, connection_lost, database_notice, cluster_started, node_up,
                           node_down, node_unreachable, node_refused, node_started, node_stopping,
                           node_stopped, http_listening, config_changed, config_reloaded,
                           config_rejected>;

/// The event's `name`, e.g. "child_terminated".
const char* name_of(const event& e);

/// The event's level.
level level_of(const event& e);

/// One event as subscribers receive it.
struct record {
  std::chrono::system_clock::time_point time; ///< when it was emitted
  level severity = level::info;
  event value;
};

} // namespace otpp::events
