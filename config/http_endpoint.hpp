#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "otpp/config/node_config.hpp"
#include "otpp/config/reload.hpp"

namespace otpp::config {

namespace detail {
class bounded_http_server;
}

/// The bearer token `c` names: the content of its `token_file` or the value
/// of its `token_env`, surrounding whitespace removed; empty when it names
/// none; an error when both are set, or the file or variable is missing or empty.
caf::expected<std::string> read_http_token(const http_config& c);

/// Why `c` may not listen as it says (an empty error when it may): a
/// non-loopback `listen` needs `allow_remote` and a token.
caf::error http_exposure_error(const http_config& c);

/// What the endpoint asks of its node; an unset hook leaves its route out.
struct endpoint_hooks {
  std::function<reload_outcome()> reload; ///< `POST /reload`
  std::function<config_source()> source;  ///< `/status`'s "config"
};

/// The node's HTTP endpoint (cpp-httplib): `/metrics` (the metrics in the
/// Prometheus text format 0.0.4), `/health` (the health tree as JSON, with
/// "peers" in a cluster; 503 when unhealthy, else 200), `/status`
/// (`{"node":..,"health":..,"metrics":..,"peers":..,"config":..}`, metrics as
/// `perf::snapshot::to_json`, peers only in a cluster, config with the
/// file's path, SHA-256 and last reload), `/pools/NAME` (a
/// pool's status; NAME may be `pool@node`), `POST /reload` (reloads the
/// node's file: 200 with what changed, 422 with the errors when nothing
/// changed) and `POST /pools/NAME/probe`
/// (checks a worker out and in); a pool that does not exist is answered 404,
/// other failures 503, each with `{"error":..}`. With a token, every route
/// but `/health` needs `Authorization: Bearer TOKEN` (401 otherwise).
/// Connections and requests are bounded as `http_config` says: a slow or
/// oversized client costs one connection, never the endpoint.
class http_endpoint {
public:
  /// Listens as `c` says, in threads of its own, and emits
  /// `events::http_listening` with the port it bound; or says why not (a bad
  /// or refused `listen`, a missing token, unusable TLS files, a taken port).
  static caf::expected<std::unique_ptr<http_endpoint>> start(const http_config& c, caf::actor_system& sys,
                                                             caf::actor root, std::string node_name,
                                                             endpoint_hooks hooks = {});
  ~http_endpoint();

  int port() const { return port_; }

  /// Accepts no more connections and ends the open ones once their current
  /// request is answered; returns at once (the destructor waits for the end).
  void stop_listening();

private:
  http_endpoint() = default;
  std::unique_ptr<detail::bounded_http_server> server_;
  std::thread thread_;
  int port_ = 0;
};

} // namespace otpp::config
