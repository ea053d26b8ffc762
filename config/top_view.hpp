#pragma once
// Internal to config/: the pure part of `otpp-node top`. A node's /status
// answer read into rows, rates from two successive answers, and the lines a
// terminal or a pipe shows. No I/O, no clock: the caller says when each
// answer was read.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace otpp::config::top {

/// One child of the supervision tree (the root is the node's supervisor).
struct tree_row {
  int depth = 0;
  std::string name;
  std::string kind;   ///< "supervisor", "pool", "breaker", "limiter", "memory", "worker", ...
  std::string status; ///< "healthy", "degraded", "unhealthy"
  std::string reason; ///< why it is not healthy
  std::optional<uint64_t> restarts; ///< absent when the node does not report it
  std::string last_reason;          ///< why it last ended, if it did
};

/// A pool's workers now and its worker exits so far (counters, for rates).
struct pool_row {
  std::string name;
  double idle = 0;
  double busy = 0;     ///< checked out, overflow workers included
  double overflow = 0; ///< workers beyond the pool's size
  double waiting = 0;
  double exits = 0;   ///< every reason
  double crashes = 0; ///< reason "crash"
};

struct breaker_row {
  std::string name;
  std::string state; ///< the state whose series is 1, "-" if none is
};

/// A limiter's decisions so far (counters, for rates).
struct limiter_row {
  std::string name;
  double allowed = 0;
  double denied = 0;
};

struct memory_row {
  std::string name;
  std::string level; ///< "normal", "elevated", "high", "critical", "-" when not reported
  std::optional<double> bytes;
  std::optional<double> limit_bytes;
};

struct peer_row {
  std::string name;
  std::string state;
  std::string last_error;
};

/// One answer of /status, read. Every text in it is safe to print: control
/// characters are written as `\xNN`.
struct frame {
  double at_seconds = 0; ///< when it was read, on any clock that does not go back
  std::string node;
  std::string status; ///< the root's health
  std::vector<tree_row> tree;
  std::vector<pool_row> pools;       ///< by name
  std::vector<breaker_row> breakers; ///< by name
  std::vector<limiter_row> limiters; ///< by name
  std::vector<memory_row> memory;    ///< by name
  std::vector<peer_row> peers;       ///< as the node lists them
  double supervisor_restarts = 0;    ///< every supervisor's restarts, summed
};

/// Reads the body of a node's /status (JSON: "node", "health", "metrics",
/// optionally "peers") read at `at_seconds`. Throws std::runtime_error saying
/// what is wrong when the body is not that JSON.
frame read_status(const std::string& body, double at_seconds);

/// `url` as "SCHEME://HOST:PORT": it may be "http://HOST[:PORT]",
/// "https://HOST[:PORT]" or "HOST[:PORT]" (http), an IPv6 address in
/// brackets, a trailing "/" (no other path); the port defaults to the
/// scheme's. Throws std::runtime_error saying what is wrong.
std::string normalize_url(const std::string& url);

/// What `otpp-node top` shows: the latest frame, the one before it (for
/// rates), and the latest poll's failure.
struct view {
  std::string url;
  std::optional<frame> current;
  std::optional<frame> previous;
  std::string error; ///< why the latest poll failed; empty when it succeeded

  /// A poll succeeded.
  void update(frame f);
  /// A poll failed: the last frame stays on screen with the error above it.
  void fail(std::string why);
};

/// The memory manager's level named by an otpp_memory_level value
/// (memory::to_string of the level), "-" outside the levels.
std::string memory_level_name(double value);

/// A counter's increase per second between two readings, or nothing without
/// an earlier reading or time between them. A counter that went down was
/// reset (its component restarted): its new value counts from zero.
std::optional<double> per_second(std::optional<double> before, double now, double seconds);

/// Every line of the view, none truncated: what a pipe gets once per poll.
/// A header (the node, its health, its supervisors' restarts, the URL; the
/// latest poll's error), then the supervision tree (each child's kind,
/// health, restarts and last reason), pools (workers: live = idle + busy + overflow,
/// idle, busy, overflow, waiting callers; worker exits and crashes per
/// second), breakers (state), limiters (hits and denials per second and in
/// all), memory managers (level, use, limit) and cluster peers; sections
/// without rows are left out.
std::vector<std::string> lines(const view& v);

/// The view on a `width` x `height` terminal: its header, the rest from line
/// `scroll` on (clamped here so that the last line stays at the bottom), and
/// a footer with the keys; every line at most `width` characters.
std::vector<std::string> screen(const view& v, std::size_t width, std::size_t height, std::size_t& scroll);

} // namespace otpp::config::top
