#pragma once

#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "actors/cluster/cluster.hpp"
#include "config/http_endpoint.hpp"
#include "config/node_config.hpp"
#include "supervision/supervisor.hpp"

namespace otpp::config {

/// The root supervisor's configuration for `c`: the memory manager first,
/// then each supervisor's limiters, breakers, pools and nested supervisors,
/// each under the supervisor it names. The root is named after the node.
supervision::supervisor_config build_tree(const node_config& c);

/// Applies `[logging]`: level, text or JSON lines, stderr or a file.
caf::error apply_logging(const logging_config& logging);

class node;

/// A compact status table of `n`: the tree, one line per child with its kind,
/// health and figures (supervisor restarts, pool status, limiter keys,
/// breaker state and rates, memory level and usage).
std::string status_table(node& n);

/// A running node: its actor system (otpp's scheduler profile), its tree,
/// and its cluster membership when `[cluster]` is configured.
class node {
public:
  /// Sets up logging, starts the actor system, the whole tree and the HTTP
  /// endpoint (if configured), or says why not.
  static caf::expected<std::unique_ptr<node>> start(const node_config& c);

  /// Stops the tree in order (reverse start order, shutdown timeouts honoured).
  ~node();

  caf::actor_system& system() { return *system_; }
  const caf::actor& root() const { return root_; }
  const node_config& config() const { return config_; }

  /// The cluster membership, or null without `[cluster]`.
  cluster::membership* membership() { return membership_.get(); }

  /// The HTTP endpoint's port (`[http] listen`; port 0 picks one), or 0 without one.
  int http_port() const { return http_ ? http_->port() : 0; }

private:
  struct system_config : caf::actor_system_config {
    explicit system_config(const node_config& c);
  };

  explicit node(node_config c);

  node_config config_;
  system_config cfg_;
  std::unique_ptr<caf::actor_system> system_;
  caf::actor root_;
  std::unique_ptr<cluster::membership> membership_;
  std::unique_ptr<http_endpoint> http_;
};

} // namespace otpp::config
