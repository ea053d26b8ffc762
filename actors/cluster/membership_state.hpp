#pragma once
// Internal to actors/cluster: the state the membership's actors, its
// connector threads and the remote pools share.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "otpp/actors/cluster/cluster.hpp"
#include "otpp/actors/cluster/wire.hpp"
#include "otpp/actors/perf/registry.hpp"

namespace otpp::cluster {

/// One peer node, as this node sees it. Guarded by `membership_state::mtx`.
struct peer_entry {
  peer_config config;       ///< the address is empty for a peer that only dialed us
  bool dials = false;       ///< this node dials the peer (its name sorts lower)
  std::string state = "connecting";
  int64_t since_unix_ms = 0;
  std::string last_error;
  uint64_t epoch = 0;       ///< > 0 while up: one number per connection
  directory_actor directory;
  caf::node_id node;        ///< CAF's id of the peer's node, kept after it went down
  std::vector<std::string> pools;
  std::chrono::steady_clock::time_point last_seen; ///< the last message from the peer
  bool hello_pending = false; ///< a connector waits for the hello's outcome
};

class membership_state {
public:
  membership_state(caf::actor_system& sys, cluster_config config, std::vector<std::string> pools);

  caf::actor_system& sys;
  const cluster_config config;
  const std::vector<std::string> pools;

  mutable std::mutex mtx;
  std::condition_variable changed; ///< a peer's state changed, or stopping
  bool stopping = false;
  std::map<std::string, peer_entry> peers;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<pool::remote_backend>> remotes; ///< (node, pool)
  uint64_t next_epoch = 1;

  caf::actor manager;
  directory_actor directory;
  uint16_t port = 0;
  std::vector<std::thread> connectors;
  std::vector<std::shared_ptr<perf::gauge>> gauges;                                   ///< otpp_cluster_peer_up{peer}
  std::map<std::pair<std::string, std::string>, std::shared_ptr<perf::counter>> downs; ///< otpp_cluster_node_down_total{peer,cause}

  /// Bound on one remote request beyond its own timeout: a lost node is
  /// declared down within `connection_timeout + heartbeat_interval`.
  std::chrono::milliseconds request_slack() const;

  /// Under `mtx`: the error for a call to `node` while it is not up.
  caf::error not_up(const std::string& node) const;

  /// Under `mtx`: records a transition of `p` to `state`.
  void transition(peer_entry& p, const std::string& state, const std::string& error);
};

/// The pool `pool` of `node`, for `pool::find_pool(sys, "pool@node")`, with
/// its proxy: a passive actor that carries the calls, hears of the node's
/// down events and ends with the membership.
std::shared_ptr<pool::remote_backend> make_remote_pool(const std::shared_ptr<membership_state>& st,
                                                       const std::string& node, const std::string& pool);

/// Ends a remote pool of `make_remote_pool` (the membership ends): its calls
/// fail, no new one starts, and its proxy ends, so that the node's pool
/// takes back what it lent.
void end_remote_pool(pool::remote_backend& remote);

using peer_down_atom = caf::atom_constant<caf::atom("peer_down")>;

} // namespace otpp::cluster
