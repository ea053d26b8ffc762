#include "otpp/actors/breaker/breaker_owner.hpp"

#include <optional>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "otpp/actors/health/health.hpp"
#include "otpp/actors/named_table.hpp"
#include "otpp/actors/perf/registry.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/reports.hpp"

namespace otpp::breaker {

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;

named_table<circuit_breaker>& breakers() {
  static named_table<circuit_breaker> table;
  return table;
}

named_table<fuse>& fuses() {
  static named_table<fuse> table;
  return table;
}

void log_transition(const std::string& name, const breaker_event& e) {
  auto level = e.to == breaker_state::open || e.to == breaker_state::forced_open ? spdlog::level::warn
                                                                                  : spdlog::level::info;
  supervision::report_logger()->log(level, "breaker_state_changed breaker={} from={} to={}", name,
                                    to_string(e.from), to_string(e.to));
}

caf::behavior breaker_owner(caf::event_based_actor* self, std::shared_ptr<circuit_breaker> owned,
                            circuit_breaker::clock now) {
  auto name = owned->config().name;
  // State changes wake the actor (from whichever thread caused them), which
  // then runs the breaker's timers; the listener holds the actor weakly.
  auto listener = owned->subscribe(
    [me = caf::actor_addr{self->address()}, name](const breaker_event& e) {
      log_transition(name, e);
      if (auto owner = caf::actor_cast<caf::actor>(me))
        caf::anon_send(owner, tick_atom::value, int64_t{0});
    },
    {event_kind::state_transition});
  auto gauges = std::make_shared<perf::gauge_set>();
  gauges->add("breaker." + name + ".state", [owned] { return static_cast<double>(owned->state()); });
  gauges->add("breaker." + name + ".failure_rate", [owned] { return owned->totals().failure_rate(); });
  gauges->add("breaker." + name + ".slow_rate", [owned] { return owned->totals().slow_rate(); });
  gauges->add("breaker." + name + ".not_permitted", [owned] { return static_cast<double>(owned->not_permitted_calls()); });
  self->attach_functor([owned, listener, gauges] {
    gauges->clear();
    owned->unsubscribe(listener);
  });
  // At most one timer is armed for each deadline: a tick carries the deadline
  // it was armed for (0: a state changed), and a new timer is armed only for
  // an earlier deadline than the armed one.
  auto armed = std::make_shared<std::optional<int64_t>>();
  return {
    [self, owned, now, armed](tick_atom, int64_t due) {
      if (due != 0 && *armed == due)
        armed->reset();
      auto next = owned->tick();
      if (next && (!*armed || *next < **armed)) {
        *armed = *next;
        self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(0, *next - now())), tick_atom::value,
                           *next);
      }
    },
  };
}

caf::behavior fuse_owner(caf::event_based_actor*, std::shared_ptr<fuse> owned) {
  return {
    [owned](caf::get_atom) { return owned->ask(); },
  };
}

} // namespace

supervision::child_spec breaker_child(breaker_config config, circuit_breaker::clock now) {
  supervision::child_spec spec;
  spec.id = config.name;
  spec.name = config.name;
  spec.start = [config, now](supervision::start_context& ctx) -> caf::expected<caf::actor> {
    auto created = circuit_breaker::make(config, now);
    if (!created)
      return created.error();
    auto owner = ctx.spawn(breaker_owner, *created, now);
    breakers().put_while(ctx.system(), config.name, *created, owner); // findable once the start returns
    health::add_probe(ctx.system(), config.name, "breaker",
                      [b = *created]() -> health::report {
                        auto s = b->state();
                        if (s == breaker_state::open || s == breaker_state::forced_open || s == breaker_state::half_open)
                          return {health::status::degraded, "breaker " + to_string(s)};
                        return {};
                      },
                      owner);
    return owner;
  };
  return spec;
}

caf::expected<std::shared_ptr<circuit_breaker>> find_breaker(caf::actor_system& sys, const std::string& name) {
  if (auto b = breakers().find_fast(sys, name))
    return b;
  return supervision::make_error(supervision::errc::not_found, "no running breaker '" + name + "'");
}

supervision::child_spec fuse_child(fuse_config config, fuse::clock now) {
  supervision::child_spec spec;
  spec.id = config.name;
  spec.name = config.name;
  spec.start = [config, now](supervision::start_context& ctx) -> caf::expected<caf::actor> {
    auto created = fuse::make(config, now);
    if (!created)
      return created.error();
    auto owner = ctx.spawn(fuse_owner, *created);
    fuses().put_while(ctx.system(), config.name, *created, owner);
    health::add_probe(ctx.system(), config.name, "fuse",
                      [f = *created]() -> health::report {
                        if (!f->ask())
                          return {health::status::degraded, "fuse blown"};
                        return {};
                      },
                      owner);
    return owner;
  };
  return spec;
}

caf::expected<std::shared_ptr<fuse>> find_fuse(caf::actor_system& sys, const std::string& name) {
  if (auto f = fuses().find_fast(sys, name))
    return f;
  return supervision::make_error(supervision::errc::not_found, "no running fuse '" + name + "'");
}

} // namespace otpp::breaker
