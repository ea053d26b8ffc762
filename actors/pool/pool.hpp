#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include "otpp/actors/pool/direct_resource.hpp"
#include "otpp/actors/pool/pool_book.hpp"
#include "otpp/actors/pool/worker_kinds.hpp"
#include "otpp/supervision/child_spec.hpp"
#include "otpp/supervision/restart_backoff.hpp"

namespace otpp::pool {

/// Pool errors (category `pool_errc_category`), rendered by name by `describe`.
enum class pool_errc : uint8_t {
  full = 1,    ///< a non-blocking checkout found no worker and no room to start one
  timeout,     ///< a blocking checkout waited its whole timeout
  closed,      ///< the pool has ended
  unavailable, ///< the pool could not start any worker for `give_up_after`
};

constexpr caf::atom_value pool_errc_category = caf::atom("otpp_pool");

std::string to_string(pool_errc code);
caf::error make_error(pool_errc code, std::string text = {});

/// A pool's configuration; the defaults are poolboy's.
struct pool_config {
  std::string name;                 ///< registered name of the pool, and the `pool` of its events and metrics
  std::size_t size = 5;             ///< workers started at once and kept
  std::size_t max_overflow = 10;    ///< extra workers started on demand, dismissed on check-in
  pool_strategy strategy = pool_strategy::lifo;
  std::string worker = "echo";      ///< a registered worker kind (with `factory`: only a label)
  worker_args args;                 ///< the kind's arguments, checked against its declaration at start
  /// Set: starts the workers instead of the kind `worker` (its `args` are
  /// passed as they are). For pools whose workers a program builds in C++.
  worker_factory factory;
  /// Delay between attempts after a worker failed to start.
  supervision::backoff_options start_backoff{std::chrono::milliseconds{100}, std::chrono::milliseconds{5000},
                                             2.0, 0.1, std::chrono::milliseconds{0}};
  /// With no live worker and starts failing this long, the pool exits (reason `unavailable`).
  std::chrono::milliseconds give_up_after{30000};
  /// The pool's health probe says `degraded` while more than this many
  /// workers crashed (or failed to start) within `crash_alarm_window`;
  /// unset: the pool's size, at least 1.
  std::optional<std::size_t> crash_alarm_exits;
  std::chrono::milliseconds crash_alarm_window{5000};
};

/// An `invalid_spec` error naming the field and value, or none.
caf::error validate(const pool_config& config);

/// Why `worker` ended, once it has ended or is ending (its mailbox closed:
/// requests to it fail with `request_receiver_down`); none while it runs.
/// Waits at most a second for an ending worker to finish.
std::optional<caf::error> exit_reason_of(const caf::actor& worker);

/// `err`, except `caf::sec::request_receiver_down` while `worker` has ended:
/// then the reason `worker` ended with (what a call to a worker that died
/// after its checkout reports).
caf::error worker_error(caf::error err, const caf::actor& worker);

/// Why `worker` lends no direct resource of the type asked for: its exit
/// reason once it has ended, else `supervision::errc::not_allowed`.
caf::error no_direct_resource(const caf::actor& worker);

class pool_core;

namespace detail {

/// `caf::expected<T>` for `T`, and `caf::expected<T>` itself for `caf::expected<T>` (detail: not for users).
template <class T>
struct flat_expected {
  using type = caf::expected<T>;
};

template <class T>
struct flat_expected<caf::expected<T>> {
  using type = caf::expected<T>;
};

} // namespace detail

/// A pool on another node, as otpp's cluster provides it (actors/cluster):
/// `find_pool(sys, "name@node")` returns a `pool_ref` over one of these.
/// Every call is thread-safe and bounded; a node that is down answers at once.
class remote_backend {
public:
  /// A worker lent to a thread, and the number of that loan (> 0).
  struct grant {
    caf::actor worker;
    uint64_t number = 0;
  };

  virtual ~remote_backend() = default;
  /// A worker for a thread caller, or the pool's or the cluster's error.
  virtual caf::expected<grant> checkout(bool block, std::chrono::milliseconds timeout) = 0;
  /// Checks `worker` in: a thread's loan `number`, or (0) a worker an actor
  /// got through `proxy()` (never a thread's loan). A loan that ended, or a
  /// worker of a lost connection, is ignored (its pool took it back, and may
  /// have lent it again).
  virtual void checkin(const caf::actor& worker, uint64_t number) = 0;
  /// Stops `worker` (loan `number` as for `checkin`); its pool replaces it.
  virtual void fail(const caf::actor& worker, uint64_t number) = 0;
  /// The pool's status, or the cluster's error.
  virtual caf::expected<pool_status> status() = 0;
  /// A local actor that takes the checkout actor's messages for actor callers.
  virtual const caf::actor& proxy() const = 0;
};

/// Lets `find_pool` resolve "pool@node" names of `sys` through `resolve`
/// (the cluster installs it; an empty function removes it).
void set_remote_resolver(caf::actor_system& sys,
                         std::function<caf::expected<std::shared_ptr<remote_backend>>(const std::string& pool,
                                                                                       const std::string& node)>
                           resolve);

/// A checked-out worker, for plain threads: checks the worker in when
/// released or destroyed; `fail()` instead stops it and has it replaced.
class lease {
public:
  lease() = default;
  /// A thread's loan of a remote pool's worker.
  lease(std::shared_ptr<remote_backend> remote, remote_backend::grant loan);
  lease(lease&& other) noexcept;
  lease& operator=(lease&& other) noexcept;
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  ~lease();

