#include "otpp/supervision/supervisor.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <random>

#include <caf/actor_system_config.hpp>
#include <caf/defaults.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/response_promise.hpp>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/exceptions.hpp"
#include "otpp/supervision/registry.hpp"
#include "otpp/supervision/restart_intensity.hpp"

namespace otpp::supervision {

std::string to_string(child_state x) {
  switch (x) {
    case child_state::running: return "running";
    case child_state::restarting: return "restarting";
    case child_state::terminated: return "terminated";
  }
  return "?";
}

namespace {

using try_again_atom = caf::atom_constant<caf::atom("try_again")>;
using restart_due_atom = caf::atom_constant<caf::atom("restartdue")>;
using stop_timeout_atom = caf::atom_constant<caf::atom("stop_tmo")>;
using time_point = caf::actor_clock::time_point;

struct child {
  uint64_t key = 0; // unique per supervisor; ids repeat under simple_one_for_one
  child_spec spec;
  caf::message args;
  caf::actor handle;
  bool restarting = false;
  strategy restarted_as = strategy::one_for_one; ///< its latest restart's strategy: that restart keeps its group
  std::size_t restarts = 0;
  std::optional<restart_backoff> backoff;
  time_point started_at;
  caf::error last_reason;
  std::string last_exit; ///< describe(last_reason) once it has ended; empty before
};

// How a child ended, as otpp_supervisor_child_exits_total labels it.
enum class exit_kind : uint8_t { normal, shutdown, crash };

constexpr std::array<const char*, 3> exit_kind_names{"normal", "shutdown", "crash"};

exit_kind kind_of_exit(const caf::error& reason) {
  if (!reason || reason == caf::exit_reason::normal)
    return exit_kind::normal;
  return is_normal_exit(reason) ? exit_kind::shutdown : exit_kind::crash;
}

// Children being stopped one at a time, each awaited before the next.
struct stop_job {
  std::vector<uint64_t> keys;
  std::size_t next = 0;
  caf::actor_addr awaiting;
  bool timed_out = false;
  uint64_t timer = 0;
  std::function<void()> done;
  std::optional<caf::response_promise> reply; ///< a request answered by `done`
};

// A deferred action; called with an error instead when the supervisor ends first.
using deferred_action = std::function<void(const caf::error* abort)>;

// Set while a supervisor runs a child's start function on this thread: a
// nested supervisor that fails to start there is handed over (still
// stopping what it started) instead of being waited for, so that no
// scheduler thread blocks; the supervisor that ran the start function waits
// for it without blocking, as busy, before it acts on the failure.
thread_local std::vector<caf::actor>* failed_starts_in_progress = nullptr;

class collect_failed_starts {
public:
  explicit collect_failed_starts(std::vector<caf::actor>* into) : saved_(failed_starts_in_progress) {
    failed_starts_in_progress = into;
  }
  ~collect_failed_starts() { failed_starts_in_progress = saved_; }
  collect_failed_starts(const collect_failed_starts&) = delete;
  collect_failed_starts& operator=(const collect_failed_starts&) = delete;

private:
  std::vector<caf::actor>* saved_;
};

class supervisor_actor : public caf::event_based_actor {
public:
  supervisor_actor(caf::actor_config& cfg, supervisor_config config, caf::error* start_result)
    : caf::event_based_actor(cfg),
      flags_(config.flags),
      name_(config.name),
      strategy_(to_string(config.flags.strategy)),
      intensity_(config.flags.intensity, config.flags.period),
      restarts_metric_(perf::metrics().counter_of(perf::families::supervisor_restarts, {config.name})),
      rng_(std::random_device{}()) {
    keep_exception_text(this);
    // Children are monitored, not linked: CAF drops a link when it delivers an
    // exit message over it, and a late link exit from a replaced child would
    // look like a shutdown request. Any exit message is a request to stop (from
    // the parent or the owner), and children die with their supervisor through
    // the functor below, as linked processes do in OTP.
    set_exit_handler([this](caf::exit_msg& msg) { shutdown(msg.reason); });
    set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
    attach_functor([this](const caf::error& reason) {
      // Anonymous: sending as `this` from inside our own destruction would
      // take a strong reference to an actor whose count already reached zero.
      for (auto& c : children_)
        if (c.handle)
          caf::anon_send(c.handle, caf::exit_msg{caf::actor_addr{},
                                                 reason ? reason : caf::error{caf::exit_reason::user_shutdown}});
    });
    if (flags_.strategy == strategy::simple_one_for_one) {
      template_ = std::move(config.children.front());
      return;
    }
    for (auto& spec : config.children) {
      auto& c = add_child(std::move(spec), {});
      if (auto err = start(c)) {
        failed_start_ = make_error(errc::start_failed, "child '" + c.spec.id + "': " + describe(err));
        children_.pop_back();
        *start_result = failed_start_;
        return;
      }
    }
  }

