#pragma once

#include <caf/actor_system_config.hpp>

namespace otpp {

/// Registers otpp's error categories with `cfg`, so that `actor_system::render`
/// prints otpp errors by name. Call once before constructing the actor system.
void add_otpp_types(caf::actor_system_config& cfg);

/// Sets CAF's work-stealing scheduler to otpp's profile: one worker per core
/// (CAF starts at least 4), 20000 busy polls after each job before a worker
/// starts sleeping (CAF: 100), a steal attempt every 1000 of those polls (CAF:
/// 10, which makes an idle worker take the actor a request just woke from
/// the sender's queue, paying a cross-core hand-off per message), and a 1 us
/// timer slack on CAF's threads so that their short sleeps are not stretched
/// by Linux's default 50 us slack; and otpp's timer clock
/// (`use_otpp_timer_clock`), which spares CAF's timer thread a wake-up at
/// every actor's end.
/// Latency and idle-CPU figures for both profiles come from
/// `otpp-bench --filter supervisor.restart` and `--filter scheduler.idle_cpu`.
void apply_scheduler_profile(caf::actor_system_config& cfg);

} // namespace otpp
