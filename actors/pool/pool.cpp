#include "otpp/actors/pool/pool.hpp"

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/events/printable.hpp"
#include "otpp/actors/health/health.hpp"
#include "otpp/actors/named_table.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/actors/pool/crash_window.hpp"
#include "otpp/actors/spin_lock.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor_system_config.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/defaults.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/exceptions.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::pool::pool_config)

namespace otpp::pool {

std::string to_string(pool_state x) {
  switch (x) {
    case pool_state::ready: return "ready";
    case pool_state::overflow: return "overflow";
    case pool_state::full: return "full";
  }
  return "?";
}

std::string to_string(pool_errc code) {
  switch (code) {
    case pool_errc::full: return "full";
    case pool_errc::timeout: return "timeout";
    case pool_errc::closed: return "closed";
    case pool_errc::unavailable: return "unavailable";
  }
  return "unknown_pool_errc";
}

caf::error make_error(pool_errc code, std::string text) {
  return supervision::make_categorized_error(pool_errc_category, static_cast<uint8_t>(code), std::move(text));
}

namespace {

const bool pool_errors_named = [] {
  supervision::add_error_names(pool_errc_category,
                               [](uint8_t code) { return to_string(static_cast<pool_errc>(code)); });
  return true;
}();

using handover_atom = caf::atom_constant<caf::atom("handover")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using start_worker_atom = caf::atom_constant<caf::atom("start_wkr")>;
using dismiss_atom = caf::atom_constant<caf::atom("dismiss")>;
using kill_worker_atom = caf::atom_constant<caf::atom("kill_wkr")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using start_failed_atom = caf::atom_constant<caf::atom("start_fail")>;
using start_done_atom = caf::atom_constant<caf::atom("start_done")>;
using waiters_atom = caf::atom_constant<caf::atom("waiters")>;
using replace_atom = caf::atom_constant<caf::atom("replace")>;
using reconfigure_atom = caf::atom_constant<caf::atom("reconfig")>;

/// False once the worker's actor has terminated: CAF sets the flag before it
/// sends the down messages, so the pool's fast paths see a death before the
/// checkout actor hears of it.
struct actor_alive {
  bool operator()(const caf::actor& w) const {
    return !caf::actor_cast<caf::abstract_actor*>(w)->getf(caf::abstract_actor::is_terminated_flag);
  }
};

using book_type = pool_book<caf::actor, actor_alive>;

/// How the pool starts workers: a kind's factory (or a program's) and its
/// arguments, numbered so that a worker started from an older one is known.
struct worker_spec {
  std::string worker;    ///< the kind, or a label with a program's factory
  worker_factory factory;
  worker_args args;
  bool from_kind;        ///< the factory is the kind `worker`'s
  uint64_t generation;
};

using spec_ptr = std::shared_ptr<const worker_spec>;

spec_ptr spec_of(const pool_config& resolved, bool from_kind, uint64_t generation) {
  return std::make_shared<const worker_spec>(
    worker_spec{resolved.worker, resolved.factory, resolved.args, from_kind, generation});
}

caf::error invalid(const pool_config& config, const std::string& what) {
  return supervision::make_error(supervision::errc::invalid_spec, "pool '" + config.name + "': " + what);
}

caf::error check_fields(const pool_config& config) {
  if (config.name.empty())
    return invalid(config, "name must not be empty");
  if (auto why = supervision::invalid_field(config.start_backoff); !why.empty())
    return invalid(config, "start_" + why);
  if (config.give_up_after.count() <= 0)
    return invalid(config, "give_up_after must be > 0 ms, got " + std::to_string(config.give_up_after.count()));
  if (config.crash_alarm_window.count() <= 0)
    return invalid(config, "crash_alarm_window must be > 0 ms, got " + std::to_string(config.crash_alarm_window.count()));
  return {};
}

// Unless `config.factory` is given: the factory of the kind `config.worker`,
// with `config.args` checked against its declaration and its defaults filled in.
caf::error resolve_workers(pool_config& config) {
  if (config.factory)
    return {};
  auto kind = find_worker_kind(config.worker);
  if (!kind)
    return invalid(config, supervision::describe(kind.error()));
  worker_args checked;
  auto problems = supervision::check_arguments(kind->arguments, config.args.values(), checked);
  if (!problems.empty())
    return invalid(config, "worker_args." + problems.front().name + ": " + problems.front().message);
  config.args = std::move(checked);
  config.factory = kind->start;
  return {};
}

/// How a running pool whose workers start from `running` starts them under
/// `next` (whose factory and checked arguments are filled in): `running`
/// itself when its workers stay as they are, else a newer spec. A kind and
/// its arguments are checked as a start does; a pool built with a program's
/// factory keeps its worker and arguments unless `next` brings a factory.
caf::expected<spec_ptr> next_spec(const spec_ptr& running, pool_config& next) {
  auto same = [&] { return next.worker == running->worker && next.args == running->args; };
  if (next.factory) // a factory cannot be compared: it starts the workers from now on
    return spec_of(next, false, running->generation + (!running->from_kind && same() ? 0 : 1));
  if (!running->from_kind) {
    if (!same())
      return supervision::make_error(supervision::errc::not_allowed,
                                     "pool '" + next.name + "': its workers come from a program's factory: "
                                       "a new worker or args needs a new factory");
    next.factory = running->factory;
    return running;
  }
  if (auto err = resolve_workers(next))
    return err;
  return same() ? running : spec_of(next, true, running->generation + 1);
}

bool same_backoff(const supervision::backoff_options& a, const supervision::backoff_options& b) {
  return a.min == b.min && a.max == b.max && a.multiplier == b.multiplier && a.jitter == b.jitter
         && a.reset_after == b.reset_after;
}

/// The `why` of a dismissed worker's `pool_worker_dismissed`: "resized", or
/// `as_overflow` when poolboy's overflow rule dismissed it.
const char* dismissal_text(dismissal why, const char* as_overflow) {
  return why == dismissal::resized ? "resized" : as_overflow;
}

/// The crash alarm's threshold: `crash_alarm_exits`, else the size (at least 1).
std::size_t alarm_exits(const pool_config& config) {
  return config.crash_alarm_exits.value_or(std::max<std::size_t>(config.size, 1));
}

} // namespace

/// The book and the callers waiting on it, shared by the checkout actor and
/// every caller. All fields are guarded by `mtx`.
class pool_core {
public:
  pool_core(caf::actor_system& sys, const pool_config& resolved, bool from_kind)
    : book(resolved.size, resolved.max_overflow, resolved.strategy),
      sys(sys),
      spec(spec_of(resolved, from_kind, 1)),
      crashes(resolved.crash_alarm_window),
      crash_alarm_exits(alarm_exits(resolved)),
      crash_alarm_window(resolved.crash_alarm_window) {}

