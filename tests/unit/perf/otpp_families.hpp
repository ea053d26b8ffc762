#pragma once

#include <string>
#include <utility>
#include <vector>

#include "otpp/actors/perf/families.hpp"

namespace otpp::test {

/// Every family of actors/perf/families.cpp, by the name of its variable
/// (a test checks that the file declares no other: add new ones here).
inline const std::vector<std::pair<std::string, const perf::family*>>& otpp_families() {
#define OTPP_FAMILY(x) {#x, &perf::families::x}
  static const std::vector<std::pair<std::string, const perf::family*>> all{
    OTPP_FAMILY(supervisor_restarts),  OTPP_FAMILY(supervisor_child_exits), OTPP_FAMILY(pool_workers),
    OTPP_FAMILY(pool_waiting),         OTPP_FAMILY(pool_worker_exits),      OTPP_FAMILY(limiter_hits),
    OTPP_FAMILY(limiter_keys),         OTPP_FAMILY(limiter_degraded_hits),  OTPP_FAMILY(breaker_state),
    OTPP_FAMILY(breaker_calls),        OTPP_FAMILY(breaker_failure_ratio),  OTPP_FAMILY(breaker_slow_call_ratio),
    OTPP_FAMILY(memory_bytes),         OTPP_FAMILY(memory_limit_bytes),     OTPP_FAMILY(memory_level),
    OTPP_FAMILY(protected_seconds),    OTPP_FAMILY(protected_results),      OTPP_FAMILY(cluster_peer_up),
    OTPP_FAMILY(cluster_node_downs),   OTPP_FAMILY(config_reloads)};
#undef OTPP_FAMILY
  return all;
}

} // namespace otpp::test
