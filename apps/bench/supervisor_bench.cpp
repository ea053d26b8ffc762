// otpp-bench: supervisor restart latency and the scheduler's idle cost.
#include <atomic>
#include <future>
#include <iostream>
#include <mutex>
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

using started_atom = caf::atom_constant<caf::atom("started")>;
using check_atom = caf::atom_constant<caf::atom("check")>;

// One incarnation of the bench child: counted, and announced to `driver` (if
// any) with the time its behaviour ran, as OTP's bench_worker announces its init.
caf::behavior counted_child(caf::event_based_actor* self, caf::actor driver) {
  incarnations.fetch_add(1, std::memory_order_release);
  if (driver)
    self->send(driver, started_atom::value, bench_clock::now().time_since_epoch().count(),
               caf::actor_cast<caf::actor>(self));
  return {[](int x) { return x; }};
}

// A one_for_one supervisor "bench" with the permanent child "bench.child".
caf::actor start_bench_tree(caf::actor_system& sys, int count, const caf::actor& driver) {
  sup::supervisor_config config;
  config.name = "bench";
  config.flags.intensity = count * 10;
  config.flags.period = 1000ms;
  sup::child_spec spec;
  spec.id = "child";
  spec.name = "bench.child";
  spec.start = [driver](sup::start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.spawn(counted_child, driver);
  };
  config.children = {spec};
  auto tree = sup::start_supervisor(sys, config);
  if (!tree)
    throw std::runtime_error(sup::describe(tree.error()));
  return *tree;
}

const int warmup = 50;

// Kill from a plain thread to replacement alive (its behaviour ran) and
// resolvable by name, as the thread sees it.
std::vector<double> measure_restarts(caf::actor_system& sys, int count, std::chrono::microseconds idle_before_kill) {
  auto tree = start_bench_tree(sys, count, caf::actor{});
  auto& names = sup::registry::of(sys);
  std::vector<double> samples;
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
  caf::anon_send_exit(tree, caf::exit_reason::user_shutdown);
  incarnations = 0;
  return samples;
}

