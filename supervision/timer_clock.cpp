#include "otpp/supervision/timer_clock.hpp"

#include <pthread.h>

#include <mutex>
#include <thread>
#include <unordered_set>

#include <caf/actor_system.hpp>
#include <caf/defaults.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/policy/profiled.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scheduler/profiled_coordinator.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace otpp {

namespace {

// CAF's clock, skipping the cancellation at an actor's end when the actor
// never set a timeout: the clock's thread would wake for an event it drops.
class lean_clock : public caf::detail::thread_safe_actor_clock {
public:
  using super = caf::detail::thread_safe_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type, uint64_t id) override {
    note(self);
    super::set_ordinary_timeout(t, self, type, id);
  }

  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    note(self);
    super::set_request_timeout(t, self, id);
  }

  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type, uint64_t id) override {
    note(self);
    super::set_multi_timeout(t, self, type, id);
  }

  // Called once per actor, as it ends.
  void cancel_timeouts(caf::abstract_actor* self) override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (timed_.erase(self->id()) == 0)
        return;
    }
    super::cancel_timeouts(self);
  }

private:
  void note(caf::abstract_actor* self) {
    std::lock_guard<std::mutex> guard{mtx_};
    timed_.insert(self->id());
  }

  std::mutex mtx_;
  std::unordered_set<caf::actor_id> timed_; ///< live actors that ever set a timeout
};

// CAF's coordinator with the lean clock on a thread of its own. The base
// class still starts its own clock thread, which nothing wakes.
template <class Policy>
class lean_clock_coordinator : public caf::scheduler::coordinator<Policy> {
public:
  using super = caf::scheduler::coordinator<Policy>;

  using super::super;

  lean_clock& clock() noexcept override {
    return clock_;
  }

protected:
  void start() override {
    timer_ = std::thread{[this] {
      this->system().thread_started();
      clock_.run_dispatch_loop();
      this->system().thread_terminates();
    }};
    pthread_setname_np(timer_.native_handle(), "otpp.clock");
    super::start();
  }

  void stop() override {
    super::stop();
    clock_.cancel_dispatch_loop();
    timer_.join();
  }

private:
  lean_clock clock_;
  std::thread timer_;
};

// CAF's choice of scheduler (actor_system.cpp), with the lean clock where CAF
// would run its threaded coordinators unprofiled.
caf::actor_system::module* make_scheduler(caf::actor_system& sys) {
  using caf::policy::work_sharing;
  using caf::policy::work_stealing;
  auto policy = caf::get_or(sys.config(), "scheduler.policy", caf::defaults::scheduler::policy);
  if (policy == caf::atom("testing"))
    return new caf::scheduler::test_coordinator(sys);
  bool sharing = policy == caf::atom("sharing");
  if (caf::get_or(sys.config(), "scheduler.enable-profiling", false)) {
    if (sharing)
      return new caf::scheduler::profiled_coordinator<caf::policy::profiled<work_sharing>>(sys);
    return new caf::scheduler::profiled_coordinator<caf::policy::profiled<work_stealing>>(sys);
  }
  if (sharing)
    return new lean_clock_coordinator<work_sharing>(sys);
  return new lean_clock_coordinator<work_stealing>(sys);
}

} // namespace

void use_otpp_timer_clock(caf::actor_system_config& cfg) {
  cfg.module_factories.push_back(make_scheduler);
}

} // namespace otpp
