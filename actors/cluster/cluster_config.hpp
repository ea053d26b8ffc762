#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace otpp::cluster {

/// `host:port` of a node.
struct address {
  std::string host;
  uint16_t port = 0;

  std::string to_string() const { return host + ":" + std::to_string(port); }
};

/// A peer of `[cluster] peers`: `name@host:port`.
struct peer_config {
  std::string name;
  address at;
};

/// `[cluster.tls]`: mutual TLS between nodes (libcaf_openssl). All three
/// files are required; any certificate signed by `cafile` is a member.
struct tls_config {
  std::string certificate;
  std::string key;
  std::string cafile;
  std::string passphrase; ///< for an encrypted key
};

/// `[cluster]`: this node's place in a cluster. Off unless configured.
struct cluster_config {
  std::string node_name;                          ///< unique in the cluster: [A-Za-z0-9_-]{1,64}
  address listen{"127.0.0.1", 4370};              ///< where this node's directory is published
  std::vector<peer_config> peers;                 ///< the lower name of each pair dials
  std::chrono::milliseconds heartbeat_interval{250};  ///< identical on every node
  std::chrono::milliseconds connection_timeout{1000}; ///< >= 3 x heartbeat; identical on every node
  std::chrono::milliseconds connect_timeout{1000};    ///< bound on one attempt (TCP connect + handshake)
  std::chrono::milliseconds reconnect_backoff_min{200};
  std::chrono::milliseconds reconnect_backoff_max{5000};
  bool insecure_plaintext = false; ///< allows a non-loopback `listen` without TLS
  std::optional<tls_config> tls;
};

/// Whether `name` is a valid node name.
bool valid_node_name(const std::string& name);

/// `host:port` (IPv6 hosts in brackets), or why not.
caf::expected<address> parse_address(const std::string& text);

/// `name@host:port`, or why not.
caf::expected<peer_config> parse_peer(const std::string& text);

/// Whether `host` is a loopback address or `localhost`.
bool is_loopback(const std::string& host);

} // namespace otpp::cluster
