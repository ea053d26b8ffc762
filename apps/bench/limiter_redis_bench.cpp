// otpp-bench: the rate limiter on a private redis-server, every hit on the
// allow path, beside INCR through the same pipelining client (Redis's own
// time per call and its CPU per call), with an exactness check.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>

#include "otpp/actors/redis/client.hpp"
#include "apps/bench/common.hpp"
#include "apps/bench/limiter_shapes.hpp"
#include "tests/support/redis_server.hpp"

namespace otpp::bench {

namespace {

// The first line of `command`'s output.
std::string output_of(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe{popen(command.c_str(), "r"), pclose};
  char line[512] = {0};
  if (!pipe || fgets(line, sizeof line, pipe.get()) == nullptr)
    return {};
  return line;
}

// INFO figures of a private server, between a reset and now.
class redis_stats {
public:
  explicit redis_stats(const test::redis_server& server) {
    redis::endpoint where;
    where.port = server.port();
    where.host = "127.0.0.1";
    auto c = redis::connection::open(where, std::chrono::seconds(2));
    if (!c)
      throw std::runtime_error("cannot reach the bench's redis-server: " + supervision::describe(c.error()));
    connection_ = std::move(*c);
  }

  void reset() {
    connection_->command({"CONFIG", "RESETSTAT"});
    cpu_before_ = cpu_seconds_used();
  }

  /// Redis's own time per call of `command` (INFO commandstats), in microseconds.
  double usec_per_call(const std::string& command) { return field("cmdstat_" + command + ":", "usec_per_call="); }

  /// The server's CPU time (user and system) since `reset`, per call of `command`, in microseconds.
  double cpu_us_per_call(const std::string& command) {
    auto calls = field("cmdstat_" + command + ":", "calls=");
    return calls > 0 ? (cpu_seconds_used() - cpu_before_) * 1e6 / calls : 0;
  }

private:
  std::string info() {
    auto r = connection_->command({"INFO", "everything"});
    return r ? std::string{(*r)->str, (*r)->len} : std::string{};
  }

  double field(const std::string& line, const std::string& name) {
    auto text = info();
    auto at = text.find(line);
    if (at == std::string::npos)
      return 0;
    auto v = name.empty() ? at + line.size() : text.find(name, at);
    return v == std::string::npos ? 0 : std::stod(text.substr(v + name.size()));
  }

  double cpu_seconds_used() { return field("used_cpu_sys:", "") + field("used_cpu_user:", ""); }

  std::unique_ptr<redis::connection> connection_;
  double cpu_before_ = 0;
};

rate_limit::redis_options redis_options(const test::redis_server& server, int connections) {
  rate_limit::redis_options options;
  options.url = server.url();
  options.prefix = "bench";
  options.timeout = std::chrono::seconds(2);
  options.connections = connections;
  return options;
}

double incr_per_second(redis::client& c, int threads, int keys, std::chrono::milliseconds duration) {
  std::vector<std::string> names;
  for (int i = 0; i < keys; ++i)
    names.push_back("incr:" + std::to_string(i));
  std::vector<std::size_t> cursor(static_cast<std::size_t>(threads) * 8);
  std::atomic<long long> failed{0};
  auto r = run_threads(threads, duration, [&](int t) {
    auto& k = cursor[static_cast<std::size_t>(t) * 8];
    if ((k += 7) >= names.size())
      k %= names.size();
    if (!c.call({"INCR", names[k]}))
      ++failed;
  });
  if (failed > 0)
    throw std::runtime_error("an INCR failed");
  return r.ops_per_s;
}

// Admitted minus capacity when `threads` threads hit one key of a token
// bucket of 10000 with no refill 2000 times each (0: exact).
long long over_admitted(const test::redis_server& server, int threads, int connections) {
  auto config = reference_config(rate_limit::algorithm::token_bucket);
  config.name = "exact";
  config.capacity = 10000;
  config.rate_per_s = 0;
  auto l = created(rate_limit::limiter::on_redis(config, redis_options(server, connections)));
  std::atomic<long long> admitted{0}, failed{0};
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t)
    running.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto d = l->hit("one");
        if (!d || d->degraded)
          ++failed;
        else if (d->allowed)
          ++admitted;
      }
    });
  for (auto& t : running)
    t.join();
  l->reset("one");
  if (failed > 0)
    throw std::runtime_error("a hit failed in the exactness check");
  return admitted - std::min<long long>(10000, 2000LL * threads);
}

} // namespace

