#pragma once

#include <string>
#include <vector>

namespace otpp::test {

/// A private PostgreSQL server for one test, from Debian's `postgresql`
/// package: `initdb` into a fresh temporary directory and `pg_ctl start` on a
/// free loopback port (no Unix socket outside that directory, trust
/// authentication, fsync off), run as the `postgres` user when the test runs
/// as root (the server refuses root). Stopped and removed on destruction.
/// The constructor returns once the server accepts connections, or throws
/// std::runtime_error with the tool's output.
class postgres_server {
public:
  postgres_server();
  ~postgres_server();
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  /// Starts it again on the same port after `stop` or `crash`; returns once it accepts connections.
  void start();
  /// An orderly stop (`pg_ctl stop -m fast`): sessions are terminated.
  void stop();
  /// A crash (`pg_ctl stop -m immediate`): every server process quits at once; the next start recovers.
  void crash();
  /// Freezes every server process (SIGSTOP to the postmaster and its children): connections stay open, nothing answers.
  void freeze();
  /// Unfreezes it (SIGCONT); `stop`, `crash` and the destructor do it first.
  void resume();

  int port() const { return port_; }
  /// postgresql://postgres@127.0.0.1:PORT/postgres
  std::string url() const;

private:
  void pg_ctl(std::vector<std::string> args);

  std::string bin_;
  std::string dir_;
  int port_ = 0;
  bool running_ = false;
  std::vector<int> frozen_; ///< the server processes frozen
};

} // namespace otpp::test
