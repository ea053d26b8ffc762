#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/node_id.hpp>
#include <caf/actor_control_block.hpp>

namespace otpp::cluster {

/// A peer node reached by `bounded_connect`: its id, the actor it publishes
/// and that actor's interface (empty for a dynamically typed actor).
struct remote_endpoint {
  caf::node_id node;
  caf::strong_actor_ptr published;
  std::set<std::string> interface;
};

/// Connects to the CAF node that publishes an actor at `host:port`, and
/// never takes longer than `timeout`, even against a host that drops packets.
///
/// Why: CAF 0.17.6's `remote_actor` makes a blocking connect() inside the
/// node's one middleman actor, so against a host that drops packets it
/// blocks for the kernel's SYN timeout (about 2 minutes) and every other
/// connection attempt of the node waits behind it. Here the TCP connection
/// is made on the calling thread (non-blocking connect, then poll until the
/// deadline) and only a connected socket is handed to CAF's BASP broker,
/// which does the handshake as after its own connect. A handshake that does
/// not finish by the deadline is abandoned and its connection shut down.
///
/// Blocks the calling thread: call it from a thread of its own (a detached
/// actor or a connector thread), never from a scheduler thread. The system
/// must have loaded `caf::io::middleman`. Host names are resolved with
/// getaddrinfo, which the timeout does not bound (use addresses where that
/// matters). Errors: `caf::sec::cannot_connect_to_node` naming the address
/// and the cause (refused, timed out, handshake failed);
/// `caf::sec::incompatible_application_ids` or `incompatible_versions` when
/// the node runs another application or CAF version; or
/// `caf::sec::feature_disabled` when the system has no middleman.
caf::expected<remote_endpoint> bounded_connect(caf::actor_system& sys, const std::string& host, uint16_t port,
                                               std::chrono::milliseconds timeout);

/// Publishes `whom` (with its `interface`) on `host:port` as CAF's
/// middleman does, but from a listening socket opened here, so that its
/// connections get `tune_socket`'s options: accepted sockets inherit them
/// from the listener. The port is closed by `middleman::unpublish`.
/// Returns the bound port (`port` 0 picks one).
caf::expected<uint16_t> publish_tuned(caf::actor_system& sys, const caf::strong_actor_ptr& whom,
                                      std::set<std::string> interface, const std::string& host, uint16_t port);

/// Node links are long-lived streams that must not stall: one lost segment
/// would otherwise wait for Linux's minimum retransmission timeout (200 ms,
/// doubled at each loss of the retransmission), long enough under packet
/// loss for a peer to be declared down after a few heartbeats of silence.
/// Sets TCP_NODELAY and lowers the minimum RTO to 10 ms (TCP_RTO_MIN_US, on
/// kernels that have it; elsewhere nothing changes).
void tune_socket(int fd);

/// Whether a TCP connection to `host:port` can be made within `timeout`
/// (made and closed at once): the reachability probe before a TLS connect,
/// which CAF makes with a blocking connect() of its own. Same errors as
/// `bounded_connect`.
caf::error probe_tcp(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

} // namespace otpp::cluster
