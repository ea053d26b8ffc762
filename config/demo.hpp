#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "otpp/config/node.hpp"

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
  int64_t audit_rows = -1;      ///< with SQL workers (sqlite, postgres): the audit rows stored; -1 otherwise
  int64_t lost_audit_rows = 0;  ///< successful updates without their audit row (must stay 0)
  std::string audit_error;      ///< why the audit rows could not be read at the end, if so

  /// The database line of the summary: audit rows against successful updates.
  std::string database_line() const;

  /// One screen: the counts, the pool's and breaker's figures, the node's health.
  std::string to_text(node& n) const;
};

/// Runs the clients against `n` for the demo's duration: each update goes
/// through protected_operation (memory check, `config_update` limiter keyed
/// by client, `database` pool, `config_server` breaker) and the new value is
/// kept when the worker confirms it (with `sqlite` or `postgres` workers:
/// written with an audit row in one transaction); some workers are crashed
/// on purpose.
/// Ends early when a stop of `n` is requested.
demo_summary run_demo(node& n, const demo_config& demo);

} // namespace otpp::config