  using lock_type = otpp::spin_lock;

  struct thread_waiter {
    std::condition_variable_any cv;
    caf::actor worker;
    caf::error err;
    std::atomic<bool> done{false}; ///< written under `mtx`; read without it while spinning
  };

  /// What remains to do after the book placed a free worker.
  struct placement {
    ticket actor_waiter = 0; ///< an actor caller to answer with the worker
    bool dismiss = false;    ///< the worker must be stopped
    bool replace = false;    ///< the worker must be stopped and its successor started
  };

  /// Hands `w` to a waiting thread at once; the rest is left to the caller.
  placement place(const caf::actor& w, const book_type::free_result& r) {
    placement p;
    if (r.kind == book_type::free_result::handed) {
      auto i = thread_waiters.find(r.waiter);
      if (i == thread_waiters.end()) {
        p.actor_waiter = r.waiter;
      } else {
        i->second->worker = w;
        i->second->done.store(true, std::memory_order_release);
        i->second->cv.notify_one();
      }
    }
    p.dismiss = r.kind == book_type::free_result::dismissed;
    p.replace = r.kind == book_type::free_result::replaced;
    return p;
  }

  /// Under `mtx`: whether the waiting queue went from empty to non-empty or
  /// back since the last call (by anyone).
  bool waiters_edge() {
    bool nonempty = book.waiting() > 0;
    if (nonempty == queue_nonempty)
      return false;
    queue_nonempty = nonempty;
    return true;
  }

  /// Under `mtx`, on a caller's thread after it changed the queue: the
  /// checkout actor, which emits `pool_waiters`, hears of the edges only.
  void tell_waiters_edge() {
    if (waiters_edge() && owner)
      caf::anon_send(owner, waiters_atom::value);
  }

  /// What a caller's thread leaves to the checkout actor after a check-in
  /// (sent once the core's lock is released: see `send`).
  struct for_owner {
    caf::actor owner;
    caf::actor worker;
    placement p;
    dismissal why = dismissal::overflow;

    void send() const {
      if (!owner)
        return;
      if (p.actor_waiter != 0)
        caf::anon_send(owner, handover_atom::value, p.actor_waiter, worker);
      if (p.dismiss)
        caf::anon_send(owner, dismiss_atom::value, worker, why);
      if (p.replace)
        caf::anon_send(owner, replace_atom::value, worker);
    }
  };

  /// On a caller's thread: checks `w` in under `mtx`, then tells the
  /// checkout actor what only it may do (after the lock; the common
  /// check-in copies no handle and sends nothing).
  void checkin_from_caller(const caf::actor& w) {
    std::unique_lock<lock_type> guard{mtx};
    checkin_locked(guard, w);
  }

  // -- leases: a core lives while a pool_ref, its checkout actor or a lease
  // holds it. Leases are counted under `mtx` (no atomic reference count on
  // a checkout); the shared owners' deleter is `let_go`.

  /// Under `mtx`: a lease on `w`.
  lease lease_of(caf::actor w) {
    ++leases;
    return lease{this, std::move(w)};
  }

  /// The end of a lease on `w` that checks it in.
  void end_lease_by_checkin(const caf::actor& w) {
    bool last;
    {
      std::unique_lock<lock_type> guard{mtx};
      last = end_lease();
      checkin_locked(guard, w);
    }
    if (last)
      delete this;
  }

  /// The end of a lease on `w` that found it broken: the worker is stopped
  /// and the starts the book decided are asked for.
  void end_lease_by_failure(const caf::actor& w) {
    std::vector<start_purpose> starts;
    caf::actor to_tell;
    bool last;
    {
      std::lock_guard<lock_type> guard{mtx};
      last = end_lease();
      starts = book.worker_down(w);
      to_tell = owner;
    }
    if (to_tell) {
      caf::anon_send(to_tell, kill_worker_atom::value, w);
      for (auto purpose : starts)
        caf::anon_send(to_tell, start_worker_atom::value, purpose);
    }
    if (last)
      delete this;
  }

  /// The deleter of the shared owners: the core goes now, or with its last lease.
  static void let_go(pool_core* core) {
    {
      std::lock_guard<lock_type> guard{core->mtx};
      if (core->leases > 0) {
        core->orphaned = true;
        return;
      }
    }
    delete core;
  }

private:
  // Checks `w` in under `guard`, which it releases before telling the owner.
  void checkin_locked(std::unique_lock<lock_type>& guard, const caf::actor& w) {
    auto r = book.checkin(w);
    auto p = place(w, r);
    if (r.kind == book_type::free_result::handed)
      tell_waiters_edge();
    if (p.actor_waiter == 0 && !p.dismiss && !p.replace)
      return;
    for_owner todo{owner, w, p, r.why};
    guard.unlock();
    todo.send();
  }

  // Under `mtx`: one lease fewer; true if it was the last of an orphaned core.
  bool end_lease() {
    --leases;
    return orphaned && leases == 0;
  }

  std::size_t leases = 0; ///< leases on this core's workers
  bool orphaned = false;  ///< no shared owner left: the last lease deletes the core

public:

  /// Under `mtx`: how workers are started now.
  const spec_ptr& current_spec() const { return spec; }

  /// Starts a worker from `from` (without the lock): in the checkout actor's
  /// constructor, in a helper of the checkout actor, or on a caller's thread
  /// for an overflow worker (`supervisor` null for the last two). A worker
  /// that ended at once is a failed start.
  caf::expected<caf::actor> start_worker(caf::local_actor* supervisor, const worker_spec& from) {
    caf::message no_args;
    supervision::start_context ctx{sys, supervisor, no_args};
    try {
      auto w = from.factory(ctx, from.args);
      if (w && !*w)
        return supervision::make_error(supervision::errc::start_failed, "the worker factory returned no actor");
      if (w && !actor_alive{}(*w))
        return ended_at_once(*w);
      return w;
    } catch (const std::exception& x) {
      return supervision::make_error(supervision::errc::exception, x.what());
    }
  }

