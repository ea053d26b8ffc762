// otpp-bench: the worker pool, from plain threads and from actors, and
// protected_operation (every guard around one pooled request).
#include <atomic>
#include <iostream>
#include <memory>
#include <thread>

#include <caf/all.hpp>

#include "otpp/actors/breaker/breaker_owner.hpp"
#include "otpp/actors/guards/protected_operation.hpp"
#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/rate_limit/limiter_owner.hpp"
#include "otpp/actors/thread_call.hpp"
#include "apps/bench/common.hpp"
#include "apps/bench/run_threads.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor_api.hpp"

namespace otpp::bench {

using namespace std::chrono_literals;

namespace {

void print(const std::string& name, const std::string& callers_key, int callers, const run_result& r) {
  std::cout << json_line(name, {{callers_key, std::to_string(callers)},
                                {"pool_size", "10"},
                                {"max_overflow", "5"},
                                {"ops_per_s", num(r.ops_per_s)},
                                {"p50_ns", num(percentile(r.latencies_ns, 0.50))},
                                {"p99_ns", num(percentile(r.latencies_ns, 0.99))},
                                {"scheduler", quoted(otpp_profile().name)}})
            << std::endl;
}

} // namespace

pool::pool_ref start_bench_pool(caf::actor_system& sys) {
  pool::pool_config config;
  config.name = "bench.pool";
  config.size = 10;
  config.max_overflow = 5;
  config.worker = "echo";
  auto p = pool::start_pool(sys, config);
  if (!p)
    throw std::runtime_error(supervision::describe(p.error()));
  return *p;
}


void bench_pool_checkout_checkin(const options& opts) {
  for (int threads : {1, 16}) {
    bench_config cfg{otpp_profile()};
    caf::actor_system sys{cfg};
    auto p = start_bench_pool(sys);
    auto r = run_threads(threads, opts.duration, [&](int) {
      auto held = p.checkout(true, 5s);
      if (!held)
        throw std::runtime_error(supervision::describe(held.error()));
    });
    print("pool.checkout_checkin", "threads", threads, r);
    caf::anon_send_exit(p.actor(), caf::exit_reason::user_shutdown);
  }
}

namespace {

using loop_atom = caf::atom_constant<caf::atom("loop")>;

struct actor_totals {
  std::atomic<long long> ops{0};
  std::atomic<bool> stop{false};
};

// What a caller actor does after each operation begun at t0: count it,
// sample its latency now and then, and go again.
auto one_done(caf::event_based_actor* self, std::shared_ptr<actor_totals> totals,
              std::shared_ptr<std::vector<double>> samples) {
  return [=](bench_clock::time_point t0) {
    if ((++totals->ops) % sample_every == 0)
      samples->push_back(std::chrono::duration<double, std::nano>(bench_clock::now() - t0).count());
    self->send(self, loop_atom::value);
  };
}

// A caller actor: checkout, checkin, again, until told to stop. It takes an
// idle worker directly when there is one, else it asks the checkout actor.
caf::behavior checkout_loop(caf::event_based_actor* self, pool::pool_ref pool, std::shared_ptr<actor_totals> totals,
                            std::shared_ptr<std::vector<double>> samples) {
  self->send(self, loop_atom::value);
  auto done = one_done(self, totals, samples);
  return {
    [=](loop_atom) {
      if (totals->stop)
        return;
      auto t0 = bench_clock::now();
      if (auto w = pool.try_checkout(caf::actor_cast<caf::actor>(self))) {
        pool.checkin(*w);
        done(t0);
        return;
      }
      self->request(pool.actor(), caf::infinite, pool::checkout_atom::value, true, std::chrono::milliseconds{5000})
        .then([=](caf::actor& w) {
          self->request(pool.actor(), caf::infinite, pool::checkin_atom::value, w).then([=](caf::ok_atom) { done(t0); });
        });
    },
  };
}

} // namespace

namespace {

// Runs `callers` actors of behaviour `loop` on pool `p` for `duration`, then
// stops them and the pool: ops per second and their sampled latencies.
template <class Loop>
run_result run_actors(caf::actor_system& sys, const pool::pool_ref& p, int callers, std::chrono::milliseconds duration,
                      Loop loop) {
  auto totals = std::make_shared<actor_totals>();
  std::vector<std::shared_ptr<std::vector<double>>> samples;
  std::vector<caf::actor> actors;
  auto start = bench_clock::now();
  for (int i = 0; i < callers; ++i) {
    samples.push_back(std::make_shared<std::vector<double>>());
    actors.push_back(sys.spawn(loop, p, totals, samples.back()));
  }
  std::this_thread::sleep_for(duration);
  totals->stop = true;
  auto ops = totals->ops.load();
  auto secs = std::chrono::duration<double>(bench_clock::now() - start).count();
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::kill);
  caf::anon_send_exit(p.actor(), caf::exit_reason::user_shutdown);
  run_result r{static_cast<double>(ops) / secs, {}};
  for (auto& s : samples)
    r.latencies_ns.insert(r.latencies_ns.end(), s->begin(), s->end());
  return r;
}

} // namespace

