#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/loopback_socket.hpp"

namespace otpp::test {

/// A private redis-server for one test: started on a free loopback port with
/// no persistence, in a fresh temporary directory, and stopped (and its
/// directory removed) on destruction. The constructor returns once the
/// server accepts connections, or throws std::runtime_error after 10 s.
class redis_server {
public:
  /// `extra`: more redis-server arguments (e.g. {"--replicaof", host, port}).
  explicit redis_server(std::vector<std::string> extra = {});
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  /// Stops the server (SIGTERM, then waits): clients see it down.
  void stop();
  /// Starts it again on the same port, after `stop`; returns once it accepts connections.
  void start();
  /// Ends it abruptly (SIGKILL), as a crash would.
  void kill();
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
  std::vector<std::string> extra_;
};

/// A private Redis Sentinel (`redis-server --sentinel`) watching `master` as
/// `name` with quorum 1, quick failure detection (`down_after_ms`) and
/// failover; stopped and its directory removed on destruction.
class redis_sentinel {
public:
  redis_sentinel(const redis_server& master, const std::string& name, int down_after_ms = 500);
  ~redis_sentinel();
  redis_sentinel(const redis_sentinel&) = delete;
  redis_sentinel& operator=(const redis_sentinel&) = delete;

  /// Reads the sentinel's log until `event` (e.g. "+switch-master") appears; false after `bound`.
  bool wait_for(const std::string& event, std::chrono::milliseconds bound);

  int port() const { return port_; }
  /// 127.0.0.1:PORT
  std::string address() const;

private:
  std::unique_ptr<child_process> process_;
  int port_ = 0;
  std::string dir_;
};

} // namespace otpp::test