  static caf::error ended_at_once(const caf::actor& w) {
    auto reason = exit_reason_of(w);
    return supervision::make_error(supervision::errc::start_failed,
                                   "the worker ended at once: " + supervision::describe(reason ? *reason : caf::error{}));
  }

  /// Under `mtx`: a local caller is known by its actor id; a caller on
  /// another node (whose id may equal a local actor's) gets an id from a
  /// range local ids never reach, kept until the checkout actor sees it die.
  holder_id holder_of(const caf::actor& caller) {
    if (!caller)
      return 0;
    if (caller.node() == sys.node())
      return caller.id();
    // By control block, not address: after a reconnect the new proxy of the
    // same remote actor has the same address, and must not inherit the old
    // one's holder (whose down message may still be on its way).
    auto [i, fresh] = remote_holders.emplace(caf::actor_cast<caf::actor_control_block*>(caller), 0);
    if (fresh)
      i->second = (holder_id{1} << 62) + ++remote_callers;
    return i->second;
  }

  /// The pool's health: unhealthy with no live worker (size > 0), degraded
  /// while workers crash faster than the alarm allows or while callers wait
  /// on a full pool.
  health::report health(crash_window::time_point now) {
    std::lock_guard<lock_type> guard{mtx};
    auto s = book.status();
    std::size_t live = 0;
    for (auto& w : book.workers())
      live += actor_alive{}(w) ? 1 : 0;
    std::string loop;
    if (auto crashed = crashes.count(now); crashed > crash_alarm_exits)
      loop = std::to_string(crashed) + " workers crashed in the last " + events::duration_text(crash_alarm_window)
             + " (alarm above " + std::to_string(crash_alarm_exits) + ")";
    if (s.size > 0 && live == 0)
      return {health::status::unhealthy, loop.empty() ? "no live worker" : "no live worker, " + loop};
    if (!loop.empty())
      return {health::status::degraded, loop};
    if (s.state == pool_state::full && s.waiting > 0)
      return {health::status::degraded, "full, " + std::to_string(s.waiting) + " callers waiting"};
    return {};
  }

  lock_type mtx;
  book_type book;
  caf::actor_system& sys;
  /// Replaced by the checkout actor on reconfiguration; its factory is
  /// called from several threads: factories must be thread-safe.
  spec_ptr spec;
  caf::actor owner; ///< the checkout actor; reset when it ends
  crash_window crashes; ///< worker crashes and failed starts, written by the checkout actor
  std::size_t crash_alarm_exits;
  std::chrono::milliseconds crash_alarm_window;
  bool queue_nonempty = false; ///< as of the last `waiters_edge`
  bool closed = false;
  ticket next_ticket = 1;
  std::unordered_set<holder_id> watched; ///< actor callers the checkout actor monitors
  /// Callers on other nodes, by their proxy's control block (kept allocated
  /// by the checkout actor's `watched_` until the proxy's down message).
  std::map<caf::actor_control_block*, holder_id> remote_holders;
  holder_id remote_callers = 0;
  std::unordered_map<ticket, thread_waiter*> thread_waiters;
};

namespace {

named_table<pool_core>& pools() {
  static named_table<pool_core> table;
  return table;
}

/// The states of otpp_pool_workers: they split the live workers.
enum class worker_state { idle, busy, overflow };

const char* to_string(worker_state x) {
  switch (x) {
    case worker_state::idle: return "idle";
    case worker_state::busy: return "busy";
    case worker_state::overflow: return "overflow";
  }
  return "?";
}

/// Idle workers; checked-out workers within the size; checked-out workers
/// beyond it (poolboy's `busy` counts both, and its `overflow` also counts
/// overflow workers still starting).
std::size_t workers_in(const pool_status& s, worker_state state) {
  auto live = s.idle + s.busy;
  auto beyond = live > s.size ? std::min(s.busy, live - s.size) : 0;
  switch (state) {
    case worker_state::idle: return s.idle;
    case worker_state::busy: return s.busy - beyond;
    case worker_state::overflow: return beyond;
  }
  return 0;
}

/// The reasons of otpp_pool_worker_exits_total.
enum class exit_kind { crash, dismissed, failed_start };

const char* to_string(exit_kind x) {
  switch (x) {
    case exit_kind::crash: return "crash";
    case exit_kind::dismissed: return "dismissed";
    case exit_kind::failed_start: return "failed_start";
  }
  return "?";
}

class pool_actor : public caf::event_based_actor {
public:
  pool_actor(caf::actor_config& cfg, std::shared_ptr<pool_core> core, pool_config config)
    : caf::event_based_actor(cfg),
      core_(std::move(core)),
      config_(std::move(config)),
      backoff_(config_.start_backoff),
      rng_(std::random_device{}()),
      starts_detached_(caf::get_or(system().config(), "scheduler.policy", caf::defaults::scheduler::policy)
                       != caf::atom("testing")) {
    supervision::keep_exception_text(this);
    core_->owner = caf::actor_cast<caf::actor>(this);
    pools().put(system(), config_.name, core_);
    for (auto state : {worker_state::idle, worker_state::busy, worker_state::overflow})
      gauges_.push_back(perf::metrics().gauge_of(perf::families::pool_workers, {config_.name, to_string(state)},
                                                 [core = core_, state] {
                                                   std::lock_guard<pool_core::lock_type> guard{core->mtx};
                                                   return static_cast<double>(workers_in(core->book.status(), state));
                                                 }));
    gauges_.push_back(perf::metrics().gauge_of(perf::families::pool_waiting, {config_.name}, [core = core_] {
      std::lock_guard<pool_core::lock_type> guard{core->mtx};
      return static_cast<double>(core->book.waiting());
    }));
    for (auto reason : {exit_kind::crash, exit_kind::dismissed, exit_kind::failed_start})
      exits_[static_cast<std::size_t>(reason)] =
        perf::metrics().counter_of(perf::families::pool_worker_exits, {config_.name, to_string(reason)});
    set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
    attach_functor([this] { on_end(); });
    auto spec = core_->current_spec(); // no other thread knows the core yet
    for (std::size_t i = 0; i < config_.size; ++i) {
      auto w = record_start(core_->start_worker(this, *spec));
      core_lock guard{*this};
      if (w) {
        core_->book.add_initial(*w);
      } else {
        core_->book.expect_start(); // retried in make_behavior
        ++initial_failures_;
      }
    }
  }

  const char* name() const override {
    return "otpp_pool";
  }