  const caf::actor& worker() const { return worker_; }
  explicit operator bool() const { return static_cast<bool>(worker_); }

  /// Checks the worker in now.
  void release();

  /// Stops the worker (it may be broken) and lets the pool start another.
  void fail();

private:
  friend class pool_core;

  /// A lease on `core`'s worker, counted by the core (under its lock).
  lease(pool_core* core, caf::actor worker);

  pool_core* core_ = nullptr; ///< kept alive by this lease: the core counts its leases
  std::shared_ptr<remote_backend> remote_;
  uint64_t loan_ = 0; ///< the remote loan's number
  caf::actor worker_;
};

/// A running pool: its checkout actor and the shared book behind it, or a
/// pool on another node (`remote_backend`). Cheap to copy; every call is thread-safe. Threads (`checkout`) and actors
/// (`try_checkout`) take an idle worker and give it back without a mailbox
/// round trip; only waiting goes through the checkout actor.
class pool_ref {
public:
  pool_ref() = default;
  pool_ref(std::shared_ptr<pool_core> core, caf::actor actor);
  explicit pool_ref(std::shared_ptr<remote_backend> remote);

  /// The checkout actor (for requests from actors, and to stop the pool); for
  /// a remote pool, a local proxy that takes the same requests.
  const caf::actor& actor() const { return actor_; }

  /// Whether the pool runs on another node.
  bool remote() const { return remote_ != nullptr; }

  /// poolboy's checkout. `block = false` fails at once with `pool_errc::full`;
  /// a blocking call waits at most `timeout` in a FIFO queue (`pool_errc::timeout`).
  caf::expected<lease> checkout(bool block = true,
                                std::chrono::milliseconds timeout = std::chrono::milliseconds{5000}) const;

  /// For actors: takes an idle worker for `caller` (usually `self`) without a
  /// mailbox round trip, or fails at once with `pool_errc::full` when none is
  /// idle (then send the checkout request, which may start an overflow worker
  /// or queue). The pool watches `caller` and takes the worker back if it dies.
  /// Check the worker in with `checkin`.
  caf::expected<caf::actor> try_checkout(const caf::actor& caller) const;

  /// Checks `worker` in; unknown, idle or dead workers are ignored.
  void checkin(const caf::actor& worker) const;

  /// poolboy's status plus waiting, size and max_overflow. For a remote pool
  /// that cannot be asked (its node is down), all counts are 0 and the state
  /// is `full`; `status_or_error` says why.
  pool_status status() const;

  /// The status, or why it cannot be had (a remote pool's node is down).
  caf::expected<pool_status> status_or_error() const;

  /// The idle workers' handles, the next one to be checked out first (for
  /// tests and tools: a listed worker may be checked out a moment later).
  /// A remote pool fails with `supervision::errc::not_allowed`.
  caf::expected<std::vector<caf::actor>> idle_workers() const;

  /// Checks a worker out, runs `fn(worker)` and always checks the worker in,
  /// also when `fn` throws (the exception propagates unchanged). `timeout`
  /// bounds only the checkout. Returns the checkout's error, or else `fn`'s
  /// result: `caf::error` for a `void` function, `caf::expected<T>` for a
  /// function returning `T` or `caf::expected<T>` (not nested). A
  /// `request_receiver_down` from a worker that died meanwhile becomes the
  /// worker's exit reason (`worker_error`).
  template <class F>
  auto transaction(F&& fn, std::chrono::milliseconds timeout = std::chrono::milliseconds{5000}) const {
    using result_type = std::invoke_result_t<F, const caf::actor&>;
    auto held = checkout(true, timeout);
    if constexpr (std::is_void_v<result_type>) {
      if (!held)
        return held.error();
      std::forward<F>(fn)(held->worker());
      return caf::error{};
    } else {
      using flat_type = typename detail::flat_expected<result_type>::type;
      if (!held)
        return flat_type{held.error()};
      flat_type result{std::forward<F>(fn)(held->worker())};
      if (!result)
        return flat_type{worker_error(result.error(), held->worker())};
      return result;
    }
  }