  const char* name() const override {
    return "otpp_supervisor";
  }

  // Killed or crashed mid-way: answer what is still waiting, so that no
  // requester waits forever (CAF 0.17 does not fail dropped promises).
  void on_exit() override {
    auto gone = make_error(errc::shutdown, "supervisor '" + name_ + "' has ended");
    for (auto& action : deferred_)
      action(&gone);
    deferred_.clear();
    if (job_ && job_->reply)
      job_->reply->deliver(gone);
    job_.reset();
    keep_alive_ = nullptr;
    restarts_metric_.reset(); // the series end with the supervisor, not with its last reference
    exit_metrics_.clear();
  }

  caf::behavior make_behavior() override {
    if (failed_start_) {
      // Nobody holds a supervisor whose start failed: it holds itself until
      // it has stopped what it started (CAF ends an unreferenced actor).
      keep_alive_ = caf::actor_cast<caf::actor>(this);
      shutdown(failed_start_);
    }
    return {
      [this](start_child_atom, child_spec& spec) {
        return when_idle([this, spec](caf::response_promise& rp) { start_static(rp, spec); });
      },
      [this](start_child_atom, caf::message& args) {
        return when_idle([this, args](caf::response_promise& rp) { start_dynamic(rp, args); });
      },
      [this](terminate_child_atom, std::string& id) {
        return when_idle([this, id](caf::response_promise& rp) { terminate_by_id(rp, id); });
      },
      [this](terminate_child_atom, caf::actor& who) {
        return when_idle([this, who](caf::response_promise& rp) { terminate_dynamic(rp, who); });
      },
      [this](restart_child_atom, std::string& id) {
        return when_idle([this, id](caf::response_promise& rp) { restart_by_id(rp, id); });
      },
      [this](delete_child_atom, std::string& id) {
        return when_idle([this, id](caf::response_promise& rp) { delete_by_id(rp, id); });
      },
      [this](which_children_atom) {
        return when_idle([this](caf::response_promise& rp) { rp.deliver(which_children()); });
      },
      [this](count_children_atom) {
        return when_idle([this](caf::response_promise& rp) { rp.deliver(count_children()); });
      },
      [this](update_flags_atom, supervisor_flags& flags) {
        return when_idle([this, flags](caf::response_promise& rp) { update_flags_now(rp, flags); });
      },
      [this](update_child_atom, child_spec& spec) {
        return when_idle([this, spec](caf::response_promise& rp) { update_child_now(rp, spec); });
      },
      // Both carry the child's restart count when sent: a message from an
      // earlier restart of the same child (cancelled or superseded) does nothing.
      [this](try_again_atom, uint64_t key, std::size_t restarts) {
        defer_while_busy([this, key, restarts] {
          if (auto* c = find(key); c && c->restarting && c->restarts == restarts)
            restart(*c, c->restarted_as);
        });
      },
      [this](restart_due_atom, uint64_t key, std::size_t restarts) {
        defer_while_busy([this, key, restarts] {
          if (auto* c = find(key); c && c->restarting && c->restarts == restarts)
            start_group(key);
        });
      },
      [this](stop_timeout_atom, uint64_t timer) {
        if (job_ && job_->timer == timer && job_->awaiting) {
          job_->timed_out = true;
          send_exit(job_->awaiting, caf::exit_reason::kill);
        }
      },
    };
  }

private:
  // -- deferral: OTP's supervisor is busy while it stops children; so is this one.

  bool busy() const {
    return job_.has_value() || shutting_down_ || !failed_starts_.empty();
  }

  // Nothing in progress that deferred actions must wait for.
  bool settled() const {
    return !job_ && failed_starts_.empty();
  }

  caf::response_promise when_idle(std::function<void(caf::response_promise&)> op) {
    auto rp = make_response_promise();
    if (!busy()) {
      op(rp);
      return rp;
    }
    deferred_.emplace_back([rp, op](const caf::error* abort) mutable {
      if (abort)
        rp.deliver(*abort);
      else
        op(rp);
    });
    return rp;
  }

