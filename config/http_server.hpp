#pragma once
// Internal to config/: the HTTP server under the node's endpoint. It is
// cpp-httplib's Server (routing, parsing, responses) with the connection
// handling replaced, because Debian's cpp-httplib 0.11.4 bounds none of what
// a hostile client controls: its timeouts apply to each read (one byte every
// few seconds keeps a connection forever), its thread pool has 8 threads and
// an unbounded queue, its header count and line length are unbounded, a body
// over the payload limit is still read to discard it, a chunked body has no
// limit, and its listen backlog is 5.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <httplib.h>

#include <caf/expected.hpp>

namespace otpp::config::detail {

/// What one connection and one request may cost.
struct http_limits {
  std::size_t max_connections = 256; ///< served at once; more are answered 503 at accept and closed
  std::chrono::milliseconds read_timeout{5000};  ///< a request's head and body, from its first byte (408)
  std::chrono::milliseconds write_timeout{5000}; ///< a response, from its first byte
  std::chrono::milliseconds idle_timeout{5000};  ///< between requests of a kept-alive connection
  std::size_t max_header_bytes = 16384; ///< request line and headers (431)
  std::size_t max_headers = 64;         ///< header lines (431)
  std::size_t max_body_bytes = 65536;   ///< Content-Length above it: 413, the body unread
};

/// Decides before a request's body is read: true when it answered `res`
/// itself (then the connection closes after the answer, the body unread).
using http_gate = std::function<bool(const httplib::Request& req, httplib::Response& res)>;

/// cpp-httplib's Server whose connections are bounded by `http_limits`, with
/// optional TLS. Register routes as on httplib::Server; do not replace its
/// pre-routing or Expect: 100-continue handlers (the limits live there).
class bounded_http_server : public httplib::Server {
public:
  /// A plain-HTTP server.
  explicit bounded_http_server(http_limits limits);
  /// An HTTPS server with the PEM `certificate` chain and `key`, or why not.
  static caf::expected<std::unique_ptr<bounded_http_server>> with_tls(http_limits limits, const std::string& certificate,
                                                                       const std::string& key);
  ~bounded_http_server() override;

  /// Runs before every request's body is read, after the body limits pass.
  void set_gate(http_gate gate) { gate_ = std::move(gate); }

  /// Binds `host` (a name, an IPv4 or an IPv6 address without brackets) and
  /// `port` (0: any), with a listen backlog of 1024; the port, or -1.
  int bind(const std::string& host, int port);

  /// Ends every connection (at its next wait) and the accept loop.
  void shutdown();

  /// Connections being served now.
  std::size_t connections() const { return active_.load(); }

private:
  bool process_and_close_socket(int sock) override;
  httplib::Server::HandlerResponse admit(const httplib::Request& req, httplib::Response& res);

  http_limits limits_;
  void* tls_ = nullptr; ///< SSL_CTX*, owned
  int stop_fd_ = -1;    ///< eventfd: readable once shutdown() ran
  http_gate gate_;
  std::atomic<std::size_t> active_{0};
};

} // namespace otpp::config::detail