// OTP's method (poolboy_bench's bench_restart): an actor kills the child and
// takes the time from just before the kill to the replacement's behaviour
// running (stamped by the replacement), or to its name resolving if later.
std::vector<double> measure_restarts_from_actor(caf::actor_system& sys, int count) {
  std::promise<std::vector<double>> result;
  auto done = result.get_future();
  auto driver = sys.spawn([&sys, count, &result](caf::event_based_actor* self, caf::unit_t) -> caf::behavior {
    struct state {
      std::vector<double> samples;
      int kills = 0;
      bench_clock::time_point killed_at;
    };
    auto st = std::make_shared<state>();
    auto kill_next = [self, st](const caf::actor& child) {
      st->killed_at = bench_clock::now();
      self->send_exit(child, caf::exit_reason::kill);
      ++st->kills;
    };
    auto record = [st, count, &result, kill_next](bench_clock::time_point ran, const caf::actor& child) {
      if (st->kills > warmup)
        st->samples.push_back(std::chrono::duration<double, std::micro>(ran - st->killed_at).count());
      if (st->kills == warmup + count)
        return result.set_value(std::move(st->samples));
      kill_next(child);
    };
    return {
      [&sys, self, st, record](started_atom, int64_t stamp, caf::actor& child) {
        auto ran = bench_clock::time_point{bench_clock::duration{stamp}};
        if (st->kills == 0 || sup::registry::of(sys).whereis("bench.child") == child)
          return record(ran, child);
        self->send(self, check_atom::value, child); // the supervisor has yet to register it
      },
      [&sys, self, record](check_atom, caf::actor& child) {
        if (sup::registry::of(sys).whereis("bench.child") == child)
          return record(bench_clock::now(), child);
        self->send(self, check_atom::value, child);
      },
    };
  }, caf::unit);
  auto tree = start_bench_tree(sys, count, driver);
  auto samples = done.get();
  caf::anon_send_exit(tree, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(driver, caf::exit_reason::kill);
  incarnations = 0;
  return samples;
}

std::atomic<uint64_t> downs{0};

// Bare CAF, no otpp: kill a monitored actor, until the monitor's down handler
// ran; the monitor then spawns and watches the next victim, as a supervisor
// would. The floor under supervisor.restart, measured the same way in the same run.
std::vector<double> measure_kill_to_down(caf::actor_system& sys, int count) {
  std::mutex mtx;
  caf::actor current; // the victim being watched, guarded by mtx
  auto watcher = sys.spawn([&](caf::event_based_actor* self, caf::unit_t) -> caf::behavior {
    auto next_victim = [&, self] {
      auto victim = self->spawn(
        [](caf::event_based_actor*, caf::unit_t) -> caf::behavior { return {[](int x) { return x; }}; }, caf::unit);
      self->monitor(victim);
      std::lock_guard<std::mutex> guard{mtx};
      current = victim;
    };
    self->set_down_handler([next_victim](caf::down_msg&) {
      downs.fetch_add(1, std::memory_order_release);
      next_victim();
    });
    next_victim();
    return {[](int x) { return x; }};
  }, caf::unit);
  std::vector<double> samples;
  caf::actor previous;
  for (int i = 0; i < warmup + count; ++i) {
    caf::actor victim;
    while (!victim || victim == previous) {
      std::lock_guard<std::mutex> guard{mtx};
      victim = current;
    }
    previous = victim;
    auto start = bench_clock::now();
    caf::anon_send_exit(victim, caf::exit_reason::kill);
    while (downs.load(std::memory_order_acquire) != static_cast<uint64_t>(i + 1)) {
    }
    auto took = std::chrono::duration<double, std::micro>(bench_clock::now() - start).count();
    if (i >= warmup)
      samples.push_back(took);
  }
  caf::anon_send_exit(watcher, caf::exit_reason::kill);
  caf::scoped_actor{sys}->wait_for(watcher); // spawns no victim after the last below
  {
    std::lock_guard<std::mutex> guard{mtx};
    caf::anon_send_exit(current, caf::exit_reason::kill);
    current = nullptr;
  }
  downs = 0;
  return samples;
}

std::vector<std::pair<std::string, std::string>> latency_fields(const std::vector<double>& samples) {
  return {{"p50_us", num(percentile(samples, 0.50))},
          {"p90_us", num(percentile(samples, 0.90))},
          {"p99_us", num(percentile(samples, 0.99))},
          {"max_us", num(percentile(samples, 1.0))}};
}

} // namespace

void bench_supervisor_restart(const options& opts) {
  for (const auto& profile : profiles()) {
    {
      bench_config cfg{profile};
      caf::actor_system sys{cfg};
      auto samples = measure_kill_to_down(sys, opts.restarts);
      std::vector<std::pair<std::string, std::string>> fields{{"scheduler", quoted(profile.name)},
                                                              {"kills", std::to_string(samples.size())}};
      for (auto& field : latency_fields(samples))
        fields.push_back(field);
      std::cout << json_line("caf.kill_to_down", fields) << std::endl;
    }
    for (auto idle : {0us, 20000us}) {
      bench_config cfg{profile};
      caf::actor_system sys{cfg};
      int count = idle.count() > 0 ? std::max(1, opts.restarts / 5) : opts.restarts;
      auto samples = measure_restarts(sys, count, idle);
      std::vector<std::pair<std::string, std::string>> fields{
        {"scheduler", quoted(profile.name)},
        {"restarts", std::to_string(samples.size())},
        {"idle_before_kill_ms", num(static_cast<double>(idle.count()) / 1000.0)}};
      for (auto& field : latency_fields(samples))
        fields.push_back(field);
      fields.emplace_back("reports", "\"off\"");
      std::cout << json_line(idle.count() > 0 ? "supervisor.restart_after_idle" : "supervisor.restart", fields)
                << std::endl;
    }
    {
      bench_config cfg{profile};
      caf::actor_system sys{cfg};
      auto samples = measure_restarts_from_actor(sys, opts.restarts);
      std::vector<std::pair<std::string, std::string>> fields{{"scheduler", quoted(profile.name)},
                                                              {"restarts", std::to_string(samples.size())}};
      for (auto& field : latency_fields(samples))
        fields.push_back(field);
      fields.emplace_back("reports", "\"off\"");
      std::cout << json_line("supervisor.restart_from_actor", fields) << std::endl;
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
