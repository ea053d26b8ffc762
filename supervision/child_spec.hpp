#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/local_actor.hpp>
#include <caf/message.hpp>
#include <caf/meta/type_name.hpp>

#include "otpp/supervision/exceptions.hpp"
#include "otpp/supervision/restart_backoff.hpp"

namespace otpp::supervision {

/// What a start function gets from the supervisor that starts the child.
class start_context {
public:
  start_context(caf::actor_system& sys, caf::local_actor* supervisor, const caf::message& extra_args)
    : sys_(sys), supervisor_(supervisor), args_(extra_args) {}

  caf::actor_system& system() const { return sys_; }

  /// Empty for static children; for `simple_one_for_one`, the arguments
  /// given to `start_child` (the same again on each restart).
  const caf::message& args() const { return args_; }

  /// Spawns the function-based actor `fun(self, xs...)` (returning a
  /// `caf::behavior`) with `keep_exception_text` installed, scheduled on the
  /// supervisor's own worker thread when there is one (a faster restart).
  template <class F, class... Ts>
  caf::actor spawn(F fun, Ts&&... xs) {
    auto body = keeping_exceptions<std::decay_t<Ts>...>(fun);
    if (supervisor_ != nullptr)
      return supervisor_->spawn(body, caf::unit, std::forward<Ts>(xs)...);
    return sys_.spawn(body, caf::unit, std::forward<Ts>(xs)...);
  }

  /// As `spawn`, on a thread of its own (`caf::detached`): for actors that
  /// block (a database call, a busy wait), which would otherwise hold one of
  /// the few scheduler threads every other actor needs.
  template <class F, class... Ts>
  caf::actor spawn_detached(F fun, Ts&&... xs) {
    auto body = keeping_exceptions<std::decay_t<Ts>...>(fun);
    return sys_.spawn<caf::detached>(body, caf::unit, std::forward<Ts>(xs)...);
  }

private:
  caf::actor_system& sys_;
  caf::local_actor* supervisor_;
  const caf::message& args_;
};

/// Spawns one incarnation of a child, usually with `ctx.spawn(...)`. An
/// error, an exception or an invalid handle is a start error.
using start_function = std::function<caf::expected<caf::actor>(start_context& ctx)>;

/// When a child is restarted (OTP's restart types).
enum class restart_type {
  permanent, ///< always, even after a normal exit
  transient, ///< only after an abnormal exit (not normal, shutdown or {shutdown, _})
  temporary, ///< never; the spec is removed when the child ends
};

enum class child_type { worker, supervisor };

/// How a child is stopped: a polite shutdown request (`exit_reason::user_shutdown`),
/// then an untrappable kill after `timeout`; or a kill at once; or waiting forever.
struct shutdown_policy {
  enum class kind { brutal_kill, timeout, infinity };
  kind how = kind::timeout;
  std::chrono::milliseconds timeout{5000};

  static shutdown_policy brutal_kill() { return {kind::brutal_kill, {}}; }
  static shutdown_policy after(std::chrono::milliseconds t) { return {kind::timeout, t}; }
  static shutdown_policy infinity() { return {kind::infinity, {}}; }
};

/// Everything a supervisor needs to know about one child.
struct child_spec {
  std::string id;                          ///< unique among the supervisor's children
  start_function start;                    ///< spawns the child
  restart_type restart = restart_type::permanent;
  std::optional<shutdown_policy> shutdown; ///< unset: 5000 ms for workers, infinity for supervisors
  child_type type = child_type::worker;
  bool significant = false;                ///< counts for the supervisor's auto_shutdown
  std::string name;                        ///< registered name (any length); empty: none
  std::optional<backoff_options> backoff;  ///< delay restarts (beyond OTP); unset: restart at once
};

/// The shutdown a child gets: its own, or the default for its type.
shutdown_policy effective_shutdown(const child_spec& spec);

enum class strategy { one_for_one, one_for_all, rest_for_one, simple_one_for_one };

/// When a supervisor shuts itself down because significant children ended.
enum class auto_shutdown { never, any_significant, all_significant };

/// The longest restart-intensity period (366 days): longer ones would
/// overflow the nanosecond arithmetic of the restart window.
constexpr std::chrono::milliseconds max_period{int64_t{366} * 24 * 3600 * 1000};

/// OTP's supervisor flags with OTP's defaults.
struct supervisor_flags {
  supervision::strategy strategy = strategy::one_for_one;
  int intensity = 1;                         ///< restarts allowed within `period`, >= 0
  std::chrono::milliseconds period{5000};    ///< in [1 ms, max_period]
  supervision::auto_shutdown auto_shutdown = auto_shutdown::never;
};

/// Makes `supervisor_flags` a message type (`update_flags_atom`).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervisor_flags& x) {
  return f(caf::meta::type_name("supervisor_flags"), x.strategy, x.intensity, x.period, x.auto_shutdown);
}

std::string to_string(restart_type x);
std::string to_string(child_type x);
std::string to_string(strategy x);
std::string to_string(auto_shutdown x);

/// An `errc::invalid_flags` error naming the field and value, or none.
caf::error validate(const supervisor_flags& flags);

/// An `errc::invalid_spec` error naming the child, field and value, or none.
caf::error validate(const child_spec& spec, const supervisor_flags& flags);

/// Validates flags, every spec, unique ids (`errc::duplicate_child`) and, for
/// `simple_one_for_one`, exactly one spec (the template).
caf::error validate(const supervisor_flags& flags, const std::vector<child_spec>& specs);

} // namespace otpp::supervision

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::supervision::child_spec)
