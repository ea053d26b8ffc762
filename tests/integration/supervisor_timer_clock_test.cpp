#include <doctest/doctest.h>

#include <dirent.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "otpp/supervision/timer_clock.hpp"
#include "tests/support/threaded.hpp"

using namespace std::chrono_literals;

namespace {

constexpr auto patience = 10s; // a bound, not a sleep: waits end as soon as the event happens

struct clock_config : otpp::test::threaded_config {
  clock_config() { otpp::use_otpp_timer_clock(*this); }
};

// Voluntary context switches of this process's thread named `name` (-1: none).
long voluntary_switches(const std::string& name) {
  DIR* dir = opendir("/proc/self/task");
  long result = -1;
  while (auto* entry = readdir(dir)) {
    std::string task = std::string{"/proc/self/task/"} + entry->d_name;
    std::string comm;
    std::getline(std::ifstream{task + "/comm"}, comm);
    if (comm != name)
      continue;
    std::ifstream status{task + "/status"};
    for (std::string line; std::getline(status, line);)
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
        result = std::stol(line.substr(line.find(':') + 1));
  }
  closedir(dir);
  return result;
}

// Spawns `count` actors one after the other (`timed`: each sets a behaviour
// timeout first), kills each and waits until it is down.
void end_actors(caf::actor_system& sys, int count, bool timed) {
  caf::scoped_actor self{sys};
  for (int i = 0; i < count; ++i) {
    auto a = sys.spawn(
      [timed](caf::event_based_actor*, caf::unit_t) -> caf::behavior {
        if (timed)
          return {[](int x) { return x; }, caf::after(std::chrono::seconds{3600}) >> [] {}};
        return {[](int x) { return x; }};
      },
      caf::unit);
    self->request(a, caf::infinite, 1).receive([](int) {}, [](caf::error&) {}); // it runs
    self->send_exit(a, caf::exit_reason::kill);
    self->wait_for(a);
  }
}

// An actor holding `token` until CAF destroys it.
class holder : public caf::event_based_actor {
public:
  holder(caf::actor_config& cfg, std::shared_ptr<int> token) : caf::event_based_actor(cfg), token_(std::move(token)) {}

  caf::behavior make_behavior() override {
    return {[](int x) { return x; }, caf::after(std::chrono::seconds{3600}) >> [] {}};
  }

private:
  std::shared_ptr<int> token_;
};

} // namespace

TEST_SUITE("integration.supervisor_timer_clock") {

TEST_CASE("with otpp's timer clock, request timeouts, behaviour timeouts and delayed messages fire as in CAF") {
  clock_config cfg;
  caf::actor_system sys{cfg};
  std::promise<caf::error> request_failed;
  std::promise<void> behaviour_timed_out;
  std::promise<void> delayed_arrived;
  auto silent = sys.spawn(
    [](caf::event_based_actor*, caf::unit_t) -> caf::behavior {
      return {[](int) -> caf::result<int> { return caf::delegated<int>{}; }}; // never answers
    },
    caf::unit);
  auto asker = sys.spawn(
    [&](caf::event_based_actor* self, caf::unit_t) -> caf::behavior {
      self->request(silent, 50ms, 1).then([](int) {}, [&](caf::error& err) { request_failed.set_value(err); });
      self->delayed_send(self, 20ms, caf::ok_atom::value);
      auto fired = std::make_shared<bool>(false);
      return {
        [&](caf::ok_atom) { delayed_arrived.set_value(); },
        caf::after(30ms) >> [&, fired] {
          if (!*fired)
            behaviour_timed_out.set_value();
          *fired = true;
        },
      };
    },
    caf::unit);
  auto failed = request_failed.get_future();
  REQUIRE(failed.wait_for(patience) == std::future_status::ready);
  CHECK(failed.get() == caf::sec::request_timeout);
  CHECK(behaviour_timed_out.get_future().wait_for(patience) == std::future_status::ready);
  CHECK(delayed_arrived.get_future().wait_for(patience) == std::future_status::ready);
  caf::anon_send_exit(asker, caf::exit_reason::kill);
  caf::anon_send_exit(silent, caf::exit_reason::kill);
}

TEST_CASE("an actor that set a timeout and ended is let go at once, not when its timeout is due") {
  clock_config cfg;
  caf::actor_system sys{cfg};
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watched = token;
  {
    auto a = sys.spawn<holder>(std::move(token));
    caf::scoped_actor self{sys};
    self->request(a, caf::infinite, 1).receive([](int) {}, [](caf::error&) {}); // its timeout is set
    self->send_exit(a, caf::exit_reason::kill);
    self->wait_for(a);
  }
  // Only the clock's entry for the 1 h timeout could still hold the actor.
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (!watched.expired() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  CHECK(watched.expired());
}

TEST_CASE("otpp's timer clock sleeps through the end of actors that never set a timeout") {
  clock_config cfg;
  cfg.set("scheduler.max-threads", size_t{2});
  caf::actor_system sys{cfg};
  end_actors(sys, 5, false); // warm up
  auto before = voluntary_switches("otpp.clock");
  REQUIRE(before >= 0);
  end_actors(sys, 200, false);
  auto untimed = voluntary_switches("otpp.clock") - before;
  CHECK(untimed < 20); // CAF's clock wakes once or twice for each of the 200
  before = voluntary_switches("otpp.clock");
  end_actors(sys, 20, true); // sets and cancels timeouts: wakes the clock (a busy machine may run it late)
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (voluntary_switches("otpp.clock") == before && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  CHECK(voluntary_switches("otpp.clock") > before);
}

TEST_CASE("otpp's timer clock keeps the scheduler policy and worker count of the config") {
  {
    clock_config cfg;
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", size_t{1});
    caf::actor_system sys{cfg};
    CHECK(dynamic_cast<caf::scheduler::coordinator<caf::policy::work_sharing>*>(&sys.scheduler()) != nullptr);
    CHECK(sys.scheduler().num_workers() == 1);
  }
  {
    clock_config cfg;
    cfg.set("scheduler.max-threads", size_t{3});
    caf::actor_system sys{cfg};
    CHECK(dynamic_cast<caf::scheduler::coordinator<caf::policy::work_stealing>*>(&sys.scheduler()) != nullptr);
    CHECK(sys.scheduler().num_workers() == 3);
  }
  {
    clock_config cfg;
    cfg.set("scheduler.policy", caf::atom("testing"));
    caf::actor_system sys{cfg};
    CHECK(dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler()) != nullptr);
  }
}

} // TEST_SUITE