  /// The direct lease: checks a worker out and runs `fn(R&)` on this thread
  /// over the resource the worker lends (`direct_resource`, NimblePool's
  /// model: no message, no thread switch), then checks the worker in, also
  /// when `fn` throws (the exception propagates unchanged). Returns the
  /// checkout's error, `no_direct_resource` when the worker lends no `R`
  /// (another kind, a remote pool, or a worker that has ended), or else
  /// `fn`'s result as `transaction` does.
  template <class R, class F>
  auto direct_transaction(F&& fn, std::chrono::milliseconds timeout = std::chrono::milliseconds{5000}) const {
    using result_type = std::invoke_result_t<F, R&>;
    auto held = checkout(true, timeout);
    if constexpr (std::is_void_v<result_type>) {
      if (!held)
        return held.error();
      auto resource = direct_resource_as<R>(held->worker());
      if (!resource)
        return no_direct_resource(held->worker());
      std::forward<F>(fn)(*resource);
      return caf::error{};
    } else {
      using flat_type = typename detail::flat_expected<result_type>::type;
      if (!held)
        return flat_type{held.error()};
      auto resource = direct_resource_as<R>(held->worker());
      if (!resource)
        return flat_type{no_direct_resource(held->worker())};
      return flat_type{std::forward<F>(fn)(*resource)};
    }
  }

private:
  std::shared_ptr<pool_core> core_;
  std::shared_ptr<remote_backend> remote_;
  caf::actor actor_;
};

/// Starts a pool: spawns the checkout actor, which starts `size` workers
/// before this returns (failures are reported and retried with backoff).
/// Like any actor it runs until stopped: stop it with
/// `caf::anon_send_exit(ref.actor(), caf::exit_reason::user_shutdown)`, or
/// start it under a supervisor with `pool_child`.
caf::expected<pool_ref> start_pool(caf::actor_system& sys, pool_config config);

/// A child spec that starts the pool under a supervisor (id and registered
/// name: `config.name`). The workers end with the pool.
supervision::child_spec pool_child(pool_config config);

/// The running pool registered as `name`, or `supervision::errc::not_found`;
/// `"name@node"` names a pool of another node of the cluster.
caf::expected<pool_ref> find_pool(caf::actor_system& sys, const std::string& name);

/// Moves the running pool named `next.name` to `next` without a restart
/// (blocking: call it from a plain thread, not from an actor; it waits at
/// most 10 s for the checkout actor). A pool of another name, or none, fails
/// with `supervision::errc::not_found`; a `next` that `validate` refuses
/// (or a kind or args that a start would refuse) fails with that error and
/// changes nothing. Nobody's checkout fails because of the change:
/// - a larger `size` or `max_overflow` starts workers at once, as a start
///   does (with `start_backoff` on failures), and waiting callers get them;
/// - a smaller one dismisses idle workers beyond it now and checked-out
///   ones as they are checked in (before any waiter gets them; a waiter
///   waits on for the next free worker or its own timeout); they emit
///   `pool_worker_dismissed` (why `resized`), count as dismissed, and are
///   not restarted;
/// - `strategy`, `start_backoff`, `give_up_after` and the crash alarm apply
///   from now on; `status()` reports the new size and max_overflow at once;
/// - a new `worker` or `args` replaces the workers one at a time: an idle
///   one (else the next one checked in) is dismissed (why `replaced`) and
///   its successor started from `next`; the next one goes only once that
///   successor runs, so at most one worker is out of service for it;
/// - a pool built with a C++ `factory` keeps its worker and args unless
///   `next.factory` is given (`supervision::errc::not_allowed`); a given
///   factory starts the workers from then on, and replaces the running ones
///   when `worker` or `args` differ, or when the pool was built from a kind.
/// A pool whose configuration did not change is left as it is. A supervisor
/// that restarts the pool later starts it from its own child spec.
caf::error reconfigure_pool(caf::actor_system& sys, const pool_config& next);

/// Messages of the checkout actor, for requests from actors:
/// - (checkout_atom, bool block, std::chrono::milliseconds timeout) -> caf::actor
///   (the pool watches the requester: if it dies, its workers come back)
/// - (checkin_atom, caf::actor worker) -> caf::ok_atom
/// - (status_atom) -> pool_status
/// - (idle_workers_atom) -> std::vector<caf::actor> (as `pool_ref::idle_workers`)
using checkout_atom = caf::atom_constant<caf::atom("checkout")>;
using checkin_atom = caf::atom_constant<caf::atom("checkin")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using idle_workers_atom = caf::atom_constant<caf::atom("idle_wkrs")>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_status& x) {
  return f(caf::meta::type_name("pool_status"), x.state, x.idle, x.overflow, x.busy, x.waiting, x.size,
           x.max_overflow);
}

} // namespace otpp::pool
