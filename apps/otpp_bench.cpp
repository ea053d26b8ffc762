// otpp-bench: benchmarks as programs. One JSON object per line on stdout:
// {"bench": NAME, ...figures}. `--filter TEXT` runs the benches whose name
// contains TEXT. Compare figures only with a reference measured in the same run.
#include <iostream>
#include <string>

#include "apps/bench/common.hpp"
#include "otpp/actors/events/log_sink.hpp"

using namespace otpp::bench;

namespace otpp::bench {
void bench_cluster(const options& opts); // apps/bench/cluster_bench.cpp: every cluster.* line
void bench_http(const options& opts);    // apps/bench/http_bench.cpp: every http.* line
}

namespace {

struct bench {
  const char* name;
  void (*run)(const options&);
};

const bench benches[] = {
  {"supervisor.restart", bench_supervisor_restart},
  {"scheduler.idle_cpu", bench_idle_cpu},
  {"pool.checkout_checkin", bench_pool_checkout_checkin},
  {"pool.checkout_checkin_actor", bench_pool_checkout_checkin_actor},
  {"pool.transaction", bench_pool_transaction},
  {"protected_operation", bench_protected_operation},
  {"worker.sqlite.insert", bench_worker_sqlite_insert},
  {"worker.postgres", bench_worker_postgres},
  {"limiter.hits", bench_limiter},
  {"breaker.closed_call", bench_breaker_closed_call},
  {"memory.check", bench_memory_check},
  {"limiter.memory", bench_limiter_memory},
  {"limiter.redis", bench_limiter_redis},
  {"cluster.tcp_roundtrip", bench_cluster},
  {"cluster.local_checkout", bench_cluster},
  {"cluster.remote_checkout", bench_cluster},
  {"http.endpoint", bench_http},
  {"events.on_off", bench_events},
};

} // namespace

int main(int argc, char** argv) {
  options opts;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--filter" && i + 1 < argc) {
      opts.filter = argv[++i];
    } else if (arg == "--restarts" && i + 1 < argc) {
      opts.restarts = std::stoi(argv[++i]);
    } else if (arg == "--seconds" && i + 1 < argc) {
      opts.duration = std::chrono::milliseconds{static_cast<long long>(std::stod(argv[++i]) * 1000)};
    } else {
      std::cerr << "usage: otpp-bench [--filter TEXT] [--restarts N] [--seconds S]\n  benches:";
      for (const auto& b : benches)
        std::cerr << " " << b.name;
      std::cerr << "\n";
      return 2;
    }
  }
  otpp::events::disable_log(); // as the OTP reference: reports not formatted (events.on.* turn it on)
  bool ran = false;
  for (const auto& b : benches) {
    if (std::string{b.name}.find(opts.filter) == std::string::npos)
      continue;
    b.run(opts);
    ran = true;
  }
  if (!ran) {
    std::cerr << "otpp-bench: no bench matches '" << opts.filter << "'\n";
    return 2;
  }
  return 0;
}
