#include "otpp/actors/perf/families.hpp"

namespace otpp::perf::families {

const family supervisor_restarts{"otpp_supervisor_restarts_total",
                                 "Children a supervisor restarted.",
                                 metric_type::counter,
                                 {"supervisor"}};
const family supervisor_child_exits{"otpp_supervisor_child_exits_total",
                                    "Children of a supervisor that ended, by reason: normal, shutdown or crash.",
                                    metric_type::counter,
                                    {"supervisor", "child", "reason"}};

const family pool_workers{"otpp_pool_workers",
                          "A pool's live workers by state: idle, busy (checked out, within the size) and overflow "
                          "(checked out, beyond the size).",
                          metric_type::gauge,
                          {"pool", "state"}};
const family pool_waiting{"otpp_pool_waiting", "Callers waiting for a worker of a pool.", metric_type::gauge, {"pool"}};
const family pool_worker_exits{
  "otpp_pool_worker_exits_total",
  "Workers of a pool that ended, by reason: crash (abnormal exit or released as broken), dismissed "
  "(overflow checked in, pool shrunk) or failed_start.",
  metric_type::counter,
  {"pool", "reason"}};

const family limiter_hits{"otpp_limiter_hits_total",
                          "Hits a rate limiter decided, by decision: allow or deny.",
                          metric_type::counter,
                          {"limiter", "decision"}};
const family limiter_keys{"otpp_limiter_keys",
                          "Keys a rate limiter holds (NaN while its backend does not answer).",
                          metric_type::gauge,
                          {"limiter"}};
const family limiter_degraded_hits{"otpp_limiter_degraded_hits_total",
                                   "Hits a rate limiter answered by its failure policy while its backend failed.",
                                   metric_type::counter,
                                   {"limiter"}};

const family breaker_state{"otpp_breaker_state",
                           "A circuit breaker's state: 1 for the current one of closed, open and half_open, 0 for the others "
                           "(forced_open counts as open, disabled as closed).",
                           metric_type::gauge,
                           {"breaker", "state"}};
const family breaker_calls{"otpp_breaker_calls_total",
                           "Calls through a circuit breaker, by outcome: success, failure or rejected.",
                           metric_type::counter,
                           {"breaker", "outcome"}};
const family breaker_failure_ratio{"otpp_breaker_failure_ratio",
                                   "Failed calls among the calls in a circuit breaker's current window (closed: the "
                                   "sliding window; half_open: the trial calls), from 0 to 1.",
                                   metric_type::gauge,
                                   {"breaker"}};
const family breaker_slow_call_ratio{"otpp_breaker_slow_call_ratio",
                                     "Slow calls among the calls in a circuit breaker's current window, from 0 to 1.",
                                     metric_type::gauge,
                                     {"breaker"}};

const family memory_bytes{"otpp_memory_bytes", "Resident memory of the process in bytes, as the memory manager last sampled it.", metric_type::gauge,
                          {"manager"}};
const family memory_limit_bytes{"otpp_memory_limit_bytes", "The memory manager's limit in bytes.", metric_type::gauge,
                                {"manager"}};
const family memory_level{"otpp_memory_level", "The memory manager's pressure level: 0 normal, 1 elevated, 2 high, 3 critical.",
                          metric_type::gauge,
                          {"manager"}};

const family protected_seconds{"otpp_protected_operation_seconds",
                               "Time of the operations protected_operation ran (admitted calls only).",
                               metric_type::histogram,
                               {"namespace", "service"}};
const family protected_results{"otpp_protected_operation_results_total",
                               "Results of protected_operation: ok, failed, or the guard that refused it.",
                               metric_type::counter,
                               {"namespace", "service", "result"}};

const family cluster_peer_up{"otpp_cluster_peer_up", "1 while this node is connected to the peer, else 0.",
                             metric_type::gauge,
                             {"peer"}};
const family cluster_node_downs{"otpp_cluster_node_down_total", "Times a peer went down, by cause.",
                                metric_type::counter,
                                {"peer", "cause"}};

const family config_reloads{"otpp_config_reloads_total",
                            "Reloads of the node's configuration file: ok (applied) or rejected (nothing changed).",
                            metric_type::counter,
                            {"result"}};

} // namespace otpp::perf::families
