#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>
#include <caf/node_id.hpp>

#include "otpp/actors/cluster/cluster_config.hpp"
#include "otpp/actors/cluster/wire.hpp"

namespace otpp::cluster {

/// Prepares a system's configuration for `c`: loads CAF's middleman, sets
/// its heartbeat interval and connection timeout from `c`, the application
/// identifier `otpp/<wire_version>`, and registers the wire types. It also
/// sets the middleman's `workers` to 0 and the work-stealing scheduler's
/// idle polling for a cluster node (`aggressive-poll-attempts` 2000,
/// `moderate-poll-attempts` 0: idle workers spin briefly, then sleep until
/// work comes), overriding `apply_scheduler_profile`'s; call it after that.
void configure(caf::actor_system_config& cfg, const cluster_config& c);

/// A peer's state as this node sees it.
struct peer_status {
  std::string name;
  std::string state;      ///< `connecting`, `up`, `down` or `incompatible`
  int64_t since_unix_ms = 0; ///< the last transition
  std::string last_error; ///< empty: none yet
};

/// Watches the actor registered as `name` on `node` ("name@node"): `watcher`
/// gets a `caf::down_msg` from it with its exit reason, or with `node_down`
/// (a `cluster_errc`) when its node is lost. Blocks the calling thread for
/// the lookup (at most `timeout`); call it from a thread, not an actor.
/// Errors: `node_down`, `no_such_actor`, `incompatible`.
caf::expected<caf::actor_addr> watch(caf::actor_system& sys, const std::string& target, const caf::actor& watcher,
                                     std::chrono::milliseconds timeout = std::chrono::milliseconds{2000});

class membership_state;

/// This node's membership in a cluster: the published node directory, one
/// background connector per peer this node dials (the node whose name sorts
/// lower dials), the peers' events (`events::cluster_started`, `node_up`,
/// `node_down`, `node_unreachable`, `node_refused`) and metrics
/// (`otpp_cluster_peer_up{peer}`, `otpp_cluster_node_down_total{peer,cause}`),
/// and the resolver that makes `pool::find_pool(sys, "pool@node")` work.
/// Destroy it before the actor system.
class membership {
public:
  /// Publishes the directory on `c.listen` and starts the connectors, or
  /// says why not (the port is taken, ...). `pools`: this node's pool names.
  static caf::expected<std::unique_ptr<membership>> start(caf::actor_system& sys, cluster_config c,
                                                          std::vector<std::string> pools);
  ~membership();

  /// The port the directory listens on (`listen` may ask for port 0).
  uint16_t port() const;

  /// Every peer known so far (configured, or connected to us), by name.
  std::vector<peer_status> peers() const;

  /// `peers()` as a JSON array.
  std::string peers_json() const;

  /// `node_down` if `node` (CAF's node id) is a peer that is down now, else none.
  caf::error node_error(const caf::node_id& node) const;

private:
  friend caf::expected<caf::actor_addr> watch(caf::actor_system&, const std::string&, const caf::actor&,
                                              std::chrono::milliseconds);
  explicit membership(std::shared_ptr<membership_state> state);
  std::shared_ptr<membership_state> state_;
};

/// The membership of `sys`, or null on a single node.
membership* find_membership(caf::actor_system& sys);

/// The peers of `sys`'s membership as a JSON array, or "" on a single node
/// (safe while the membership ends on another thread).
std::string peers_json(caf::actor_system& sys);

} // namespace otpp::cluster
