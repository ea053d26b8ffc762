// otpp-bench: pooled database connections (worker.*), each beside a
// reference from the same run where there is one.
#include <libpq-fe.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include <caf/all.hpp>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/workers/postgres_worker.hpp"
#include "otpp/actors/workers/sqlite_worker.hpp"
#include "apps/bench/common.hpp"
#include "apps/bench/run_threads.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/postgres_server.hpp"

namespace otpp::bench {

using namespace std::chrono_literals;

namespace {

constexpr int client_threads = 16;
constexpr std::size_t pool_size = 10;
constexpr int rounds = 5;

// A pool of `kind` workers and a one-statement helper on it.
struct sql_pool {
  bench_config cfg{otpp_profile()};
  caf::actor_system sys{cfg};
  pool::pool_ref pool;

  sql_pool(const std::string& kind, std::map<std::string, supervision::argument_value> args) {
    pool::pool_config config;
    config.name = "bench." + kind;
    config.size = pool_size;
    config.max_overflow = 0;
    config.worker = kind;
    config.args = supervision::arguments{std::move(args)};
    auto p = pool::start_pool(sys, config);
    if (!p)
      throw std::runtime_error(supervision::describe(p.error()));
    pool = *p;
  }

  ~sql_pool() { caf::anon_send_exit(pool.actor(), caf::exit_reason::user_shutdown); }

  void execute(caf::scoped_actor& self, const std::string& sql, std::vector<workers::sql_value> params) {
    auto r = pool.transaction([&](const caf::actor& w) { return workers::execute(self, w, sql, params); });
    if (!r)
      throw std::runtime_error("statement failed: " + supervision::describe(r.error()));
  }

  // 16 threads inserting one row per transaction (autocommit).
  run_result insert_run(const options& opts) {
    return run_threads(client_threads, opts.duration, [&](int t) {
      thread_local caf::scoped_actor self{sys};
      thread_local long n = 0;
      execute(self, "INSERT INTO t VALUES ($1, $2)",
              {workers::sql_value::of(std::to_string(t)), workers::sql_value::of(std::to_string(++n))});
    });
  }
};

std::vector<std::pair<std::string, std::string>> figures(const run_result& r, int threads = client_threads) {
  return {{"threads", std::to_string(threads)},
          {"ops_per_s", num(r.ops_per_s)},
          {"p50_ns", num(percentile(r.latencies_ns, 0.50))},
          {"p99_ns", num(percentile(r.latencies_ns, 0.99))}};
}

// The run with the median throughput of several.
run_result median(std::vector<run_result> runs) {
  std::sort(runs.begin(), runs.end(), [](auto& a, auto& b) { return a.ops_per_s < b.ops_per_s; });
  return runs[runs.size() / 2];
}

// The same inserts with one libpq connection per thread and no pool.
run_result postgres_baseline_run(const options& opts, const std::string& url, int threads) {
  std::vector<std::unique_ptr<PGconn, void (*)(PGconn*)>> connections;
  for (int t = 0; t < threads; ++t) {
    connections.emplace_back(PQconnectdb(url.c_str()), PQfinish);
    if (PQstatus(connections.back().get()) != CONNECTION_OK)
      throw std::runtime_error(std::string{"baseline connection: "} + PQerrorMessage(connections.back().get()));
  }
  return run_threads(threads, opts.duration, [&](int t) {
    thread_local long n = 0;
    auto thread = std::to_string(t);
    auto count = std::to_string(++n);
    const char* values[] = {thread.c_str(), count.c_str()};
    std::unique_ptr<PGresult, void (*)(PGresult*)> r{
      PQexecParams(connections[static_cast<std::size_t>(t)].get(), "INSERT INTO t VALUES ($1, $2)", 2, nullptr,
                   values, nullptr, nullptr, 0),
      PQclear};
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
      throw std::runtime_error(std::string{"baseline insert: "} + PQresultErrorMessage(r.get()));
  });
}

} // namespace

void bench_worker_sqlite_insert(const options& opts) {
  workers::register_sqlite_kind();
  char dir[] = "/tmp/otpp-bench-sqlite-XXXXXX";
  if (::mkdtemp(dir) == nullptr)
    throw std::runtime_error("cannot create a directory for the database");
  {
    sql_pool db{"sqlite", {{"path", std::string{dir} + "/bench.db"}}};
    {
      caf::scoped_actor self{db.sys};
      db.execute(self, "CREATE TABLE t (thread INTEGER, n INTEGER)", {});
    }
    auto line = figures(db.insert_run(opts));
    line.insert(line.begin() + 1, {"pool_size", std::to_string(pool_size)});
    line.push_back({"journal_mode", quoted("wal")});
    std::cout << json_line("worker.sqlite.insert", line) << std::endl;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

void bench_worker_postgres(const options& opts) {
  workers::register_postgres_kind();
  test::postgres_server server; // private, on a free loopback port; fsync off
  sql_pool db{"postgres", {{"url", server.url()}}};
  {
    caf::scoped_actor self{db.sys};
    db.execute(self, "CREATE TABLE t (thread INTEGER, n INTEGER)", {});
  }
  // Alternating rounds, so that all see the same machine; the median of each.
  // Besides the baseline (16 threads, 16 connections), one with as
  // many connections as the pool: what 10 connections give without a pool.
  constexpr int pool_threads = static_cast<int>(pool_size);
  std::vector<run_result> baseline;
  std::vector<run_result> baseline_pool_sized;
  std::vector<run_result> pooled;
  for (int round = 0; round < rounds; ++round) {
    baseline.push_back(postgres_baseline_run(opts, server.url(), client_threads));
    pooled.push_back(db.insert_run(opts));
    baseline_pool_sized.push_back(postgres_baseline_run(opts, server.url(), pool_threads));
  }
  for (auto [runs, threads] : {std::pair{&baseline, client_threads}, std::pair{&baseline_pool_sized, pool_threads}}) {
    auto line = figures(median(*runs), threads);
    line.insert(line.begin() + 1, {"connections", std::to_string(threads)});
    line.push_back({"runs", std::to_string(rounds)});
    std::cout << json_line("worker.postgres.baseline", line) << std::endl;
  }
  auto line = figures(median(pooled));
  line.insert(line.begin() + 1, {"pool_size", std::to_string(pool_size)});
  line.push_back({"runs", std::to_string(rounds)});
  line.push_back({"vs_baseline", num(median(pooled).ops_per_s / median(baseline).ops_per_s)});
  line.push_back({"vs_baseline_10_connections", num(median(pooled).ops_per_s / median(baseline_pool_sized).ops_per_s)});
  std::cout << json_line("worker.postgres.insert", line) << std::endl;
}

} // namespace otpp::bench
