#include "otpp/actors/breaker/breaker_owner.hpp"

#include <optional>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/health/health.hpp"
#include "otpp/actors/named_table.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/registry.hpp"

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

// The state as otpp_breaker_state shows it: forced_open counts as open, disabled as closed.
breaker_state shown_state(breaker_state s) {
  switch (s) {
    case breaker_state::forced_open: return breaker_state::open;
    case breaker_state::disabled: return breaker_state::closed;
    default: return s;
  }
}

// The breaker's metric series, for as long as its owner lives.
std::vector<std::shared_ptr<perf::gauge>> breaker_series(const std::shared_ptr<circuit_breaker>& b) {
  namespace fam = perf::families;
  auto& m = perf::metrics();
  auto& name = b->name();
  std::vector<std::shared_ptr<perf::gauge>> out;
  for (auto s : {breaker_state::closed, breaker_state::open, breaker_state::half_open})
    out.push_back(m.gauge_of(fam::breaker_state, {name, to_string(s)},
                             [b, s] { return shown_state(b->state()) == s ? 1.0 : 0.0; }));
  out.push_back(m.counter_from(fam::breaker_calls, {name, "success"},
                               [b] { return static_cast<double>(b->successful_calls()); }));
  out.push_back(m.counter_from(fam::breaker_calls, {name, "failure"},
                               [b] { return static_cast<double>(b->failed_calls()); }));
  out.push_back(m.counter_from(fam::breaker_calls, {name, "rejected"},
                               [b] { return static_cast<double>(b->not_permitted_calls()); }));
  out.push_back(m.gauge_of(fam::breaker_failure_ratio, {name}, [b] { return b->totals().failure_rate() / 100; }));
  out.push_back(m.gauge_of(fam::breaker_slow_call_ratio, {name}, [b] { return b->totals().slow_rate() / 100; }));
  return out;
}

caf::behavior breaker_owner(caf::event_based_actor* self, std::shared_ptr<circuit_breaker> owned,
                            circuit_breaker::clock now) {
  auto name = owned->name();
  // State changes wake the actor (from whichever thread caused them), which
  // then runs the breaker's timers; the listener holds the actor weakly.
  auto listener = owned->subscribe(
    [me = caf::actor_addr{self->address()}, name](const breaker_event& e) {
      events::emit(events::breaker_state_changed{name, to_string(e.from), to_string(e.to)});
      if (auto owner = caf::actor_cast<caf::actor>(me))
        caf::anon_send(owner, tick_atom::value, int64_t{0});
    },
    {event_kind::state_transition});
  auto series = std::make_shared<std::vector<std::shared_ptr<perf::gauge>>>(breaker_series(owned));
  self->attach_functor([owned, listener, series] {
    series->clear();
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

caf::error reconfigure_breaker(caf::actor_system& sys, const breaker_config& config) {
  auto b = find_breaker(sys, config.name);
  if (!b)
    return b.error();
  if (auto err = (*b)->reconfigure(config))
    return err;
  if (auto owner = supervision::whereis(sys, config.name))
    caf::anon_send(owner, tick_atom::value, int64_t{0}); // its timers follow the new waits
  return {};
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