  void defer_while_busy(std::function<void()> action) {
    if (!busy()) {
      action();
      return;
    }
    deferred_.emplace_back([action](const caf::error* abort) {
      if (!abort)
        action();
    });
  }

  // Answers `rp` once no failed nested start is still stopping its children.
  template <class T>
  void deliver_when_settled(caf::response_promise& rp, T value) {
    if (failed_starts_.empty())
      return rp.deliver(std::move(value));
    deferred_.emplace_back([rp, value](const caf::error*) mutable { rp.deliver(std::move(value)); });
  }

  void drain_deferred() {
    while (settled() && !deferred_.empty()) {
      auto action = std::move(deferred_.front());
      deferred_.pop_front();
      action(nullptr);
    }
  }

  // -- children bookkeeping

  child& add_child(child_spec spec, caf::message args) {
    child c;
    c.key = next_key_++;
    if (spec.backoff)
      c.backoff.emplace(*spec.backoff);
    c.spec = std::move(spec);
    c.args = std::move(args);
    children_.push_back(std::move(c));
    return children_.back();
  }

  child* find(uint64_t key) {
    auto i = std::find_if(children_.begin(), children_.end(), [&](const child& c) { return c.key == key; });
    return i == children_.end() ? nullptr : &*i;
  }

  child* find_id(const std::string& id) {
    auto i = std::find_if(children_.begin(), children_.end(), [&](const child& c) { return c.spec.id == id; });
    return i == children_.end() ? nullptr : &*i;
  }

  child* find_addr(const caf::actor_addr& addr) {
    if (!addr)
      return nullptr;
    auto i = std::find_if(children_.begin(), children_.end(), [&](const child& c) { return c.handle == addr; });
    return i == children_.end() ? nullptr : &*i;
  }

  // A static child's exit series go with the last spec of its id;
  // simple_one_for_one children share the template's while the supervisor lives.
  void erase(uint64_t key) {
    auto* c = find(key);
    if (c == nullptr)
      return;
    auto id = c->spec.id;
    children_.erase(std::remove_if(children_.begin(), children_.end(),
                                   [&](const child& x) { return x.key == key; }),
                    children_.end());
    if (!dynamic() && find_id(id) == nullptr)
      exit_metrics_.erase(id);
  }

  // -- events and metrics

  template <class Report>
  void emit_report(const child& c, std::string reason) {
    Report r;
    r.supervisor = name_;
    r.strategy = strategy_;
    r.child = c.spec.id;
    r.reason = std::move(reason);
    r.restarts = c.restarts;
    events::emit(std::move(r));
  }

  void note_exit(child& c, const caf::error& reason, exit_kind kind) {
    c.last_reason = reason;
    c.last_exit = describe(reason);
    auto& series = exit_metrics_[c.spec.id][static_cast<std::size_t>(kind)];
    if (!series)
      series = perf::metrics().counter_of(perf::families::supervisor_child_exits,
                                          {name_, c.spec.id, exit_kind_names[static_cast<std::size_t>(kind)]});
    series->add();
  }

  bool dynamic() const {
    return flags_.strategy == strategy::simple_one_for_one;
  }

  // -- starting

  caf::error start(child& c) {
    caf::expected<caf::actor> spawned{caf::actor{}};
    std::vector<caf::actor> failed_starts;
    try {
      collect_failed_starts collect{&failed_starts};
      start_context ctx{system(), this, c.args};
      spawned = c.spec.start(ctx);
    } catch (const std::exception& x) {
      spawned = make_error(errc::exception, x.what());
    } catch (...) {
      spawned = make_error(errc::exception, "unknown exception in start function");
    }
    for (auto& stopping : failed_starts) {
      monitor(stopping);
      failed_starts_.push_back(stopping);
    }
    caf::error err;
    if (!spawned)
      err = spawned.error();
    else if (!*spawned)
      err = make_error(errc::start_failed, "start function returned no actor");
    if (!err) {
      auto& handle = *spawned;
      monitor(handle);
      if (c.spec.name.empty() || registry::of(system()).put(c.spec.name, handle)) {
        c.handle = handle;
        c.restarting = false;
        c.started_at = clock().now();
        events::child_started started;
        started.supervisor = name_;
        started.strategy = strategy_;
        started.child = c.spec.id;
        started.restarts = c.restarts;
        events::emit(std::move(started));
        return {};
      }
      demonitor(handle);
      send_exit(handle, caf::exit_reason::kill);
      err = make_error(errc::name_taken, "name '" + c.spec.name + "' belongs to another live actor");
    }
    emit_report<events::start_error>(c, describe(err));
    return err;
  }

