#include "otpp/actors/rate_limit/limiter_owner.hpp"

#include <cmath>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "otpp/actors/health/health.hpp"
#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/named_table.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/registry.hpp"

namespace otpp::rate_limit {

namespace {

using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using interval_atom = caf::atom_constant<caf::atom("interval")>;

named_table<limiter>& limiters() {
  static named_table<limiter> table;
  return table;
}

// The limiter's metric series, for as long as its owner lives.
std::vector<std::shared_ptr<perf::gauge>> limiter_series(const std::shared_ptr<limiter>& l) {
  namespace fam = perf::families;
  auto& m = perf::metrics();
  auto& name = l->config().name;
  return {
    m.counter_from(fam::limiter_hits, {name, "allow"}, [l] { return static_cast<double>(l->allowed_hits()); }),
    m.counter_from(fam::limiter_hits, {name, "deny"}, [l] { return static_cast<double>(l->denied_hits()); }),
    m.counter_from(fam::limiter_degraded_hits, {name}, [l] { return static_cast<double>(l->degraded_hits()); }),
    m.gauge_of(fam::limiter_keys, {name},
               [l] {
                 auto n = l->size();
                 return n ? static_cast<double>(*n) : std::nan(""); // the backend did not answer
               }),
  };
}

// The sweep timer: each arming has a generation, and only the sweep of the
// latest one counts, so that a changed interval leaves no stale timer behind.
struct sweep_timer {
  std::chrono::milliseconds interval;
  uint64_t generation = 0;

  void arm(caf::event_based_actor* self) {
    self->delayed_send(self, interval, sweep_atom::value, ++generation);
  }
};

caf::behavior limiter_owner(caf::event_based_actor* self, std::shared_ptr<limiter> owned,
                            std::chrono::milliseconds interval) {
  auto series = std::make_shared<std::vector<std::shared_ptr<perf::gauge>>>(limiter_series(owned));
  self->attach_functor([series] { series->clear(); });
  auto timer = std::make_shared<sweep_timer>(sweep_timer{interval});
  timer->arm(self);
  return {
    [self, owned, timer](sweep_atom, uint64_t generation) {
      if (generation != timer->generation)
        return; // armed before the interval changed
      owned->sweep();
      timer->arm(self);
    },
    [self, timer](interval_atom, int64_t ms) {
      if (ms == timer->interval.count())
        return; // unchanged: the next sweep stays when it was due
      timer->interval = std::chrono::milliseconds{ms};
      timer->arm(self);
    },
  };
}

caf::error invalid_interval(const std::string& name, std::chrono::milliseconds interval) {
  if (interval.count() > 0)
    return {};
  return make_error(limit_errc::invalid_argument, "limiter '" + name + "': cleanup_interval must be > 0 ms, got "
                                                    + std::to_string(interval.count()));
}

} // namespace

namespace {

using factory = std::function<caf::expected<std::shared_ptr<limiter>>()>;

supervision::child_spec owner_child(const std::string& name, factory create, std::chrono::milliseconds cleanup_interval) {
  supervision::child_spec spec;
  spec.id = name;
  spec.name = name;
  spec.start = [name, create, cleanup_interval](supervision::start_context& ctx) -> caf::expected<caf::actor> {
    if (auto err = invalid_interval(name, cleanup_interval))
      return err;
    auto created = create();
    if (!created)
      return created.error();
    auto owner = ctx.spawn(limiter_owner, *created, cleanup_interval);
    limiters().put_while(ctx.system(), name, *created, owner); // findable once the start returns
    // Under memory pressure, drop what no longer matters at once (also
    // after the memory manager restarted).
    memory::on_level(ctx.system(), memory::pressure::high, [weak = std::weak_ptr<limiter>{*created}] {
      if (auto l = weak.lock())
        l->sweep();
    }, owner);
    health::add_probe(ctx.system(), name, "limiter",
                      [l = *created]() -> health::report {
                        if (l->degraded())
                          return {health::status::degraded, "backend failing: hits answered by the failure policy"};
                        return {};
                      },
                      owner);
    return owner;
  };
  return spec;
}

} // namespace

supervision::child_spec limiter_child(limiter_config config, std::chrono::milliseconds cleanup_interval,
                                      limiter::clock now) {
  auto name = config.name;
  return owner_child(name, [config, now] { return limiter::in_memory(config, now); }, cleanup_interval);
}

supervision::child_spec limiter_child(limiter_config config, redis_options redis,
                                      std::chrono::milliseconds cleanup_interval, limiter::clock now) {
  auto name = config.name;
  return owner_child(name, [config, redis, now] { return limiter::on_redis(config, redis, now); }, cleanup_interval);
}

caf::error reconfigure_limiter(caf::actor_system& sys, const limiter_config& next,
                               std::chrono::milliseconds cleanup_interval) {
  if (auto err = invalid_interval(next.name, cleanup_interval))
    return err;
  auto l = limiters().find(sys, next.name);
  auto owner = supervision::whereis(sys, next.name);
  if (!l || !owner)
    return supervision::make_error(supervision::errc::not_found, "no running limiter '" + next.name + "'");
  if (auto err = l->reconfigure(next))
    return err;
  caf::anon_send(owner, interval_atom::value, static_cast<int64_t>(cleanup_interval.count()));
  return {};
}

caf::expected<std::shared_ptr<limiter>> find_limiter(caf::actor_system& sys, const std::string& name) {
  if (auto l = limiters().find_fast(sys, name))
    return l;
  return supervision::make_error(supervision::errc::not_found, "no running limiter '" + name + "'");
}

} // namespace otpp::rate_limit