  caf::behavior make_behavior() override {
    for (; initial_failures_ > 0; --initial_failures_)
      retry_later(start_purpose::for_pool);
    return {
      [this](checkout_atom, bool block, std::chrono::milliseconds timeout) -> caf::result<caf::actor> {
        return checkout(block, timeout);
      },
      [this](checkin_atom, caf::actor& w) {
        core_lock guard{*this};
        serve(w, core_->book.checkin(w), "overflow_checked_in");
        return caf::ok_atom::value;
      },
      [this](reconfigure_atom, pool_config& next) -> caf::result<caf::ok_atom> {
        if (auto err = reconfigure(std::move(next)))
          return err;
        return caf::ok_atom::value;
      },
      [this](status_atom) {
        std::lock_guard<pool_core::lock_type> guard{core_->mtx};
        return core_->book.status();
      },
      [this](idle_workers_atom) {
        std::lock_guard<pool_core::lock_type> guard{core_->mtx};
        return core_->book.idle();
      },
      [this](handover_atom, ticket t, caf::actor& w) {
        core_lock guard{*this};
        deliver(t, w);
      },
      [this](waiters_atom) { core_lock guard{*this}; }, // a caller's thread changed the queue
      [this](expire_atom, ticket t) { expire(t); },
      [this](start_worker_atom, start_purpose purpose) { start_off_actor(pending_start{purpose}); },
      [this](start_done_atom, uint64_t job, caf::actor& w) {
        start_done(job, std::move(w));
        return caf::ok_atom::value;
      },
      [this](start_done_atom, uint64_t job, caf::error& err) { start_done(job, std::move(err)); },
      [this](start_failed_atom, const caf::error& err) { start_failed(err); }, // on a caller's thread
      [this](dismiss_atom, caf::actor& w, dismissal why) { // checked in by a thread
        dismiss(w, dismissal_text(why, "overflow_checked_in"));
        flush_pending();
      },
      [this](replace_atom, caf::actor& w) { // checked in by a thread
        replace(w);
        flush_pending();
      },
      [this](adopt_atom, caf::actor& w) { adopt(w); },
      [this](watch_atom, caf::actor& caller) {
        std::lock_guard<pool_core::lock_type> guard{core_->mtx};
        watch(caller, core_->holder_of(caller));
      },
      [this](kill_worker_atom, caf::actor& w) {
        auto label = labels_.find(w.address());
        if (label == labels_.end())
          return; // already gone
        crashed(label->second, "released as broken by its holder");
        send_exit(w, caf::exit_reason::kill);
      },
    };
  }

private:
  struct actor_waiter {
    caf::typed_response_promise<caf::actor> promise;
    holder_id holder;
  };

  // The core's lock, as the handlers take it: before it is released it notes
  // whether the waiting queue went from empty to non-empty or back; once it
  // is released, the stops, starts and events decided under it are carried
  // out (never under the lock).
  class core_lock {
  public:
    explicit core_lock(pool_actor& pool) : pool_(pool), lock_(pool.core_->mtx) {}
    ~core_lock() {
      unlock();
      pool_.flush_pending();
    }
    core_lock(const core_lock&) = delete;
    core_lock& operator=(const core_lock&) = delete;

    void unlock() {
      if (!lock_.owns_lock())
        return;
      pool_.note_waiters();
      lock_.unlock();
    }

  private:
    pool_actor& pool_;
    std::unique_lock<pool_core::lock_type> lock_;
  };

  caf::result<caf::actor> checkout(bool block, std::chrono::milliseconds timeout) {
    auto caller = caf::actor_cast<caf::actor>(current_sender());
    core_lock guard{*this};
    auto holder = core_->holder_of(caller);
    auto t = core_->next_ticket++;
    auto r = core_->book.checkout(holder, block, t);
    if (r.kind == book_type::checkout_result::full) {
      if (!core_->watched.count(holder) && caller && caller.node() != system().node())
        core_->remote_holders.erase(caf::actor_cast<caf::actor_control_block*>(caller)); // holds nothing
      return make_error(pool_errc::full, "pool '" + config_.name + "'");
    }
    watch(caller, holder);
    if (r.kind == book_type::checkout_result::got)
      return r.worker;
    auto promise = make_response_promise<caf::actor>();
    waiters_.emplace(t, actor_waiter{promise, holder});
    delayed_send(this, timeout, expire_atom::value, t);
    if (r.kind == book_type::checkout_result::start) { // the caller waits for its worker's start, at most `timeout`
      guard.unlock();
      start_off_actor(pending_start{start_purpose::for_pool, t, holder, block});
    }
    return promise;
  }

  /// A start of one worker, running in a helper: for a purpose of the pool,
  /// or (`caller` set) for the actor caller with that ticket.
  struct pending_start {
    start_purpose purpose = start_purpose::for_pool;
    ticket caller = 0;
    holder_id holder = 0;
    bool block = false;
    uint64_t generation = 0; ///< of the worker spec it starts from
  };

  // Runs the factory in a helper actor (a thread of its own, except on CAF's
  // deterministic test scheduler), so that a slow start never holds up this
  // actor's other messages. The helper hands the worker over by request: if
  // this actor has ended by then, the helper stops the worker.
  void start_off_actor(pending_start job) {
    auto id = next_start_++;
    spec_ptr spec;
    {
      std::lock_guard<pool_core::lock_type> guard{core_->mtx};
      spec = core_->current_spec();
    }
    job.generation = spec->generation;
    starts_.emplace(id, job);
    auto helper = [core = core_, spec, pool = caf::actor_cast<caf::actor>(this), id](caf::event_based_actor* self,
                                                                                    caf::unit_t) {
      auto w = core->start_worker(nullptr, *spec);
      if (!w) {
        self->send(pool, start_done_atom::value, id, w.error());
        return;
      }
      self->request(pool, caf::infinite, start_done_atom::value, id, *w)
        .then([](caf::ok_atom) {}, [worker = *w](caf::error&) { caf::anon_send_exit(worker, caf::exit_reason::kill); });
    };
    if (starts_detached_)
      system().spawn<caf::detached>(helper, caf::unit);
    else
      system().spawn(helper, caf::unit);
  }