  // Keys of the children a restart of `key` under `how` concerns, in start order.
  std::vector<uint64_t> restart_group(uint64_t key, strategy how) {
    std::vector<uint64_t> keys;
    bool reached = false;
    for (const auto& c : children_) {
      reached = reached || c.key == key;
      bool member = how == strategy::one_for_all || (how == strategy::rest_for_one && reached) || c.key == key;
      if (member)
        keys.push_back(c.key);
    }
    return keys;
  }

  // Starts the group's children that wait for a restart; on a failure the
  // rest keep waiting and a retry (which counts toward intensity, with the
  // same strategy) is queued.
  void start_group(uint64_t key) {
    auto* origin = find(key);
    if (origin == nullptr)
      return;
    auto how = origin->restarted_as;
    for (auto k : restart_group(key, how)) {
      auto* c = find(k);
      if (c == nullptr || !c->restarting)
        continue;
      if (start(*c)) {
        send(this, try_again_atom::value, k, c->restarts);
        return;
      }
    }
  }

  // -- exits

  void on_down(caf::down_msg& msg) {
    auto failed = [&](const caf::actor& a) { return a.address() == msg.source; };
    if (auto i = std::find_if(failed_starts_.begin(), failed_starts_.end(), failed); i != failed_starts_.end()) {
      failed_starts_.erase(i);
      drain_deferred();
      return;
    }
    auto* c = find_addr(msg.source);
    if (c == nullptr)
      return;
    if (job_ && job_->awaiting == msg.source) {
      on_stopped(*c, msg.reason);
      return;
    }
    if (job_ && std::find(job_->keys.begin() + job_->next, job_->keys.end(), c->key) != job_->keys.end()) {
      c->handle = nullptr; // died before its turn to be stopped
      note_exit(*c, msg.reason, kind_of_exit(msg.reason));
      if (c->spec.restart == restart_type::temporary)
        erase(c->key);
      return;
    }
    if (busy()) {
      // Dead now, handled after the job: no stop may wait for it meanwhile,
      // and the API sees it as restarting until then.
      c->handle = nullptr;
      c->restarting = true;
      c->restarted_as = flags_.strategy;
      deferred_.emplace_back([this, key = c->key, reason = msg.reason](const caf::error* abort) {
        if (auto* dead = abort ? nullptr : find(key); dead != nullptr && !dead->handle)
          on_child_exit(*dead, reason);
      });
      return;
    }
    on_child_exit(*c, msg.reason);
  }

  void on_child_exit(child& c, const caf::error& reason) {
    c.handle = nullptr;
    c.restarting = false;
    note_exit(c, reason, kind_of_exit(reason));
    if (c.backoff)
      c.backoff->child_stopped(
        std::chrono::duration_cast<std::chrono::milliseconds>(clock().now() - c.started_at));
    bool normal = is_normal_exit(reason);
    if (c.spec.restart == restart_type::permanent || (c.spec.restart == restart_type::transient && !normal)) {
      emit_report<events::child_terminated>(c, c.last_exit);
      restart(c, flags_.strategy);
      return;
    }
    if (!normal)
      emit_report<events::child_terminated>(c, c.last_exit);
    auto id = c.spec.id;
    bool significant = c.spec.significant;
    if (c.spec.restart == restart_type::temporary || dynamic())
      erase(c.key);
    if (significant)
      check_auto_shutdown(id);
  }

  void check_auto_shutdown(const std::string& id) {
    if (flags_.auto_shutdown == auto_shutdown::all_significant) {
      bool any_left = std::any_of(children_.begin(), children_.end(), [](const child& c) {
        return c.spec.significant && (c.handle || c.restarting);
      });
      if (any_left)
        return;
    }
    shutdown(make_error(errc::shutdown, "auto_shutdown: significant child '" + id + "' ended"));
  }

