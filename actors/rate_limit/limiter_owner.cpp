#include "actors/rate_limit/limiter_owner.hpp"

#include <map>
#include <mutex>

#include <caf/event_based_actor.hpp>

#include "supervision/errors.hpp"

namespace otpp::rate_limit {

namespace {

using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

struct limiter_table {
  std::mutex mtx;
  std::map<std::pair<caf::actor_system*, std::string>, std::weak_ptr<limiter>> limiters;
};

limiter_table& table() {
  static limiter_table instance;
  return instance;
}

caf::behavior limiter_owner(caf::event_based_actor* self, std::shared_ptr<limiter> owned,
                            std::chrono::milliseconds interval) {
  auto key = std::make_pair(&self->system(), owned->config().name);
  {
    std::lock_guard<std::mutex> guard{table().mtx};
    table().limiters[key] = owned;
  }
  self->attach_functor([key, weak = std::weak_ptr<limiter>{owned}] {
    std::lock_guard<std::mutex> guard{table().mtx};
    auto i = table().limiters.find(key);
    if (i != table().limiters.end() && i->second.lock() == weak.lock())
      table().limiters.erase(i);
  });
  self->delayed_send(self, interval, sweep_atom::value);
  return {
    [self, owned, interval](sweep_atom) {
      owned->sweep();
      self->delayed_send(self, interval, sweep_atom::value);
    },
  };
}

} // namespace

supervision::child_spec limiter_child(limiter_config config, std::chrono::milliseconds cleanup_interval,
                                      limiter::clock now) {
  supervision::child_spec spec;
  spec.id = config.name;
  spec.name = config.name;
  spec.start = [config, cleanup_interval, now](supervision::start_context& ctx) -> caf::expected<caf::actor> {
    if (cleanup_interval.count() <= 0)
      return make_error(limit_errc::invalid_argument, "limiter '" + config.name + "': cleanup_interval must be > 0 ms, got "
                                                        + std::to_string(cleanup_interval.count()));
    auto created = limiter::in_memory(config, now);
    if (!created)
      return created.error();
    return ctx.spawn(limiter_owner, *created, cleanup_interval);
  };
  return spec;
}

caf::expected<std::shared_ptr<limiter>> find_limiter(caf::actor_system& sys, const std::string& name) {
  std::lock_guard<std::mutex> guard{table().mtx};
  auto i = table().limiters.find({&sys, name});
  if (i != table().limiters.end())
    if (auto l = i->second.lock())
      return l;
  return supervision::make_error(supervision::errc::not_found, "no running limiter '" + name + "'");
}

} // namespace otpp::rate_limit
