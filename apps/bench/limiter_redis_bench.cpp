// otpp-bench: the rate limiter on a private redis-server, every hit on the
// allow path, beside INCR through the same pipelining client (Redis's own
// time per call and its CPU per call), with an exactness check; with blocks
// off and on, and with blocks on two processes (nodes) beside one.
#include <sys/wait.h>
#include <unistd.h>

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

  /// Calls of `command` since `reset`.
  double calls(const std::string& command) { return field("cmdstat_" + command + ":", "calls="); }

  /// The server's CPU time since `reset`, in microseconds.
  double cpu_us() { return (cpu_seconds_used() - cpu_before_) * 1e6; }

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

// Units a block may hold in the lines with blocks on, and their lease.
constexpr int64_t bench_block = 1000;
constexpr std::chrono::milliseconds bench_lease{1000};

rate_limit::redis_options redis_options(const test::redis_server& server, int connections, int64_t block = 0) {
  rate_limit::redis_options options;
  options.url = server.url();
  options.prefix = "bench";
  options.timeout = std::chrono::seconds(2);
  options.connections = connections;
  options.block = block;
  options.block_lease = bench_lease;
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
long long over_admitted(const test::redis_server& server, int threads, int connections, int64_t block) {
  auto config = reference_config(rate_limit::algorithm::token_bucket);
  config.name = "exact";
  config.capacity = 10000;
  config.rate_per_s = 0;
  auto l = created(rate_limit::limiter::on_redis(config, redis_options(server, connections, block)));
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

// Hits per second of a token bucket with blocks on, `threads` threads, in a
// child process (another node), started when `go` is readable; the result
// is written to `out`.
[[noreturn]] void other_node(const test::redis_server& server, int threads, int go, int out,
                             std::chrono::milliseconds duration) {
  double rate = -1;
  try {
    auto l = created(rate_limit::limiter::on_redis(reference_config(rate_limit::algorithm::token_bucket),
                                                   redis_options(server, 4, bench_block)));
    char byte;
    if (read(go, &byte, 1) == 1)
      rate = hits_per_second(*l, threads, 1000, duration);
  } catch (const std::exception&) {
  }
  auto written = write(out, &rate, sizeof rate);
  _exit(written == sizeof rate ? 0 : 1);
}

// Two nodes (this process and a child) of `threads` threads each, with
// blocks on, at once, beside one node alone just before; Redis's share of a
// core while both run.
void two_nodes(const test::redis_server& server, redis_stats& stats, int threads,
               std::chrono::milliseconds duration) {
  auto config = reference_config(rate_limit::algorithm::token_bucket);
  double one_node = 0;
  {
    auto l = created(rate_limit::limiter::on_redis(config, redis_options(server, 4, bench_block)));
    one_node = hits_per_second(*l, threads, 1000, duration);
  }
  int go[2], out[2];
  if (pipe(go) != 0 || pipe(out) != 0)
    throw std::runtime_error("pipe failed");
  std::cout.flush();
  auto child = fork();
  if (child < 0)
    throw std::runtime_error("fork failed");
  if (child == 0)
    other_node(server, threads, go[0], out[1], duration);
  auto l = created(rate_limit::limiter::on_redis(config, redis_options(server, 4, bench_block)));
  stats.reset();
  auto start = std::chrono::steady_clock::now();
  char byte = 1;
  if (write(go[1], &byte, 1) != 1)
    throw std::runtime_error("cannot start the other node");
  auto mine = hits_per_second(*l, threads, 1000, duration);
  double theirs = -1;
  auto got = read(out[0], &theirs, sizeof theirs);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto redis_cpu = stats.cpu_us();
  auto calls = stats.calls("evalsha");
  int status = 0;
  waitpid(child, &status, 0);
  for (int fd : {go[0], go[1], out[0], out[1]})
    close(fd);
  if (got != sizeof theirs || theirs < 0)
    throw std::runtime_error("the other node failed");
  std::cout << json_line("limiter.redis.token_bucket.two_nodes",
                         {{"nodes", "2"},
                          {"threads_per_node", std::to_string(threads)},
                          {"connections", "4"},
                          {"keys", "1000"},
                          {"block", std::to_string(bench_block)},
                          {"ops_per_s", num(mine + theirs)},
                          {"node_ops_per_s", "[" + num(mine) + "," + num(theirs) + "]"},
                          {"one_node_ops_per_s", num(one_node)},
                          {"vs_one_node", num((mine + theirs) / one_node)},
                          {"redis_cpu_us_per_op", num(redis_cpu / ((mine + theirs) * seconds))},
                          {"calls_per_hit", num(calls / ((mine + theirs) * seconds))},
                          {"redis_core_share", num(redis_cpu / 1e6 / seconds)}})
            << std::endl;
}

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
  // One limiter's line: hits per second, Redis's time per script call, its
  // CPU per hit and script calls per hit (below 1 with blocks).
  auto measure = [&](rate_limit::algorithm a, int threads, int connections, int64_t block) {
    auto l = created(rate_limit::limiter::on_redis(reference_config(a), redis_options(server, connections, block)));
    stats.reset();
    auto rate = hits_per_second(*l, threads, 1000, opts.duration);
    auto hits = static_cast<double>(l->allowed_hits() + l->denied_hits());
    std::vector<std::pair<std::string, std::string>> f{{"threads", std::to_string(threads)},
                                                       {"connections", std::to_string(connections)},
                                                       {"keys", "1000"},
                                                       {"block", std::to_string(block)},
                                                       {"ops_per_s", num(rate)},
                                                       {"usec_per_call", num(stats.usec_per_call("evalsha"))},
                                                       {"redis_cpu_us_per_op", num(stats.cpu_us() / hits)},
                                                       {"calls_per_hit", num(stats.calls("evalsha") / hits)},
                                                       {"degraded_hits", std::to_string(l->degraded_hits())}};
    return std::make_pair(rate, f);
  };
  struct shape {
    int threads, connections;
  };
  for (auto [threads, connections] : {shape{1, 1}, shape{16, 1}, shape{16, 4}}) {
    // The reference: INCR through the same pipelining client.
    redis::client_options raw;
    raw.server.port = server.port();
    raw.server.host = "127.0.0.1";
    raw.connections = connections;
    raw.timeout = std::chrono::seconds(2);
    redis::client incr{raw};
    stats.reset();
    auto incr_rate = incr_per_second(incr, threads, 1000, opts.duration);
    std::cout << json_line("redis.incr", {{"threads", std::to_string(threads)},
                                          {"connections", std::to_string(connections)},
                                          {"keys", "1000"},
                                          {"ops_per_s", num(incr_rate)},
                                          {"usec_per_call", num(stats.usec_per_call("incr"))},
                                          {"redis_cpu_us_per_op", num(stats.cpu_us_per_call("incr"))}})
              << std::endl;
    for (int64_t block : {int64_t{0}, bench_block}) {
      auto [rate, f] = measure(rate_limit::algorithm::token_bucket, threads, connections, block);
      f.insert(f.end(), {{"vs_incr", num(rate / incr_rate)},
                         {"over_admitted", std::to_string(over_admitted(server, threads, connections, block))}});
      std::cout << json_line("limiter.redis.token_bucket", f) << std::endl;
    }
  }
  for (auto a : {rate_limit::algorithm::fixed_window, rate_limit::algorithm::sliding_window,
                 rate_limit::algorithm::leaky_bucket})
    for (int64_t block : {int64_t{0}, bench_block}) {
      if (block > 0 && a == rate_limit::algorithm::sliding_window)
        continue; // no blocks
      std::cout << json_line("limiter.redis." + rate_limit::to_string(a), measure(a, 16, 4, block).second)
                << std::endl;
    }
  // Two nodes (processes) beside one: with one thread each (each node has a
  // core of its own on a 2-core machine) and with 16 (one node already uses
  // both cores).
  for (int threads : {1, 16})
    two_nodes(server, stats, threads, opts.duration);
}

} // namespace otpp::bench