  // OTP's restart: count it toward intensity (or give up), stop the rest of
  // the strategy's group in reverse order, then start the group in order.
  // A pending restart keeps the group of `how`, also if the flags change meanwhile.
  void restart(child& c, strategy how) {
    if (!intensity_.add_restart(clock().now())) {
      auto reason = describe(c.last_reason);
      emit_report<events::reached_max_restart_intensity>(c, reason);
      shutdown(make_error(errc::shutdown,
                          "reached_max_restart_intensity: child '" + c.spec.id + "': " + reason));
      return;
    }
    ++c.restarts;
    ++total_restarts_;
    restarts_metric_->add();
    c.restarting = true;
    c.restarted_as = how;
    auto key = c.key;
    auto delay = c.backoff ? c.backoff->next_delay(std::uniform_real_distribution<double>{}(rng_))
                           : std::chrono::milliseconds{0};
    auto group = restart_group(key, how);
    std::vector<uint64_t> running;
    for (auto i = group.rbegin(); i != group.rend(); ++i)
      if (auto* member = find(*i); member != nullptr && member->handle)
        running.push_back(*i);
    stop_children(std::move(running), [this, key, how, group, delay, restarts = c.restarts] {
      for (auto k : group)
        if (auto* member = find(k)) {
          member->restarting = true;
          member->restarted_as = how;
        }
      if (delay.count() > 0)
        delayed_send(this, delay, restart_due_atom::value, key, restarts);
      else
        start_group(key);
    });
  }

  // -- stopping

  void stop_children(std::vector<uint64_t> keys, std::function<void()> done,
                     std::optional<caf::response_promise> reply = std::nullopt) {
    job_ = stop_job{std::move(keys), 0, {}, false, 0, std::move(done), std::move(reply)};
    stop_next();
  }

  void stop_next() {
    while (job_->next < job_->keys.size()) {
      auto* c = find(job_->keys[job_->next++]);
      if (c == nullptr || !c->handle)
        continue;
      job_->awaiting = c->handle.address();
      job_->timed_out = false;
      job_->timer = 0; // a late timer of the previous child must not kill this one
      auto policy = effective_shutdown(c->spec);
      if (policy.how == shutdown_policy::kind::brutal_kill) {
        send_exit(c->handle, caf::exit_reason::kill);
      } else {
        send_exit(c->handle, caf::exit_reason::user_shutdown);
        if (policy.how == shutdown_policy::kind::timeout) {
          job_->timer = next_timer_++;
          delayed_send(this, policy.timeout, stop_timeout_atom::value, job_->timer);
        }
      }
      return;
    }
    auto done = std::move(job_->done);
    job_.reset();
    done();
    drain_deferred();
  }

  void on_stopped(child& c, const caf::error& reason) {
    bool brutal = effective_shutdown(c.spec).how == shutdown_policy::kind::brutal_kill;
    bool as_asked = brutal ? reason == caf::exit_reason::kill : is_normal_exit(reason);
    bool failed = !as_asked || job_->timed_out;
    note_exit(c, reason, failed ? exit_kind::crash : exit_kind::shutdown);
    if (failed)
      emit_report<events::shutdown_error>(c, c.last_exit);
    c.handle = nullptr;
    if (c.spec.restart == restart_type::temporary)
      erase(c.key);
    job_->awaiting = {};
    stop_next();
  }

  // Stops every child in reverse start order, then ends with `reason`.
  void shutdown(caf::error reason) {
    if (shutting_down_)
      return;
    shutting_down_ = true;
    auto begin = [this, reason](const caf::error*) {
      std::vector<uint64_t> keys;
      for (auto i = children_.rbegin(); i != children_.rend(); ++i)
        keys.push_back(i->key);
      stop_children(std::move(keys), [this, reason] {
        events::supervisor_shutdown ended;
        ended.supervisor = name_;
        ended.strategy = strategy_;
        ended.reason = describe(reason);
        ended.restarts = total_restarts_;
        ended.normal = is_normal_exit(reason);
        events::emit(std::move(ended));
        auto gone = make_error(errc::shutdown, "supervisor '" + name_ + "' has ended");
        for (auto& action : deferred_)
          action(&gone);
        deferred_.clear();
        quit(reason);
      });
    };
    if (settled())
      begin(nullptr);
    else
      deferred_.emplace_front(begin);
  }

  // -- API

