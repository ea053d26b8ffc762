#pragma once

#include "otpp/actors/perf/registry.hpp"

/// otpp's metric families, one per quantity, with component names as labels.
namespace otpp::perf::families {

// Supervisors.
extern const family supervisor_restarts;    ///< otpp_supervisor_restarts_total{supervisor}
extern const family supervisor_child_exits; ///< otpp_supervisor_child_exits_total{supervisor,child,reason}: reason "normal|shutdown|crash"

// Pools.
extern const family pool_workers;      ///< otpp_pool_workers{pool,state}: state "idle|busy|overflow"
extern const family pool_waiting;      ///< otpp_pool_waiting{pool}
extern const family pool_worker_exits; ///< otpp_pool_worker_exits_total{pool,reason}: reason "crash|dismissed|failed_start"

// Limiters.
extern const family limiter_hits; ///< otpp_limiter_hits_total{limiter,decision}: decision "allow|deny"
extern const family limiter_keys; ///< otpp_limiter_keys{limiter}: keys held (NaN when the backend does not answer)
extern const family limiter_degraded_hits; ///< otpp_limiter_degraded_hits_total{limiter}: hits answered by the failure policy

// Breakers.
extern const family breaker_state; ///< otpp_breaker_state{breaker,state}: 1 for the current state, 0 for the others
extern const family breaker_calls; ///< otpp_breaker_calls_total{breaker,outcome}: outcome "success|failure|rejected"
extern const family breaker_failure_ratio; ///< otpp_breaker_failure_ratio{breaker}: failed calls in the current window, 0 to 1
extern const family breaker_slow_call_ratio; ///< otpp_breaker_slow_call_ratio{breaker}: slow calls in the current window, 0 to 1

// Memory.
extern const family memory_bytes; ///< otpp_memory_bytes{manager}: the measured use
extern const family memory_limit_bytes; ///< otpp_memory_limit_bytes{manager}
extern const family memory_level; ///< otpp_memory_level{manager}: 0 normal, 1 elevated, 2 high, 3 critical

// protected_operation.
extern const family protected_seconds; ///< otpp_protected_operation_seconds{namespace,service}: histogram of the guarded call
extern const family protected_results; ///< otpp_protected_operation_results_total{namespace,service,result}: "ok|failed|<refusal code>"

// Clusters.
extern const family cluster_peer_up;    ///< otpp_cluster_peer_up{peer}: 1 while connected
extern const family cluster_node_downs; ///< otpp_cluster_node_down_total{peer,cause}

// The node.
extern const family config_reloads; ///< otpp_config_reloads_total{result}: result "ok|rejected"

} // namespace otpp::perf::families