void bench_pool_checkout_checkin_actor(const options& opts) {
  constexpr int callers = 16;
  bench_config cfg{otpp_profile()};
  caf::actor_system sys{cfg};
  auto p = start_bench_pool(sys);
  print("pool.checkout_checkin_actor", "actors", callers, run_actors(sys, p, callers, opts.duration, checkout_loop));
}

namespace {

// A caller actor: take a worker (directly when one is idle, else by request),
// one request to it, check it in, again, until told to stop.
caf::behavior transaction_loop(caf::event_based_actor* self, pool::pool_ref pool, std::shared_ptr<actor_totals> totals,
                               std::shared_ptr<std::vector<double>> samples) {
  self->send(self, loop_atom::value);
  auto done = one_done(self, totals, samples);
  auto call = [=](caf::actor w, bench_clock::time_point t0) {
    self->request(w, caf::infinite, 1).then([=](int answer) {
      if (answer != 1)
        throw std::runtime_error("transaction failed");
      pool.checkin(w);
      done(t0);
    });
  };
  return {
    [=](loop_atom) {
      if (totals->stop)
        return;
      auto t0 = bench_clock::now();
      if (auto w = pool.try_checkout(caf::actor_cast<caf::actor>(self))) {
        call(*w, t0);
        return;
      }
      self->request(pool.actor(), caf::infinite, pool::checkout_atom::value, true, std::chrono::milliseconds{5000})
        .then([=](caf::actor& w) { call(w, t0); });
    },
  };
}

// What the lease bench's workers lend: an echo on the holder's thread.
class echo_resource : public pool::direct_resource {
public:
  int call(int x) {
    ++calls_;
    return x;
  }

private:
  long long calls_ = 0; // used by the lease holder only
};

pool::pool_ref start_lease_pool(caf::actor_system& sys) {
  pool::pool_config config;
  config.name = "bench.lease_pool";
  config.size = 10;
  config.max_overflow = 5;
  config.worker = "echo_lending";
  auto echo = pool::find_worker_kind("echo");
  config.factory = [start = echo->start](supervision::start_context& ctx,
                                         const pool::worker_args& args) -> caf::expected<caf::actor> {
    auto w = start(ctx, args);
    if (w)
      pool::offer_direct(*w, std::make_shared<echo_resource>());
    return w;
  };
  auto p = pool::start_pool(sys, config);
  if (!p)
    throw std::runtime_error(supervision::describe(p.error()));
  return *p;
}

} // namespace