  void start_static(caf::response_promise& rp, const child_spec& spec) {
    if (dynamic())
      return rp.deliver(make_error(errc::not_allowed, "simple_one_for_one: start_child takes extra arguments"));
    if (auto err = validate(spec, flags_))
      return rp.deliver(err);
    if (auto* existing = find_id(spec.id)) {
      if (existing->handle)
        return rp.deliver(make_already_started("child '" + spec.id + "'", existing->handle));
      return rp.deliver(make_error(errc::already_present, "child '" + spec.id + "'"));
    }
    auto& c = add_child(spec, {});
    if (auto err = start(c)) {
      erase(c.key);
      return deliver_when_settled(rp, make_error(errc::start_failed, "child '" + spec.id + "': " + describe(err)));
    }
    rp.deliver(c.handle);
  }

  void start_dynamic(caf::response_promise& rp, const caf::message& args) {
    if (!dynamic())
      return rp.deliver(make_error(errc::not_allowed, "start_child with extra arguments needs simple_one_for_one"));
    auto& c = add_child(*template_, args);
    if (auto err = start(c)) {
      erase(c.key);
      return deliver_when_settled(rp,
                                  make_error(errc::start_failed, "child '" + template_->id + "': " + describe(err)));
    }
    rp.deliver(c.handle);
  }

  child* static_child(caf::response_promise& rp, const std::string& id) {
    if (dynamic()) {
      rp.deliver(make_error(errc::not_allowed, "simple_one_for_one children are addressed by handle"));
      return nullptr;
    }
    auto* c = find_id(id);
    if (c == nullptr)
      rp.deliver(make_error(errc::not_found, "child '" + id + "'"));
    return c;
  }

  void terminate_by_id(caf::response_promise& rp, const std::string& id) {
    auto* c = static_child(rp, id);
    if (c == nullptr)
      return;
    auto key = c->key;
    if (!c->handle) {
      // Cancels a pending restart; the rest of its group, stopped for it and
      // waiting for it, stays terminated as in OTP (restart_child starts them).
      if (c->restarting)
        for (auto k : restart_group(key, c->restarted_as))
          if (auto* member = find(k); member != nullptr && !member->handle)
            member->restarting = false;
      if (c->spec.restart == restart_type::temporary)
        erase(key);
      return rp.deliver(caf::ok_atom::value);
    }
    stop_children(
      {key},
      [this, rp, key]() mutable {
        if (auto* stopped = find(key))
          stopped->restarting = false;
        rp.deliver(caf::ok_atom::value);
      },
      rp);
  }

  void terminate_dynamic(caf::response_promise& rp, const caf::actor& who) {
    auto* c = dynamic() ? find_addr(who.address()) : nullptr;
    if (c == nullptr)
      return rp.deliver(make_error(errc::not_found, "no child with handle " + caf::to_string(who.address())));
    auto key = c->key;
    stop_children(
      {key},
      [this, rp, key]() mutable {
        erase(key);
        rp.deliver(caf::ok_atom::value);
      },
      rp);
  }

  caf::error check_terminated(const child& c) {
    if (c.handle)
      return make_error(errc::running, "child '" + c.spec.id + "'");
    if (c.restarting)
      return make_error(errc::restarting, "child '" + c.spec.id + "'");
    return {};
  }

  void restart_by_id(caf::response_promise& rp, const std::string& id) {
    auto* c = static_child(rp, id);
    if (c == nullptr)
      return;
    if (auto err = check_terminated(*c))
      return rp.deliver(err);
    if (auto err = start(*c))
      return deliver_when_settled(rp, make_error(errc::start_failed, "child '" + id + "': " + describe(err)));
    rp.deliver(c->handle);
  }

  void delete_by_id(caf::response_promise& rp, const std::string& id) {
    auto* c = static_child(rp, id);
    if (c == nullptr)
      return;
    if (auto err = check_terminated(*c))
      return rp.deliver(err);
    erase(c->key);
    rp.deliver(caf::ok_atom::value);
  }

  // Specs the flags must fit: every static child's, or the template.
  std::vector<child_spec> specs() const {
    if (dynamic())
      return {*template_};
    std::vector<child_spec> result;
    for (const auto& c : children_)
      result.push_back(c.spec);
    return result;
  }