void bench_limiter_redis(const options& opts) {
  test::redis_server server;
  // The server's own ceiling for a trivial command from 16 clients
  // (redis-benchmark, shipped with redis-server).
  auto reference = output_of("redis-benchmark -p " + std::to_string(server.port())
                             + " -c 16 -n 200000 -t incr -q --csv 2>/dev/null | tail -n 1");
  double incr_per_s = 0;
  if (auto comma = reference.find("\",\""); comma != std::string::npos)
    incr_per_s = std::stod(reference.substr(comma + 3));
  std::cout << json_line("limiter.redis.reference", {{"command", quoted("INCR")},
                                                     {"clients", "16"},
                                                     {"ops_per_s", num(incr_per_s)},
                                                     {"tool", quoted("redis-benchmark")}})
            << std::endl;
  redis_stats stats{server};
  struct shape {
    int threads, connections;
  };
  for (auto [threads, connections] : {shape{1, 1}, shape{16, 1}, shape{16, 4}}) {
    auto fields = [&, threads = threads, connections = connections](double rate) {
      std::vector<std::pair<std::string, std::string>> f{{"threads", std::to_string(threads)},
                                                         {"connections", std::to_string(connections)},
                                                         {"keys", "1000"},
                                                         {"ops_per_s", num(rate)}};
      return f;
    };
    // The reference: INCR through the same pipelining client.
    redis::client_options raw;
    raw.server.port = server.port();
    raw.server.host = "127.0.0.1";
    raw.connections = connections;
    raw.timeout = std::chrono::seconds(2);
    redis::client incr{raw};
    stats.reset();
    auto incr_rate = incr_per_second(incr, threads, 1000, opts.duration);
    auto f = fields(incr_rate);
    f.insert(f.end(), {{"usec_per_call", num(stats.usec_per_call("incr"))},
                       {"redis_cpu_us_per_op", num(stats.cpu_us_per_call("incr"))}});
    std::cout << json_line("redis.incr", f) << std::endl;

    auto options = redis_options(server, connections);
    auto l = created(rate_limit::limiter::on_redis(reference_config(rate_limit::algorithm::token_bucket), options));
    stats.reset();
    auto rate = hits_per_second(*l, threads, 1000, opts.duration);
    f = fields(rate);
    f.insert(f.end(), {{"usec_per_call", num(stats.usec_per_call("evalsha"))},
                       {"redis_cpu_us_per_op", num(stats.cpu_us_per_call("evalsha"))},
                       {"vs_incr", num(rate / incr_rate)},
                       {"over_admitted", std::to_string(over_admitted(server, threads, connections))},
                       {"degraded_hits", std::to_string(l->degraded_hits())}});
    std::cout << json_line("limiter.redis.token_bucket", f) << std::endl;
  }
  for (auto a : {rate_limit::algorithm::fixed_window, rate_limit::algorithm::sliding_window,
                 rate_limit::algorithm::leaky_bucket}) {
    auto l = created(rate_limit::limiter::on_redis(reference_config(a), redis_options(server, 4)));
    stats.reset();
    auto rate = hits_per_second(*l, 16, 1000, opts.duration);
    std::cout << json_line("limiter.redis." + rate_limit::to_string(a),
                           {{"threads", "16"},
                            {"connections", "4"},
                            {"keys", "1000"},
                            {"ops_per_s", num(rate)},
                            {"usec_per_call", num(stats.usec_per_call("evalsha"))},
                            {"redis_cpu_us_per_op", num(stats.cpu_us_per_call("evalsha"))}})
              << std::endl;
  }
}

} // namespace otpp::bench
