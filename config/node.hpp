#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "otpp/actors/cluster/cluster.hpp"
#include "otpp/actors/perf/registry.hpp"
#include "otpp/config/http_endpoint.hpp"
#include "otpp/config/node_config.hpp"
#include "otpp/config/reload.hpp"
#include "otpp/supervision/kinds.hpp"
#include "otpp/supervision/supervisor.hpp"

/// The node: builds and runs a supervision tree from a loaded `node_config`.
namespace otpp::config {

/// The root supervisor's configuration for `c`. Under each supervisor,
/// children start in this order: the memory manager (the root only), rate
/// limiters, breakers, pools, `[children.*]` in file order, then nested
/// supervisors. The root is named after the node. Child kinds are looked up
/// here: register them before.
supervision::supervisor_config build_tree(const node_config& c);

/// Applies `[logging]` to the process log (events::configure_log): level,
/// text or JSON lines, stderr or a file, overload protection; every line
/// names `node`.
caf::error apply_logging(const logging_config& logging, const std::string& node);

class node;

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and in the
/// threads it starts from now on (a node's included), so that none is lost
/// (nor SIGHUP's default action taken) between `node::start` and
/// `node::run`, which takes them. Call it before `start`.
void block_stop_signals();

/// Each pool's worker exits as a status table counted them, for the rates
/// of the next table; a pool it does not list had none.
struct pool_exit_counts {
  std::chrono::steady_clock::time_point at; ///< when they were counted; the default: never
  std::map<std::string, std::pair<double, double>> exits; ///< pool -> (exits of any reason, crashes)
};

/// A compact status table of `n`: the tree, one line per child with its kind,
/// health and figures (supervisor restarts, pool workers and waiters,
/// limiter decisions and keys, breaker state, failure rate and rejected
/// calls, memory level and usage), then
/// the cluster's peers. With `last` (what the previous table counted, or
/// only the time the pools started), pools also show worker exits per second
/// since then, and `last` is updated; without, their rate is "-".
std::string status_table(node& n, pool_exit_counts* last = nullptr);

/// A running node: its actor system (otpp's scheduler profile), its tree,
/// and its cluster membership when `[cluster]` is configured.
class node {
public:
  /// Sets up logging, starts the actor system, the whole tree and the HTTP
  /// endpoint (if configured), or says why not. `source`: the file `c` was
  /// loaded from (`load_file`'s path and `sha256`), for `reload()` and `/status`.
  static caf::expected<std::unique_ptr<node>> start(const node_config& c, config_source source = {});

  /// Stops the tree in order (reverse start order, shutdown timeouts honoured).
  ~node();

  /// Runs until SIGINT or SIGTERM or `request_stop()`: then stops the tree
  /// in reverse start order and returns 0. If the root supervisor ends by
  /// itself first (it reached its restart intensity), returns 1 and
  /// `root_exit_reason()` says why. On SIGHUP, reloads the configuration
  /// file (`reload()`). Handles SIGINT, SIGTERM and SIGHUP while it runs
  /// (one node at a time per process), unblocking them in the calling thread,
  /// and restores the previous handlers and mask. To lose no signal between
  /// `start` and `run`, call `block_stop_signals()` before `start`, as
  /// `node_main` does.
  int run();

  /// Makes `run()` stop the tree and return 0; thread-safe, any time.
  void request_stop();

  /// Loads and validates the file at `path` completely, then moves the
  /// running node to it (docs/reload.md): the difference between the
  /// running configuration and the new one, applied in a safe order, one
  /// `config_changed` event per change and a `config_reloaded` summary;
  /// components that did not change keep running untouched. A file with
  /// any problem, or a change that needs a restart (`[cluster]`, `[node]`
  /// name or scheduler, `[demo]`), changes nothing: the outcome lists the
  /// errors, each is logged (`config_rejected`). Thread-safe; one reload at
  /// a time. Environment overrides apply as at start. Once applied, `path`
  /// is the node's file (`source()`, `reload()`).
  reload_outcome reload(const std::string& path);

  /// Reloads the file the node was started from (`source().path`).
  reload_outcome reload();

  /// Whether a stop was requested (a signal or `request_stop()`).
  bool stop_requested() const { return stop_requested_; }

  /// Why the root supervisor ended by itself, after `run()` returned 1.
  const caf::error& root_exit_reason() const { return root_exit_reason_; }

  caf::actor_system& system() { return *system_; }
  const caf::actor& root() const { return root_; }
  /// The configuration in force (a copy: a reload may change it meanwhile).
  node_config config() const;

  /// The node's name (`[node] name`; a reload cannot change it).
  const std::string& name() const { return name_; }

  /// The file the configuration came from, its SHA-256 and the last reload.
  config_source source() const;

  /// The cluster membership, or null without `[cluster]`.
  cluster::membership* membership() { return membership_.get(); }

  /// The HTTP endpoint's port (`[http] listen`; port 0 picks one), or 0 without one.
  int http_port() const { return http_port_; }

private:
  struct system_config : caf::actor_system_config {
    explicit system_config(const node_config& c);
  };

  node(node_config c, config_source source);

  caf::error start_http(const http_config& c);
  caf::expected<caf::actor> supervisor_of(const std::string& name, const node_config& c);
  std::string apply(const reload_step& step, const node_config& running, const node_config& next);
  std::string apply_update(const component_ref& component, const node_config& next);
  caf::error rebind_http(const http_config& next);
  void remember_specs(const node_config& next);

  const std::string name_;
  mutable std::mutex config_mtx_; ///< guards config_ and source_
  node_config config_;
  config_source source_;
  std::mutex reload_mtx_; ///< one reload at a time
  /// otpp_config_reloads_total{result="ok"} and {result="rejected"}, from the start.
  std::shared_ptr<perf::counter> reloads_ok_, reloads_rejected_;
  system_config cfg_;
  std::unique_ptr<caf::actor_system> system_;
  caf::actor root_;
  std::unique_ptr<cluster::membership> membership_;
  std::unique_ptr<http_endpoint> http_;
  std::vector<std::unique_ptr<http_endpoint>> retired_http_; ///< replaced by a reload, ended with the node
  std::atomic<int> http_port_{0};
  int wakeup_[2] = {-1, -1}; ///< a pipe: signals and request_stop() write, run() reads
  std::atomic<bool> stop_requested_{false};
  caf::error root_exit_reason_;
};

} // namespace otpp::config
