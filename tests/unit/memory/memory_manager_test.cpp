#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <map>

#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "tests/support/deterministic.hpp"
#include "tests/support/event_capture.hpp"

using namespace otpp;
using namespace otpp::memory;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t mib = 1024 * 1024;

memory_config with_limit(uint64_t limit_mb) {
  memory_config c;
  c.limit_mb = limit_mb;
  return c;
}

file_reader fake_files(std::map<std::string, std::string> files) {
  return [files](const std::string& path) -> std::optional<std::string> {
    auto i = files.find(path);
    return i == files.end() ? std::nullopt : std::optional<std::string>{i->second};
  };
}

uint64_t machine_total() {
  return static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

} // namespace

TEST_SUITE("memory") {

TEST_CASE("levels rise at once and fall only below a threshold minus the hysteresis") {
  memory_config c; // 70 / 80 / 95, hysteresis 5
  CHECK(next_level(c, pressure::normal, 69.9) == pressure::normal);
  CHECK(next_level(c, pressure::normal, 70) == pressure::elevated);
  CHECK(next_level(c, pressure::normal, 96) == pressure::critical); // straight up
  CHECK(next_level(c, pressure::critical, 91) == pressure::critical); // 95 - 5 = 90
  CHECK(next_level(c, pressure::critical, 89.9) == pressure::high);
  CHECK(next_level(c, pressure::high, 75) == pressure::high);
  CHECK(next_level(c, pressure::high, 10) == pressure::normal); // down through every level
}

TEST_CASE("the limit is the configured one, else the cgroup's, else the machine's total") {
  CHECK(resolve_limit(with_limit(512), fake_files({})) == 512 * mib);
  auto v2 = fake_files({{"/proc/self/cgroup", "0::/app.slice\n"}, {"/sys/fs/cgroup/app.slice/memory.max", "268435456\n"}});
  CHECK(resolve_limit(with_limit(0), v2) == 256 * mib);
  auto v1 = fake_files({{"/proc/self/cgroup", "5:cpu:/\n4:memory:/job\n"},
                        {"/sys/fs/cgroup/memory/job/memory.limit_in_bytes", "134217728\n"}});
  CHECK(resolve_limit(with_limit(0), v1) == 128 * mib);
  auto unlimited = fake_files({{"/proc/self/cgroup", "0::/\n"}, {"/sys/fs/cgroup//memory.max", "max\n"},
                               {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n"}});
  CHECK(resolve_limit(with_limit(0), unlimited) == machine_total());
  auto huge = fake_files({{"/proc/self/cgroup", "0::/\n"}, {"/sys/fs/cgroup//memory.max", "1099511627776000\n"}});
  CHECK(resolve_limit(with_limit(0), huge) == machine_total()); // never more than the machine has
}

TEST_CASE("the manager follows the sampled figure, refuses work at critical, and runs level actions once") {
  test::event_capture events;
  auto rss = std::make_shared<std::atomic<uint64_t>>(10 * mib);
  auto m = memory_manager::make(with_limit(100), [rss] { return rss->load(); });
  REQUIRE(m);
  auto& mm = **m;
  std::vector<std::string> ran;
  mm.on_level(pressure::high, [&] { ran.push_back("sweep"); });
  mm.on_level(pressure::critical, [&] { ran.push_back("dismiss"); });
  mm.subscribe([](pressure, pressure, double) { throw std::runtime_error("subscriber bug"); });
  CHECK(mm.sample() == pressure::normal);
  CHECK_FALSE(mm.check());
  *rss = 96 * mib;
  CHECK(mm.sample() == pressure::critical);
  CHECK(ran == std::vector<std::string>{"sweep", "dismiss"}); // rising through high into critical
  auto refused = mm.check();
  REQUIRE(refused);
  CHECK(supervision::describe(refused).find("memory_pressure: level critical") == 0);
  mm.sample(); // no transition: no event, nothing run
  *rss = 85 * mib;
  CHECK(mm.sample() == pressure::high);
  CHECK_FALSE(mm.check());
  CHECK(ran.size() == 2); // falling runs nothing
  *rss = 96 * mib;
  mm.sample();
  CHECK(ran == std::vector<std::string>{"sweep", "dismiss", "dismiss"});
  auto changes = events.of<events::memory_level_changed>();
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].manager == "memory");
  CHECK(changes[0].from == "normal");
  CHECK(changes[0].to == "critical");
  CHECK(changes[0].usage_percent == doctest::Approx(96.0));
  CHECK(changes[0].limit_mb == 100);
  CHECK(changes[0].severity() == events::level::error);
  CHECK(changes[1].from == "critical");
  CHECK(changes[1].to == "high");
  CHECK(changes[1].usage_percent == doctest::Approx(85.0));
  CHECK(changes[2].from == "high");
  CHECK(changes[2].to == "critical");
}

TEST_CASE("settings are validated") {
  auto c = with_limit(100);
  c.high_percent = 60; // below elevated
  auto m = memory_manager::make(c, [] { return uint64_t{0}; });
  REQUIRE_FALSE(m);
  CHECK(supervision::describe(m.error()).find("0 < elevated < high < critical <= 100") != std::string::npos);
  c = with_limit(100);
  c.sample_interval = 0ms;
  CHECK_FALSE(memory_manager::make(c, [] { return uint64_t{0}; }));
  CHECK(resident_bytes() > 0); // the real sampler reads /proc/self/statm
}

TEST_CASE("the supervised manager samples when it starts and then on its timer") {
  test::deterministic fx;
  auto rss = std::make_shared<std::atomic<uint64_t>>(90 * mib);
  auto config = with_limit(100);
  config.sample_interval = 500ms;
  supervision::supervisor_config root;
  root.children = {memory_child(config, [rss] { return rss->load(); })};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto m = find_memory_manager(fx.sys);
  REQUIRE(m);
  CHECK((*m)->level() == pressure::high);
  *rss = 10 * mib;
  fx.advance(499ms);
  CHECK((*m)->level() == pressure::high);
  fx.advance(1ms);
  CHECK((*m)->level() == pressure::normal);
  fx.stop(*sup);
  CHECK_FALSE(find_memory_manager(fx.sys));
}

TEST_CASE("a reconfigured manager keeps its level until the next sample judges it by the new settings") {
  auto rss = std::make_shared<std::atomic<uint64_t>>(75 * mib);
  auto m = memory_manager::make(with_limit(100), [rss] { return rss->load(); });
  REQUIRE(m);
  auto& mm = **m;
  std::vector<std::string> ran;
  mm.on_level(pressure::critical, [&] { ran.push_back("dismiss"); });
  CHECK(mm.sample() == pressure::elevated);
  auto next = with_limit(100);
  next.elevated_percent = 50;
  next.high_percent = 60;
  next.critical_percent = 70;
  next.reject_at = pressure::high;
  REQUIRE_FALSE(mm.reconfigure(next));
  CHECK(mm.level() == pressure::elevated); // no sample yet
  CHECK_FALSE(mm.check());
  CHECK(mm.sample() == pressure::critical); // 75 % is critical now
  CHECK(ran == std::vector<std::string>{"dismiss"}); // actions registered before are kept
  CHECK(mm.check());
  next.limit_mb = 200; // 75 MiB of 200: 37.5 %, below 50 - 5
  REQUIRE_FALSE(mm.reconfigure(next));
  CHECK(mm.limit_bytes() == 200 * mib);
  CHECK(mm.sample() == pressure::normal);
  next.critical_percent = 40; // below high: refused, nothing changes
  auto err = mm.reconfigure(next);
  REQUIRE(err);
  CHECK(supervision::describe(err).find("0 < elevated < high < critical <= 100") != std::string::npos);
  CHECK(mm.config().critical_percent == 70);
  CHECK(mm.limit_bytes() == 200 * mib);
}

TEST_CASE("reconfigure_memory changes the running manager's sample interval from its next sample on") {
  test::deterministic fx;
  auto rss = std::make_shared<std::atomic<uint64_t>>(10 * mib);
  auto config = with_limit(100);
  config.sample_interval = 500ms;
  supervision::supervisor_config root;
  root.children = {memory_child(config, [rss] { return rss->load(); })};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto m = *find_memory_manager(fx.sys);
  config.sample_interval = 100ms;
  REQUIRE_FALSE(reconfigure_memory(fx.sys, config));
  fx.advance(500ms); // the sample armed before; the next one is 100 ms later
  *rss = 90 * mib;
  fx.advance(99ms);
  CHECK(m->level() == pressure::normal);
  fx.advance(1ms);
  CHECK(m->level() == pressure::high);
  fx.stop(*sup);
  CHECK(supervision::describe(reconfigure_memory(fx.sys, config)) == supervision::describe(find_memory_manager(fx.sys).error()));
}

TEST_CASE("the supervised manager exports its bytes, limit and level (0 normal to 3 critical), which end with it") {
  test::deterministic fx;
  auto rss = std::make_shared<std::atomic<uint64_t>>(10 * mib);
  auto config = with_limit(100);
  config.sample_interval = 500ms;
  supervision::supervisor_config root;
  root.children = {memory_child(config, [rss] { return rss->load(); })};
  auto sup = supervision::start_supervisor(fx.sys, root);
  REQUIRE(sup);
  fx.run();
  auto value = [](const perf::family& f) {
    auto s = perf::metrics().take_snapshot();
    auto* x = s.find(f.name, {"memory"});
    return x ? x->value : -1.0;
  };
  CHECK(value(perf::families::memory_bytes) == 10.0 * mib);
  CHECK(value(perf::families::memory_limit_bytes) == 100.0 * mib);
  CHECK(value(perf::families::memory_level) == 0);
  for (auto [used, level] : {std::pair<uint64_t, double>{75, 1}, {85, 2}, {96, 3}}) {
    *rss = used * mib;
    fx.advance(500ms);
    CHECK(value(perf::families::memory_bytes) == static_cast<double>(used * mib));
    CHECK(value(perf::families::memory_level) == level);
  }
  fx.stop(*sup);
  CHECK(perf::metrics().take_snapshot().find(perf::families::memory_level.name, {"memory"}) == nullptr);
}

}
