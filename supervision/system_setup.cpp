#include "otpp/supervision/system_setup.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <thread>

#include <caf/thread_hook.hpp>

#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/timer_clock.hpp"

namespace otpp {

void add_otpp_types(caf::actor_system_config& cfg) {
  for (auto category : supervision::error_categories())
    cfg.add_error_category(category, [](uint8_t code, caf::atom_value category, const caf::message& ctx) {
      return supervision::describe(caf::error{code, category, ctx});
    });
}

namespace {

// Linux rounds a thread's short sleeps up by its timer slack (50 us by
// default); CAF's idle workers sleep in short steps, so keep the slack small.
class tight_timer_slack : public caf::thread_hook {
public:
  void init(caf::actor_system&) override {}
  void thread_started() override { prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL); }
  void thread_terminates() override {}
};

} // namespace

void apply_scheduler_profile(caf::actor_system_config& cfg) {
  auto cores = std::max(1u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", static_cast<size_t>(cores));
  cfg.set("work-stealing.aggressive-poll-attempts", size_t{20000});
  cfg.set("work-stealing.aggressive-steal-interval", size_t{1000});
  cfg.add_thread_hook<tight_timer_slack>();
  use_otpp_timer_clock(cfg); // no wake-up of CAF's timer thread at every actor's end
}

} // namespace otpp