  void update_flags_now(caf::response_promise& rp, const supervisor_flags& flags) {
    if (auto err = validate(flags))
      return rp.deliver(err);
    if (dynamic() != (flags.strategy == strategy::simple_one_for_one))
      return rp.deliver(make_error(errc::not_allowed, "strategy cannot change between simple_one_for_one and "
                                                      "the others, got " + strategy_ + " -> "
                                                      + to_string(flags.strategy)));
    if (auto err = validate(flags, specs()))
      return rp.deliver(err);
    flags_ = flags;
    strategy_ = to_string(flags.strategy);
    intensity_.set_limits(flags.intensity, flags.period);
    rp.deliver(caf::ok_atom::value);
  }

  void update_child_now(caf::response_promise& rp, const child_spec& spec) {
    if (auto err = validate(spec, flags_))
      return rp.deliver(err);
    if (dynamic()) {
      if (spec.id != template_->id)
        return rp.deliver(make_error(errc::not_found, "child '" + spec.id + "': the template's id is '"
                                                        + template_->id + "'"));
      template_ = spec;
      return rp.deliver(caf::ok_atom::value);
    }
    auto* c = find_id(spec.id);
    if (c == nullptr)
      return rp.deliver(make_error(errc::not_found, "child '" + spec.id + "'"));
    c->spec = spec;
    c->backoff.reset();
    if (spec.backoff)
      c->backoff.emplace(*spec.backoff);
    rp.deliver(caf::ok_atom::value);
  }

  std::vector<child_info> which_children() const {
    std::vector<child_info> result;
    for (const auto& c : children_) {
      auto state = c.handle ? child_state::running
                            : (c.restarting ? child_state::restarting : child_state::terminated);
      result.push_back(child_info{c.spec.id, c.handle, c.spec.type, state, c.restarts, c.last_exit});
    }
    return result;
  }

  child_counts count_children() const {
    child_counts counts;
    counts.specs = dynamic() ? 1 : children_.size();
    for (const auto& c : children_) {
      if (dynamic() && !c.handle)
        continue;
      counts.active += c.handle ? 1 : 0;
      ++(c.spec.type == child_type::supervisor ? counts.supervisors : counts.workers);
    }
    return counts;
  }

  supervisor_flags flags_;
  std::string name_;
  std::string strategy_;
  restart_intensity intensity_;
  std::vector<child> children_; // start order
  std::optional<child_spec> template_;
  uint64_t next_key_ = 1;
  uint64_t next_timer_ = 1;
  std::optional<stop_job> job_;
  std::deque<deferred_action> deferred_;
  std::vector<caf::actor> failed_starts_; ///< nested supervisors that failed to start, still stopping
  bool shutting_down_ = false;
  caf::error failed_start_;
  caf::actor keep_alive_; ///< this actor, while a failed start stops its children
  std::size_t total_restarts_ = 0;
  std::shared_ptr<perf::counter> restarts_metric_; ///< otpp_supervisor_restarts_total{supervisor}
  /// otpp_supervisor_child_exits_total{supervisor,child,reason} by child id,
  /// made at a child's first exit of each kind.
  std::map<std::string, std::array<std::shared_ptr<perf::counter>, 3>> exit_metrics_;
  std::minstd_rand rng_;
};

// Blocks until `sup` has ended, except on CAF's deterministic test
// coordinator, where nothing runs until the test runs it.
void await_end(caf::actor_system& sys, const caf::actor& sup) {
  if (caf::get_or(sys.config(), "scheduler.policy", caf::defaults::scheduler::policy) == caf::atom("testing"))
    return;
  auto ended = std::make_shared<std::promise<void>>();
  auto waited = ended->get_future();
  sup->attach_functor([ended] { ended->set_value(); });
  waited.wait();
}

} // namespace

caf::expected<caf::actor> start_supervisor(caf::actor_system& sys, supervisor_config config) {
  if (config.name.empty())
    config.name = "supervisor";
  if (auto err = validate(config.flags, config.children))
    return err;
  caf::error start_result;
  auto sup = sys.spawn<supervisor_actor>(std::move(config), &start_result);
  if (start_result) {
    if (failed_starts_in_progress != nullptr)
      failed_starts_in_progress->push_back(sup);
    else
      await_end(sys, sup);
    return start_result;
  }
  return sup;
}

child_spec supervisor_child(std::string id, supervisor_config config) {
  if (config.name.empty())
    config.name = id;
  child_spec spec;
  spec.id = std::move(id);
  spec.type = child_type::supervisor;
  spec.start = [config](start_context& ctx) { return start_supervisor(ctx.system(), config); };
  return spec;
}

} // namespace otpp::supervision
