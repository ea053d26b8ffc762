#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "config/node.hpp"

namespace otpp::config {

/// What the demo saw.
struct demo_summary {
  uint64_t updates_ok = 0;
  uint64_t updates_failed = 0;
  uint64_t workers_crashed = 0; ///< crashes injected
  uint64_t rate_limited = 0;
  uint64_t circuit_open = 0;
  uint64_t other_refusals = 0;
  uint64_t reads = 0;
  int64_t audit_rows = -1; ///< with SQLite workers: the audit rows stored; -1 otherwise

  /// One screen: the counts, the pool's and breaker's figures, the node's health.
  std::string to_text(node& n) const;
};

/// Runs the clients against `n` for the demo's duration: each update goes
/// through protected_operation (memory check, `config_update` limiter keyed
/// by client, `database` pool, `config_server` breaker) and the new value is
/// kept when the worker confirms it (with `sqlite` workers: written with an
/// audit row in one transaction); some workers are crashed on purpose.
/// Ends early when `stop` becomes true.
demo_summary run_demo(node& n, const demo_config& demo, const std::atomic<bool>& stop);

} // namespace otpp::config