  // A helper's start ended: bookkeeping, then the worker goes where its job says.
  void start_done(uint64_t id, caf::expected<caf::actor> w) {
    auto i = starts_.find(id);
    if (i == starts_.end())
      return;
    auto job = i->second;
    starts_.erase(i);
    if (w && !actor_alive{}(*w))
      w = pool_core::ended_at_once(*w);
    w = record_start(std::move(w));
    if (job.caller != 0)
      return caller_start_done(job, w);
    if (!w) {
      retry_later(job.purpose);
      give_up_if_starved();
      return;
    }
    core_lock guard{*this};
    serve(*w, core_->book.started(*w, job.purpose), "overflow_not_needed");
    retire_if_older(*w, job.generation);
  }

  // The overflow worker started for an actor caller: to that caller if it
  // still waits, else placed like any started worker.
  void caller_start_done(const pending_start& job, const caf::expected<caf::actor>& w) {
    core_lock guard{*this};
    auto waiter = waiters_.find(job.caller);
    if (waiter == waiters_.end()) { // it timed out or died meanwhile
      if (w) {
        serve(*w, core_->book.started(*w, start_purpose::for_overflow), "overflow_not_needed");
        retire_if_older(*w, job.generation);
      } else {
        core_->book.unreserve();
      }
      return;
    }
    if (w) {
      core_->book.adopt(*w, job.holder);
      retire_if_older(*w, job.generation);
      auto promise = waiter->second.promise;
      waiters_.erase(waiter);
      promise.deliver(*w);
      return;
    }
    if (!job.block) {
      core_->book.unreserve();
      auto promise = waiter->second.promise;
      waiters_.erase(waiter);
      promise.deliver(make_error(pool_errc::full, "pool '" + config_.name + "': the overflow worker failed to start: "
                                                    + supervision::describe(w.error())));
      return;
    }
    core_->book.queue(job.caller, job.holder);
    retry_later(start_purpose::for_overflow);
  }

  // The pool moves to `next` (see reconfigure_pool); one that is invalid
  // changes nothing.
  caf::error reconfigure(pool_config next) {
    if (auto err = check_fields(next))
      return err;
    spec_ptr running;
    {
      std::lock_guard<pool_core::lock_type> guard{core_->mtx};
      running = core_->current_spec();
    }
    auto spec = next_spec(running, next);
    if (!spec)
      return spec.error();
    bool backoff_changed = !same_backoff(next.start_backoff, config_.start_backoff);
    {
      core_lock guard{*this};
      core_->spec = *spec;
      if ((*spec)->generation != running->generation)
        core_->book.retire_all();
      core_->book.set_strategy(next.strategy);
      auto resized = core_->book.resize(next.size, next.max_overflow);
      for (auto& w : resized.dismiss)
        dismiss(w, "resized");
      pending_starts_.insert(pending_starts_.end(), resized.starts, start_purpose::for_pool);
      pending_starts_.insert(pending_starts_.end(), resized.overflow_starts, start_purpose::for_overflow);
      replace_next();
      core_->crash_alarm_exits = alarm_exits(next);
      if (next.crash_alarm_window != core_->crash_alarm_window) {
        core_->crash_alarm_window = next.crash_alarm_window;
        core_->crashes = crash_window{next.crash_alarm_window};
      }
      config_ = std::move(next);
    }
    if (backoff_changed)
      backoff_ = supervision::restart_backoff{config_.start_backoff};
    return {};
  }

  // A worker a thread started for itself: watch it like our own.
  void adopt(const caf::actor& w) {
    auto label = config_.worker + "#" + std::to_string(++started_);
    labels_[w.address()] = label;
    monitor(w);
    events::emit(events::pool_worker_started{config_.name, std::move(label), labels_.size() > config_.size});
  }

  void watch(const caf::actor& caller, holder_id holder) {
    if (caller && watched_.emplace(holder, caller.address()).second) {
      core_->watched.insert(holder); // under the core's lock in every caller
      monitor(caller);
    }
  }

  // Under the core's lock: carries out the book's decision for a free
  // worker; `why` it is dismissed as an overflow worker, if it is.
  void serve(const caf::actor& w, const book_type::free_result& r, const char* why) {
    auto p = core_->place(w, r);
    if (p.dismiss)
      dismiss(w, dismissal_text(r.why, why));
    if (p.replace)
      replace(w);
    if (p.actor_waiter != 0)
      deliver(p.actor_waiter, w);
    replace_next();
  }

  // Under the core's lock: a worker started from an older spec is replaced in its turn.
  void retire_if_older(const caf::actor& w, uint64_t generation) {
    if (generation == core_->current_spec()->generation)
      return;
    core_->book.retire(w);
    replace_next();
  }

  // Stops `w`, to be replaced (the book took it out), and starts its successor.
  void replace(const caf::actor& w) {
    dismiss(w, "replaced");
    pending_starts_.push_back(start_purpose::for_replacement);
  }

  // Under the core's lock: the next idle worker to replace, if its turn has come.
  void replace_next() {
    if (auto w = core_->book.next_replacement())
      replace(*w);
  }

  // Under the core's lock: answers waiter `t` with `w`, or takes `w` back
  // when that waiter has gone (timed out or died): no worker is lost.
  void deliver(ticket t, const caf::actor& w) {
    auto i = waiters_.find(t);
    if (i == waiters_.end()) {
      serve(w, core_->book.checkin_handed(w, t), "overflow_checked_in");
      return;
    }
    if (!core_->book.alive(w)) { // it ended on its way: never hand out a dead worker
      if (auto other = core_->book.unhand(w, t, i->second.holder))
        deliver(t, *other);
      return;
    }
    auto promise = i->second.promise;
    waiters_.erase(i);
    promise.deliver(w);
  }

  void expire(ticket t) {
    auto i = waiters_.find(t);
    if (i == waiters_.end())
      return;
    auto promise = i->second.promise;
    waiters_.erase(i);
    {
      core_lock guard{*this};
      core_->book.cancel(t); // if a handover is in flight, `deliver` checks it back in
    }
    promise.deliver(make_error(pool_errc::timeout, "pool '" + config_.name + "'"));
  }

  // Records a start's outcome, and watches a started worker.
  caf::expected<caf::actor> record_start(caf::expected<caf::actor> spawned) {
    auto now = clock().now();
    if (!spawned) {
      start_failed(spawned.error());
      if (!failing_since_)
        failing_since_ = now;
      last_failure_ = spawned.error();
      return spawned;
    }
    failing_since_.reset();
    backoff_ = supervision::restart_backoff{config_.start_backoff};
    adopt(*spawned);
    return spawned;
  }

  void retry_later(start_purpose purpose) {
    auto delay = backoff_.next_delay(std::uniform_real_distribution<double>{}(rng_));
    delayed_send(this, delay, start_worker_atom::value, purpose);
  }

