#pragma once

#include <memory>
#include <string>

#include "tests/support/child_process.hpp"
#include "tests/support/loopback_socket.hpp"

namespace otpp::test {

/// A private redis-server for one test: started on a free loopback port with
/// no persistence, in a fresh temporary directory, and stopped (and its
/// directory removed) on destruction. The constructor returns once the
/// server accepts connections, or throws std::runtime_error after 10 s.
class redis_server {
public:
  redis_server();
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  /// Stops the server (SIGTERM, then waits): clients see it down.
  void stop();
  /// Starts it again on the same port, after `stop`; returns once it accepts connections.
  void start();
  /// Freezes it (SIGSTOP): connections stay open, nothing answers.
  void pause();
  /// Unfreezes it (SIGCONT).
  void resume();

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  /// redis://127.0.0.1:PORT
  std::string url() const;

private:
  std::unique_ptr<child_process> process_;
  int port_ = 0;
  std::string dir_;
};

} // namespace otpp::test