// pool.transaction (threads: checkout, one request to the worker actor,
// checkin), pool.transaction_actor (the same from 16 event-based actors),
// pool.transaction_lease (threads: the worker's direct resource used on the
// caller's thread), and the CPU one caller costs at 1000 transactions/s.
void bench_pool_transaction(const options& opts) {
  for (int threads : {1, 16}) {
    bench_config cfg{otpp_profile()};
    caf::actor_system sys{cfg};
    auto p = start_bench_pool(sys);
    auto r = run_threads(threads, opts.duration, [&](int) {
      thread_local caf::scoped_actor self{sys};
      auto answer = p.transaction([&](const caf::actor& w) { return thread_call<int>(self, w, 5s, 1); });
      if (!answer || *answer != 1)
        throw std::runtime_error("transaction failed");
    });
    print("pool.transaction", "threads", threads, r);
    caf::anon_send_exit(p.actor(), caf::exit_reason::user_shutdown);
  }
  for (int callers : {1, 16}) {
    bench_config cfg{otpp_profile()};
    caf::actor_system sys{cfg};
    auto p = start_bench_pool(sys);
    print("pool.transaction_actor", "actors", callers, run_actors(sys, p, callers, opts.duration, transaction_loop));
  }
  for (int threads : {1, 16}) {
    bench_config cfg{otpp_profile()};
    caf::actor_system sys{cfg};
    auto p = start_lease_pool(sys);
    auto r = run_threads(threads, opts.duration, [&](int) {
      auto answer = p.direct_transaction<echo_resource>([](echo_resource& echo) { return echo.call(1); });
      if (!answer || *answer != 1)
        throw std::runtime_error("direct transaction failed");
    });
    print("pool.transaction_lease", "threads", threads, r);
    caf::anon_send_exit(p.actor(), caf::exit_reason::user_shutdown);
  }
  {
    bench_config cfg{otpp_profile()};
    caf::actor_system sys{cfg};
    auto p = start_bench_pool(sys);
    caf::scoped_actor self{sys};
    std::this_thread::sleep_for(300ms); // let the workers settle
    auto cpu0 = cpu_seconds();
    auto t0 = bench_clock::now();
    long long ops = 0;
    for (auto next = t0; next - t0 < 2s; next += 1ms, ++ops) {
      std::this_thread::sleep_until(next);
      auto answer = p.transaction([&](const caf::actor& w) { return thread_call<int>(self, w, 5s, 1); });
      if (!answer || *answer != 1)
        throw std::runtime_error("transaction failed");
    }
    auto cpu = cpu_seconds() - cpu0;
    auto wall = std::chrono::duration<double>(bench_clock::now() - t0).count();
    std::cout << json_line("pool.transaction_light_cpu", {{"threads", "1"},
                                                          {"ops_per_s", num(static_cast<double>(ops) / wall)},
                                                          {"cpu_percent_of_one_core", num(100.0 * cpu / wall)},
                                                          {"scheduler", quoted(otpp_profile().name)}})
              << std::endl;
    caf::anon_send_exit(p.actor(), caf::exit_reason::user_shutdown);
  }
}

void bench_protected_operation(const options& opts) {
  for (int threads : {1, 16}) {
    bench_config cfg{otpp_profile()};
    caf::actor_system sys{cfg};
    supervision::supervisor_config root;
    root.name = "bench.guards";
    memory::memory_config memory;
    memory.limit_mb = 1024 * 1024; // the level stays normal; the check still runs
    rate_limit::limiter_config limit;
    limit.name = "bench.limit";
    limit.algorithm = rate_limit::algorithm::token_bucket;
    limit.capacity = 1'000'000'000;
    limit.rate_per_s = 1e9;
    pool::pool_config workers;
    workers.name = "bench.pool";
    workers.size = 10;
    workers.max_overflow = 5;
    workers.worker = "echo";
    breaker::breaker_config service;
    service.name = "bench.service";
    root.children = {memory::memory_child(memory), rate_limit::limiter_child(limit, 60s), pool::pool_child(workers),
                     breaker::breaker_child(service)};
    auto sup = supervision::start_supervisor(sys, root);
    if (!sup)
      throw std::runtime_error(supervision::describe(sup.error()));
    protection p;
    p.ns = "bench";
    p.service = "bench.service";
    p.limiter = "bench.limit";
    p.pool = "bench.pool";
    p.breaker = "bench.service";
    auto r = run_threads(threads, opts.duration, [&](int t) {
      thread_local caf::scoped_actor self{sys};
      thread_local auto mine = [&] {
        auto own = p;
        own.key = "key:" + std::to_string(t);
        return own;
      }();
      auto answer = protected_operation(sys, mine, [&](const caf::actor& w) { return thread_call<int>(self, w, 5s, 1); });
      if (!answer || *answer != 1)
        throw std::runtime_error("protected operation failed: "
                                 + (answer ? std::string{"wrong answer"} : supervision::describe(answer.error())));
    });
    print("protected_operation", "threads", threads, r);
    caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  }
}

} // namespace otpp::bench