  void give_up_if_starved() {
    if (!labels_.empty() || !failing_since_ || clock().now() - *failing_since_ < config_.give_up_after)
      return;
    quit(make_error(pool_errc::unavailable, "pool '" + config_.name + "': no worker started for "
                                              + std::to_string(config_.give_up_after.count())
                                              + " ms: " + supervision::describe(last_failure_)));
  }

  void on_down(caf::down_msg& msg) {
    auto label = labels_.find(msg.source);
    if (label != labels_.end()) {
      auto name = label->second;
      labels_.erase(label);
      std::vector<start_purpose> starts;
      {
        core_lock guard{*this};
        auto w = caf::actor_cast<caf::actor>(msg.source);
        if (!core_->book.knows(w))
          return; // dismissed, or released as broken
        starts = core_->book.worker_down(w);
        replace_next(); // a shrink may have settled a replacement's start
      }
      if (supervision::is_normal_exit(msg.reason))
        events::emit(events::pool_worker_exited{config_.name, name, "normal", supervision::describe(msg.reason)});
      else
        crashed(name, supervision::describe(msg.reason));
      for (auto purpose : starts)
        start_off_actor(pending_start{purpose});
      return;
    }
    core_lock guard{*this};
    auto holder = msg.source.id();
    if (auto remote = core_->remote_holders.find(msg.source.get()); remote != core_->remote_holders.end()) {
      holder = remote->second;
      core_->remote_holders.erase(remote);
    }
    auto watched = watched_.find(holder);
    if (watched == watched_.end())
      return;
    watched_.erase(watched);
    core_->watched.erase(holder);
    for (auto t : core_->book.tickets_of(holder))
      core_->book.cancel(t);
    for (auto i = waiters_.begin(); i != waiters_.end();) // also those with a handover in flight
      i = i->second.holder == holder ? waiters_.erase(i) : std::next(i);
    for (auto& w : core_->book.held_by(holder))
      serve(w, core_->book.checkin(w), "overflow_checked_in");
  }

  // -- events and metrics

  // Stops a worker the pool no longer needs; the exit and the event wait
  // for flush_pending (never sent under the core's lock).
  void dismiss(const caf::actor& w, const char* why) {
    pending_exits_.push_back(w);
    if (auto label = labels_.find(w.address()); label != labels_.end())
      pending_.push_back(events::pool_worker_dismissed{config_.name, label->second, why});
    count_exit(exit_kind::dismissed);
  }

  // A worker ended abnormally or was released as broken.
  void crashed(const std::string& worker, std::string reason) {
    count_exit(exit_kind::crash);
    events::emit(events::pool_worker_exited{config_.name, worker, "crash", std::move(reason)});
  }

  // A worker failed to start (here or on a caller's thread): counts as a crash for the alarm.
  void start_failed(const caf::error& err) {
    count_exit(exit_kind::failed_start);
    events::emit(events::pool_start_error{config_.name, config_.worker, supervision::describe(err)});
  }

  void count_exit(exit_kind reason) {
    exits_[static_cast<std::size_t>(reason)]->add();
    if (reason == exit_kind::dismissed)
      return;
    auto now = clock().now();
    std::lock_guard<pool_core::lock_type> guard{core_->mtx};
    core_->crashes.add(now);
  }

  // Under the core's lock (see core_lock).
  void note_waiters() {
    core_->waiters_edge();
    auto waiting = core_->book.waiting();
    if ((waiting > 0) == waiters_shown_)
      return;
    waiters_shown_ = waiting > 0;
    pending_.push_back(events::pool_waiters{config_.name, waiting});
  }

  // Out of the core's lock: what was decided under it.
  void flush_pending() {
    for (auto& w : pending_exits_)
      send_exit(w, caf::exit_reason::user_shutdown);
    pending_exits_.clear();
    for (auto purpose : pending_starts_)
      start_off_actor(pending_start{purpose});
    pending_starts_.clear();
    for (auto& e : pending_)
      events::emit(std::move(e));
    pending_.clear();
  }

  void on_end() {
    gauges_.clear();
    exits_ = {};
    auto gone = make_error(pool_errc::closed, "pool '" + config_.name + "' has ended");
    std::vector<caf::actor> known; // includes workers adopted by threads, not yet by us
    {
      std::lock_guard<pool_core::lock_type> guard{core_->mtx};
      known = core_->book.workers();
      // Drop our handles: a pool_ref kept past the pool's end must not keep
      // its workers alive (CAF's system waits for detached ones at shutdown).
      core_->book = book_type{config_.size, config_.max_overflow, config_.strategy};
      core_->closed = true;
      core_->owner = nullptr;
      for (auto& [t, waiter] : core_->thread_waiters) {
        waiter->err = gone;
        waiter->done.store(true, std::memory_order_release);
        waiter->cv.notify_one();
      }
    }
    for (auto& w : known)
      send_exit(w, caf::exit_reason::kill);
    for (auto& [addr, label] : labels_)
      send_exit(addr, caf::exit_reason::kill);
    for (auto& [t, waiter] : waiters_)
      waiter.promise.deliver(gone);
    pools().erase(system(), config_.name, core_.get());
  }

  std::shared_ptr<pool_core> core_;
  pool_config config_;
  std::map<caf::actor_addr, std::string> labels_; // live workers this actor started
  std::unordered_map<ticket, actor_waiter> waiters_;
  std::unordered_map<holder_id, caf::actor_addr> watched_;
  supervision::restart_backoff backoff_;
  std::optional<caf::actor_clock::time_point> failing_since_;
  caf::error last_failure_;
  std::size_t initial_failures_ = 0;
  std::size_t started_ = 0;
  std::minstd_rand rng_;
  bool starts_detached_; ///< helpers run the factory on threads of their own (not on the test scheduler)
  std::unordered_map<uint64_t, pending_start> starts_; ///< starts running in helpers
  uint64_t next_start_ = 1;
  std::vector<std::shared_ptr<perf::gauge>> gauges_; ///< otpp_pool_workers{pool,state}, otpp_pool_waiting{pool}
  std::array<std::shared_ptr<perf::counter>, 3> exits_; ///< otpp_pool_worker_exits_total{pool,reason}
  std::vector<events::event> pending_; ///< noted under the core's lock, emitted after it
  std::vector<caf::actor> pending_exits_;      ///< dismissed under the core's lock, stopped after it
  std::vector<start_purpose> pending_starts_; ///< decided under the core's lock, started after it
  bool waiters_shown_ = false; ///< whether the last pool_waiters said callers wait
};

} // namespace

// -- lease --------------------------------------------------------------------

lease::lease(pool_core* core, caf::actor worker) : core_(core), worker_(std::move(worker)) {}

lease::lease(std::shared_ptr<remote_backend> remote, remote_backend::grant loan)
  : remote_(std::move(remote)), loan_(loan.number), worker_(std::move(loan.worker)) {}

lease::lease(lease&& other) noexcept
  : core_(other.core_), remote_(std::move(other.remote_)), loan_(other.loan_), worker_(std::move(other.worker_)) {
  other.core_ = nullptr;
  other.worker_ = nullptr;
}

lease& lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    release();
    core_ = other.core_;
    remote_ = std::move(other.remote_);
    loan_ = other.loan_;
    worker_ = std::move(other.worker_);
    other.core_ = nullptr;
    other.worker_ = nullptr;
  }
  return *this;
}

