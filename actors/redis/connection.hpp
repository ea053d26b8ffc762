#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

struct redisContext;
struct redisReply;

namespace otpp::redis {

/// Redis errors (category `redis_errc_category`), rendered by name.
enum class redis_errc : uint8_t {
  bad_url = 1,  ///< a URL that is not redis://[[user]:password@]host[:port][/db]
  unavailable,  ///< cannot connect, the connection broke, or the server did not answer in time
  server_error, ///< the server answered with an error reply
};

constexpr caf::atom_value redis_errc_category = caf::atom("otpp_redis");

std::string to_string(redis_errc code);
caf::error make_error(redis_errc code, std::string text);

/// Where a server is and how to log in.
struct endpoint {
  std::string host;
  int port = 6379;
  std::string user;     ///< empty: AUTH with the password alone
  std::string password; ///< empty: no AUTH
  int db = 0;
};

/// `url` with its password (or lone credential) replaced by `***`, for
/// messages and logs: `redis://user:***@host:6379/0`.
std::string redact_url(const std::string& url);

/// Parses redis://[[user]:password@]host[:port][/db] (host may be [IPv6]),
/// or `bad_url` naming what is wrong.
caf::expected<endpoint> parse_url(const std::string& url);

/// Parses host:port (host may be [IPv6]; the port is required), or `bad_url`
/// naming what is wrong.
caf::expected<endpoint> parse_host_port(const std::string& text);

struct reply_deleter {
  void operator()(redisReply* r) const;
};
/// A reply owned by the caller.
using reply = std::unique_ptr<redisReply, reply_deleter>;

/// One synchronous hiredis connection; not thread-safe (one user at a time).
class connection {
public:
  /// Connects, logs in and selects the database within `timeout`, or `unavailable` / `server_error`.
  static caf::expected<std::unique_ptr<connection>> open(const endpoint& where, std::chrono::milliseconds timeout);

  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Bounds every later read and write on the socket.
  void set_timeout(std::chrono::milliseconds timeout);

  /// Sends one command, binary-safe; an error reply is `server_error` (the
  /// connection stays usable), a broken connection or a timeout is
  /// `unavailable` and leaves the connection `broken()`.
  caf::expected<reply> command(const std::vector<std::string>& args);

  /// Writes every command at once, then reads their replies in order, error
  /// replies included (REDIS_REPLY_ERROR). Fewer replies than commands when
  /// the connection broke or timed out (`broken()`, `failure()`).
  std::vector<reply> pipeline(const std::vector<std::vector<std::string>>& commands);

  /// `unavailable` with hiredis's text, once `broken()`.
  caf::error failure() const;

  /// `r`, or `server_error` with its text when it is an error reply.
  static caf::expected<reply> checked(reply r);

  /// True once an I/O error or a timeout happened: the connection must be dropped.
  bool broken() const;

  /// The hiredis context, for user code on a pooled connection.
  redisContext* raw() const { return context_; }

private:
  explicit connection(redisContext* context) : context_(context) {}
  redisContext* context_;
};

} // namespace otpp::redis
