#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "otpp/actors/cluster/cluster.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "tests/support/child_process.hpp"

namespace otpp::test {

/// The timing of issue 8's tests: heartbeat 100 ms, connection timeout
/// 500 ms, connect timeout 500 ms, reconnect backoff [50, 1000] ms.
cluster::cluster_config test_cluster(const std::string& name, int port, std::vector<std::string> peers = {});

/// Certificates made with the `openssl` command line in a temporary
/// directory (removed on destruction): a cluster CA with node certificates
/// signed by it, and a stranger CA with one of its own.
class test_pki {
public:
  test_pki();
  ~test_pki();
  /// `[cluster.tls]` for a node certificate of the cluster CA ("stranger": of the other CA).
  cluster::tls_config member(const std::string& node) const;
  cluster::tls_config stranger(const std::string& node) const;

private:
  cluster::tls_config issue(const std::string& ca, const std::string& node) const;
  std::string dir_;
};

/// A cluster node inside the test process: its own actor system, its pools
/// (registered by name) and its membership. Stops all of it when destroyed.
class local_node {
public:
  explicit local_node(cluster::cluster_config c, std::vector<pool::pool_config> pools = {});
  ~local_node();

  caf::actor_system& sys() { return *sys_; }
  cluster::membership& membership() { return *membership_; }
  /// Ends the membership now (the actor system and pools stay).
  void stop_membership() { membership_.reset(); }

  /// The state of `peer` (`connecting`, `up`, ...), or "" if unknown.
  std::string state_of(const std::string& peer) const;
  /// Waits at most `bound` for `peer` to reach `state`.
  bool wait_state(const std::string& peer, const std::string& state,
                  std::chrono::milliseconds bound = std::chrono::seconds(10)) const;

private:
  struct config : caf::actor_system_config {
    explicit config(const cluster::cluster_config& c);
  };
  config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::vector<pool::pool_ref> pools_;
  std::unique_ptr<cluster::membership> membership_;
};

/// An otpp-node process in a cluster: `[cluster]` from `c` and one echo
/// pool "database" of `pool_size` workers and `max_overflow`; logs on stderr.
class node_process {
public:
  node_process(const cluster::cluster_config& c, int pool_size, const std::string& extra_toml = {},
               int max_overflow = 0);
  /// The configuration file it runs (the same `c` renders the same text).
  static std::string toml(const cluster::cluster_config& c, int pool_size, int max_overflow = 0);
  ~node_process();

  child_process& process() { return *proc_; }
  /// Starts the process again with the same file (after a kill).
  void restart();

private:
  std::string file_;
  std::unique_ptr<child_process> proc_;
};

} // namespace otpp::test
