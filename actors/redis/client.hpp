#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "otpp/actors/redis/connection.hpp"

namespace otpp::redis {

/// How a `client` reaches its server and how long a call may take.
struct client_options {
  endpoint server;                  ///< the server, unless `sentinels` is not empty
  std::vector<endpoint> sentinels;  ///< asked in turn for the address of `master_name`
  std::string master_name;          ///< the master the sentinels monitor
  int connections = 4;              ///< >= 1
  std::chrono::milliseconds timeout{200}; ///< bound on one call, connecting included
  std::string script;               ///< a Lua script loaded on every connection (none if empty)
};

/// A thread-safe Redis client for short commands from many threads. It
/// keeps a few connections; a caller that finds its connection busy queues
/// its command, and the caller that owns the connection writes every queued
/// command at once, reads all the replies and hands each to its caller
/// (auto-pipelining). Every call answers within the timeout. After a failure
/// to reach the server, calls fail at once until one timeout has passed.
/// `EVALSHA` with an empty SHA runs `script`; on `NOSCRIPT` (a restarted
/// server, `SCRIPT FLUSH`) the command is sent once more as `EVAL`, which
/// loads the script again, inside a pipelined batch too. With sentinels, the master is
/// looked up again after connection errors, timeouts and `READONLY` replies.
class client {
public:
  explicit client(client_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Runs one command: its reply; an error reply is `server_error`, a
  /// failure to reach the server in time `unavailable`.
  caf::expected<reply> call(std::vector<std::string> args);

  /// Until when calls fail at once after the last failure to reach the server.
  std::chrono::steady_clock::time_point retry_at() const;

private:
  struct waiter;
  struct slot;
  using steady = std::chrono::steady_clock;
  using results = std::vector<caf::expected<reply>>;

  slot& pick();
  caf::expected<reply> lead(slot& s, std::unique_lock<std::mutex>& lock, waiter& own, steady::time_point deadline);
  results execute(slot& s, std::vector<std::vector<std::string>>& commands, steady::time_point deadline);
  results send(slot& s, std::vector<std::vector<std::string>>& commands, std::size_t& answered,
               steady::time_point deadline);
  caf::error connect(slot& s, steady::time_point deadline);
  caf::expected<endpoint> master(steady::time_point deadline);
  void forget_master();
  caf::error unreachable(caf::error err);
  std::string where();

  client_options options_;
  std::vector<std::unique_ptr<slot>> slots_;
  std::mutex master_mutex_;
  std::optional<endpoint> master_;
  std::atomic<steady::rep> retry_at_{0};
};

} // namespace otpp::redis