lease::~lease() {
  release();
}

void lease::release() {
  if (!worker_)
    return;
  if (remote_)
    remote_->checkin(worker_, loan_);
  else
    core_->end_lease_by_checkin(worker_);
  worker_ = nullptr;
  core_ = nullptr;
}

void lease::fail() {
  if (!worker_)
    return;
  if (remote_)
    remote_->fail(worker_, loan_);
  else
    core_->end_lease_by_failure(worker_);
  worker_ = nullptr;
  core_ = nullptr;
}

// -- pool_ref -----------------------------------------------------------------

namespace {

constexpr int yields_before_sleeping = 50;

} // namespace

pool_ref::pool_ref(std::shared_ptr<pool_core> core, caf::actor actor) : core_(std::move(core)), actor_(std::move(actor)) {}

pool_ref::pool_ref(std::shared_ptr<remote_backend> remote) : remote_(std::move(remote)), actor_(remote_->proxy()) {}

caf::expected<lease> pool_ref::checkout(bool block, std::chrono::milliseconds timeout) const {
  if (remote_) {
    auto loan = remote_->checkout(block, timeout);
    if (!loan)
      return loan.error();
    return lease{remote_, std::move(*loan)};
  }
  std::unique_lock<pool_core::lock_type> guard{core_->mtx};
  if (core_->book.status().idle == 0) {
    // No idle worker: with more threads than cores, the workers are mostly
    // held by threads that are not running. Let them run (and check in)
    // before starting an overflow worker or queueing; the book decides on
    // the state after that, as for any later caller.
    guard.unlock();
    std::this_thread::yield();
    guard.lock();
  }
  if (core_->closed)
    return make_error(pool_errc::closed, "the pool has ended");
  auto t = core_->next_ticket++;
  auto r = core_->book.checkout(0, block, t);
  if (r.kind == book_type::checkout_result::got)
    return core_->lease_of(std::move(r.worker));
  if (r.kind == book_type::checkout_result::full)
    return make_error(pool_errc::full);
  if (r.kind == book_type::checkout_result::start) {
    auto spec = core_->current_spec();
    guard.unlock();
    auto w = core_->start_worker(nullptr, *spec);
    guard.lock();
    if (w && core_->closed) {
      caf::anon_send_exit(*w, caf::exit_reason::kill);
      return make_error(pool_errc::closed, "the pool has ended");
    }
    if (w) {
      core_->book.adopt(*w, 0);
      if (spec->generation != core_->current_spec()->generation)
        core_->book.retire(*w); // the pool was reconfigured meanwhile
      caf::anon_send(core_->owner, adopt_atom::value, *w);
      return core_->lease_of(std::move(*w));
    }
    if (core_->owner) // counted and emitted by the checkout actor
      caf::anon_send(core_->owner, start_failed_atom::value, w.error());
    if (!block || core_->closed) {
      core_->book.unreserve();
      if (core_->closed)
        return make_error(pool_errc::closed, "the pool has ended");
      return make_error(pool_errc::full, "the overflow worker failed to start: " + supervision::describe(w.error()));
    }
    core_->book.queue(t, 0); // the checkout actor retries, reports, and hands the worker over
    if (core_->owner)
      caf::anon_send(core_->owner, start_worker_atom::value, start_purpose::for_overflow);
  }
  core_->tell_waiters_edge(); // queued (a `wait` or a failed start)
  pool_core::thread_waiter me;
  core_->thread_waiters.emplace(t, &me);
  // A worker usually comes back within microseconds: yield a little before
  // sleeping, since waking a sleeping thread costs tens of microseconds here.
  guard.unlock();
  for (int i = 0; i < yields_before_sleeping && !me.done.load(std::memory_order_acquire); ++i)
    std::this_thread::yield();
  guard.lock();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!me.done) {
    if (me.cv.wait_until(guard, deadline) == std::cv_status::timeout && !me.done && core_->book.cancel(t)) {
      core_->thread_waiters.erase(t);
      core_->tell_waiters_edge();
      return make_error(pool_errc::timeout, "waited " + std::to_string(timeout.count()) + " ms");
    }
  }
  core_->thread_waiters.erase(t);
  if (me.err)
    return me.err;
  return core_->lease_of(std::move(me.worker));
}

caf::expected<caf::actor> pool_ref::try_checkout(const caf::actor& caller) const {
  if (remote_) // only a request to the proxy can reach the other node
    return make_error(pool_errc::full, "a remote pool: ask its proxy (actor())");
  std::lock_guard<pool_core::lock_type> guard{core_->mtx};
  if (core_->closed)
    return make_error(pool_errc::closed, "the pool has ended");
  if (core_->book.status().idle == 0)
    return make_error(pool_errc::full, "no idle worker");
  auto holder = core_->holder_of(caller);
  auto w = core_->book.take_idle(holder);
  if (!w) { // every idle worker had ended
    if (!core_->watched.count(holder) && caller && caller.node() != core_->sys.node())
      core_->remote_holders.erase(caf::actor_cast<caf::actor_control_block*>(caller)); // holds nothing
    return make_error(pool_errc::full, "no idle worker");
  }
  if (core_->watched.insert(holder).second)
    caf::anon_send(core_->owner, watch_atom::value, caller);
  return std::move(*w);
}

void pool_ref::checkin(const caf::actor& worker) const {
  if (remote_)
    return remote_->checkin(worker, 0); // an actor's loan of the worker (never a thread's)
  core_->checkin_from_caller(worker);
}

