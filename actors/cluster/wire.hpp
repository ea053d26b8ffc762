#pragma once

// Detail header: installed because public headers include it; not part of
// otpp's API (it may change in any release). Do not include it yourself.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "otpp/actors/pool/pool.hpp"

namespace otpp::cluster {

/// The version of the messages nodes exchange; nodes of different versions
/// refuse each other (at hello, and through CAF's `middleman.app-identifiers`).
constexpr uint32_t wire_version = 2;

/// `otpp/<wire_version>`: the CAF application identifier of otpp nodes.
std::string app_identifier();

/// Cluster errors (category `cluster_errc_category`), rendered by name.
enum class cluster_errc : uint8_t {
  node_down = 1, ///< the node was down when called, or went down while the call waited
  no_such_pool,  ///< the node is up but runs no pool of that name
  incompatible,  ///< the node refused our hello, or we refused its
  no_such_actor, ///< the node is up but has no actor registered under that name
};

constexpr caf::atom_value cluster_errc_category = caf::atom("otpp_clus");

std::string to_string(cluster_errc code);
caf::error make_error(cluster_errc code, std::string text = {});

/// What two directories exchange when their nodes connect.
struct hello {
  std::string node;
  uint32_t version = wire_version;
  uint32_t heartbeat_interval_ms = 0;
  uint32_t connection_timeout_ms = 0;
  std::vector<std::string> pools; ///< the pools the node runs
  caf::strong_actor_ptr directory; ///< the sender's directory (the hello comes from its manager)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello& x) {
  return f(caf::meta::type_name("otpp_hello"), x.node, x.version, x.heartbeat_interval_ms, x.connection_timeout_ms,
           x.pools, x.directory);
}

using hello_atom = caf::atom_constant<caf::atom("hello")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using whereis_atom = caf::atom_constant<caf::atom("whereis")>;

/// The node directory: the one actor each node publishes. Every other handle
/// (pools, workers, watched actors) comes from it inside messages. Every wire
/// type is in this interface, so CAF refuses at connect time a node built
/// without one of them.
/// - (hello_atom, hello) -> hello: join, or `incompatible`
/// - (tick_atom, node name): liveness, every heartbeat interval
/// - (checkout_atom, pool, block, timeout_ms) -> worker, from the named pool
///   (the pool watches the requester), or `no_such_pool` / the pool's error
/// - (checkin_atom, pool, worker) -> ok
/// - (status_atom, pool) -> pool_status
/// - (whereis_atom, name) -> the actor registered under `name`, or `no_such_actor`
using directory_actor = caf::typed_actor<
  caf::replies_to<hello_atom, hello>::with<hello>, caf::reacts_to<tick_atom, std::string>,
  caf::replies_to<pool::checkout_atom, std::string, bool, uint32_t>::with<caf::actor>,
  caf::replies_to<pool::checkin_atom, std::string, caf::actor>::with<caf::ok_atom>,
  caf::replies_to<pool::status_atom, std::string>::with<pool::pool_status>,
  caf::replies_to<whereis_atom, std::string>::with<caf::actor>>;

/// Registers the wire types under their shared names (every otpp binary
/// that joins a cluster calls it; `cluster::configure` does).
void add_wire_types(caf::actor_system_config& cfg);

} // namespace otpp::cluster
