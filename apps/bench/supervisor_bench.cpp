// otpp-bench: supervisor restart latency and the scheduler's idle cost.
#include <atomic>
#include <iostream>
#include <thread>

#include <caf/all.hpp>

#include "apps/bench/common.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/registry.hpp"
#include "otpp/supervision/supervisor.hpp"

namespace otpp::bench {

namespace sup = otpp::supervision;
using namespace std::chrono_literals;

namespace {

std::atomic<uint64_t> incarnations{0};

caf::behavior counted_child(caf::event_based_actor*) {
  incarnations.fetch_add(1, std::memory_order_release);
  return {[](int x) { return x; }};
}

// Kill to replacement alive (its behaviour ran) and resolvable by name.
std::vector<double> measure_restarts(caf::actor_system& sys, int count, std::chrono::microseconds idle_before_kill) {
  sup::supervisor_config config;
  config.name = "bench";
  config.flags.intensity = count * 10;
  config.flags.period = 1000ms;
  sup::child_spec spec;
  spec.id = "child";
  spec.name = "bench.child";
  spec.start = [](sup::start_context& ctx) -> caf::expected<caf::actor> { return ctx.spawn(counted_child); };
  config.children = {spec};
  auto tree = sup::start_supervisor(sys, config);
  if (!tree)
    throw std::runtime_error(sup::describe(tree.error()));
  auto& names = sup::registry::of(sys);
  std::vector<double> samples;
  const int warmup = 50;
  for (int i = 0; i < warmup + count; ++i) {
    while (incarnations.load(std::memory_order_acquire) != static_cast<uint64_t>(i + 1) || !names.whereis("bench.child"))
      std::this_thread::yield();
    if (idle_before_kill.count() > 0)
      std::this_thread::sleep_for(idle_before_kill); // let the scheduler park, as between real crashes
    auto victim = names.whereis("bench.child");
    auto target = static_cast<uint64_t>(i + 2);
    auto start = bench_clock::now();
    caf::anon_send_exit(victim, caf::exit_reason::kill);
    for (;;) {
      if (incarnations.load(std::memory_order_acquire) >= target) {
        auto now = names.whereis("bench.child");
        if (now && now != victim)
          break;
      }
    }
    auto took = std::chrono::duration<double, std::micro>(bench_clock::now() - start).count();
    if (i >= warmup)
      samples.push_back(took);
  }
  caf::anon_send_exit(*tree, caf::exit_reason::user_shutdown);
  incarnations = 0;
  return samples;
}

std::atomic<uint64_t> downs{0};

// Bare CAF, no otpp: kill a monitored actor, until the monitor's down handler
// ran. The floor under supervisor.restart, measured in the same run.
std::vector<double> measure_kill_to_down(caf::actor_system& sys, int count) {
  auto watcher = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    self->set_down_handler([](caf::down_msg&) { downs.fetch_add(1, std::memory_order_release); });
    return {[self](caf::actor& who) { self->monitor(who); }};
  });
  std::vector<double> samples;
  caf::scoped_actor self{sys};
  for (int i = 0; i < count; ++i) {
    auto victim = sys.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x; }}; });
    self->request(watcher, caf::infinite, victim).receive([] {}, [](caf::error&) {});
    auto start = bench_clock::now();
    caf::anon_send_exit(victim, caf::exit_reason::kill);
    while (downs.load(std::memory_order_acquire) != static_cast<uint64_t>(i + 1)) {
    }
    samples.push_back(std::chrono::duration<double, std::micro>(bench_clock::now() - start).count());
  }
  caf::anon_send_exit(watcher, caf::exit_reason::kill);
  downs = 0;
  return samples;
}

} // namespace

void bench_supervisor_restart(const options& opts) {
  for (const auto& profile : profiles()) {
    {
      bench_config cfg{profile};
      caf::actor_system sys{cfg};
      auto samples = measure_kill_to_down(sys, opts.restarts);
      std::cout << json_line("caf.kill_to_down", {{"scheduler", quoted(profile.name)},
                                                  {"kills", std::to_string(samples.size())},
                                                  {"p50_us", num(percentile(samples, 0.50))},
                                                  {"p99_us", num(percentile(samples, 0.99))}})
                << std::endl;
    }
    for (auto idle : {0us, 20000us}) {
      bench_config cfg{profile};
      caf::actor_system sys{cfg};
      int count = idle.count() > 0 ? std::max(1, opts.restarts / 5) : opts.restarts;
      auto samples = measure_restarts(sys, count, idle);
      std::cout << json_line(idle.count() > 0 ? "supervisor.restart_after_idle" : "supervisor.restart",
                             {{"scheduler", quoted(profile.name)},
                              {"restarts", std::to_string(samples.size())},
                              {"idle_before_kill_ms", num(static_cast<double>(idle.count()) / 1000.0)},
                              {"p50_us", num(percentile(samples, 0.50))},
                              {"p99_us", num(percentile(samples, 0.99))},
                              {"max_us", num(percentile(samples, 1.0))},
                              {"reports", "\"off\""}})
                << std::endl;
    }
  }
}

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;

// An actor woken every `period`, as a node's sweep and health timers do.
caf::behavior ticker(caf::event_based_actor* self, std::chrono::milliseconds period) {
  self->delayed_send(self, period, tick_atom::value);
  return {[self, period](tick_atom) { self->delayed_send(self, period, tick_atom::value); }};
}

} // namespace

// CPU an actor system burns while idle, in percent of one core, per scheduler
// profile: fully idle, and woken by a timer every 100 ms.
void bench_idle_cpu(const options&) {
  for (const auto& profile : profiles()) {
    for (auto tick : {0ms, 100ms}) {
      bench_config cfg{profile};
      caf::actor_system sys{cfg};
      caf::actor timer;
      if (tick.count() > 0)
        timer = sys.spawn(ticker, tick);
      std::this_thread::sleep_for(300ms); // let the workers settle into their idle state
      auto cpu0 = cpu_seconds();
      auto wall0 = bench_clock::now();
      std::this_thread::sleep_for(3s);
      auto cpu = cpu_seconds() - cpu0;
      auto wall = std::chrono::duration<double>(bench_clock::now() - wall0).count();
      std::cout << json_line("scheduler.idle_cpu",
                             {{"scheduler", quoted(profile.name)},
                              {"workers", std::to_string(sys.scheduler().num_workers())},
                              {"timer_every_ms", std::to_string(tick.count())},
                              {"cpu_percent_of_one_core", num(100.0 * cpu / wall)}})
                << std::endl;
      if (timer)
        caf::anon_send_exit(timer, caf::exit_reason::kill);
    }
  }
}

} // namespace otpp::bench