pool_status pool_ref::status() const {
  if (remote_) {
    auto s = remote_->status();
    return s ? *s : pool_status{pool_state::full, 0, 0, 0, 0, 0, 0};
  }
  std::lock_guard<pool_core::lock_type> guard{core_->mtx};
  return core_->book.status();
}

caf::expected<pool_status> pool_ref::status_or_error() const {
  if (remote_)
    return remote_->status();
  return status();
}

caf::expected<std::vector<caf::actor>> pool_ref::idle_workers() const {
  if (remote_)
    return supervision::make_error(supervision::errc::not_allowed, "a remote pool does not list its idle workers");
  std::lock_guard<pool_core::lock_type> guard{core_->mtx};
  return core_->book.idle();
}

// -- workers that ended ---------------------------------------------------------

std::optional<caf::error> exit_reason_of(const caf::actor& worker) {
  if (!worker)
    return std::nullopt;
  auto* a = caf::actor_cast<caf::abstract_actor*>(worker);
  auto* m = dynamic_cast<caf::monitorable_actor*>(a);
  if (m == nullptr)
    return std::nullopt;
  if (a->getf(caf::abstract_actor::is_terminated_flag))
    return m->fail_state();
  auto* s = dynamic_cast<caf::scheduled_actor*>(a);
  if (s == nullptr || !s->mailbox().closed())
    return std::nullopt;
  // Ending: CAF closes the mailbox, answers pending requests, then records
  // the reason and runs what is attached, all within microseconds.
  auto ended = std::make_shared<std::promise<caf::error>>();
  auto reason = ended->get_future();
  a->attach_functor([ended](const caf::error& why) { ended->set_value(why); });
  if (reason.wait_for(std::chrono::seconds(1)) != std::future_status::ready)
    return std::nullopt;
  return reason.get();
}

caf::error worker_error(caf::error err, const caf::actor& worker) {
  if (err != caf::sec::request_receiver_down)
    return err;
  auto reason = exit_reason_of(worker);
  return reason && *reason ? std::move(*reason) : err; // a normal exit has no error to tell
}

caf::error no_direct_resource(const caf::actor& worker) {
  auto reason = exit_reason_of(worker);
  if (reason && *reason)
    return std::move(*reason);
  return supervision::make_error(supervision::errc::not_allowed,
                                 reason ? "the worker has ended" : "the worker lends no resource of this type");
}

// -- starting -----------------------------------------------------------------

caf::error validate(const pool_config& config) {
  if (auto err = check_fields(config))
    return err;
  auto resolved = config;
  return resolve_workers(resolved);
}

namespace {

struct spawned_pool {
  std::shared_ptr<pool_core> core;
  caf::actor actor;
};

caf::expected<spawned_pool> spawn_pool(caf::actor_system& sys, pool_config config) {
  if (auto err = check_fields(config))
    return err;
  bool from_kind = !config.factory;
  if (auto err = resolve_workers(config))
    return err;
  std::shared_ptr<pool_core> core{new pool_core(sys, config, from_kind), &pool_core::let_go};
  auto actor = sys.spawn<pool_actor>(core, std::move(config));
  return spawned_pool{std::move(core), std::move(actor)};
}

} // namespace

caf::expected<pool_ref> start_pool(caf::actor_system& sys, pool_config config) {
  auto pool = spawn_pool(sys, std::move(config));
  if (!pool)
    return pool.error();
  return pool_ref{std::move(pool->core), std::move(pool->actor)};
}

supervision::child_spec pool_child(pool_config config) {
  supervision::child_spec spec;
  spec.id = config.name;
  spec.name = config.name;
  spec.start = [config](supervision::start_context& ctx) -> caf::expected<caf::actor> {
    auto pool = spawn_pool(ctx.system(), config);
    if (!pool)
      return pool.error();
    health::add_probe(ctx.system(), config.name, "pool",
                      [core = pool->core] { return core->health(core->sys.clock().now()); }, pool->actor);
    return pool->actor;
  };
  return spec;
}

namespace {

using remote_resolver =
  std::function<caf::expected<std::shared_ptr<remote_backend>>(const std::string& pool, const std::string& node)>;

std::mutex resolvers_mtx;
std::map<caf::actor_system*, remote_resolver> resolvers; // guarded by resolvers_mtx

} // namespace

void set_remote_resolver(caf::actor_system& sys, remote_resolver resolve) {
  std::lock_guard<std::mutex> guard{resolvers_mtx};
  if (resolve)
    resolvers[&sys] = std::move(resolve);
  else
    resolvers.erase(&sys);
}

namespace {

/// How long `reconfigure_pool` waits for the checkout actor's answer.
constexpr auto reconfigure_timeout = std::chrono::seconds(10);

caf::expected<pool_ref> find_local_pool(caf::actor_system& sys, const std::string& name) {
  if (auto core = pools().find_fast(sys, name)) {
    std::lock_guard<pool_core::lock_type> guard{core->mtx};
    if (!core->closed && core->owner)
      return pool_ref{core, core->owner};
  }
  return supervision::make_error(supervision::errc::not_found, "no running pool '" + name + "'");
}

} // namespace

caf::expected<pool_ref> find_pool(caf::actor_system& sys, const std::string& name) {
  if (auto at = name.find('@'); at != std::string::npos) {
    remote_resolver resolve;
    {
      std::lock_guard<std::mutex> guard{resolvers_mtx};
      if (auto i = resolvers.find(&sys); i != resolvers.end())
        resolve = i->second;
    }
    if (!resolve)
      return supervision::make_error(supervision::errc::not_found,
                                     "no pool '" + name + "': this node is not part of a cluster");
    auto remote = resolve(name.substr(0, at), name.substr(at + 1));
    if (!remote)
      return remote.error();
    return pool_ref{std::move(*remote)};
  }
  return find_local_pool(sys, name);
}

caf::error reconfigure_pool(caf::actor_system& sys, const pool_config& next) {
  auto pool = find_local_pool(sys, next.name);
  if (!pool)
    return pool.error();
  caf::error result;
  caf::scoped_actor self{sys};
  self->request(pool->actor(), reconfigure_timeout, reconfigure_atom::value, next)
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { result = std::move(err); });
  if (result == caf::sec::request_receiver_down)
    return supervision::make_error(supervision::errc::not_found, "pool '" + next.name + "' has ended");
  return result;
}

} // namespace otpp::pool
