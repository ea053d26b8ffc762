#pragma once

#include <memory>
#include <string>
#include <thread>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "otpp/actors/perf/registry.hpp"

namespace httplib {
class Server;
}

namespace otpp::config {

/// The metrics as Prometheus text (exposition format 0.0.4): counters,
/// gauges, and each histogram as a summary (p50/p90/p99, _sum, _count),
/// named `otpp_` + the metric name with every other character made `_`.
std::string prometheus_text(const perf::snapshot& s);

/// The node's HTTP endpoint (cpp-httplib): `/metrics` (Prometheus text),
/// `/health` (the health tree as JSON; 503 when unhealthy, else 200) and
/// `/status` (the node's name, health tree, metrics snapshot and cluster
/// peers as JSON), `/pools/NAME` (a pool's status; NAME may be
/// `pool@node`) and `POST /pools/NAME/probe` (checks a worker out and in).
class http_endpoint {
public:
  /// Listens on `listen` ("host:port") in a thread of its own, or says why not.
  static caf::expected<std::unique_ptr<http_endpoint>> start(const std::string& listen, caf::actor_system& sys,
                                                             caf::actor root, std::string node_name);
  ~http_endpoint();

  int port() const { return port_; }

private:
  http_endpoint() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

} // namespace otpp::config
