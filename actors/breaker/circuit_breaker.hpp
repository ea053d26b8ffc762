#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "otpp/actors/breaker/outcome_window.hpp"
#include "otpp/actors/spin_lock.hpp"

namespace otpp::breaker {

/// Resilience4j's states.
enum class breaker_state : uint8_t {
  closed,      ///< calls pass; outcomes are recorded
  open,        ///< calls are rejected until `wait_in_open` has passed
  half_open,   ///< `half_open_permits` trial calls decide: closed or open again
  disabled,    ///< calls pass; nothing is recorded
  forced_open, ///< calls are rejected until a manual transition
};

std::string to_string(breaker_state x);

/// One breaker's settings (Resilience4j's names, in milliseconds).
struct breaker_config {
  std::string name;
  window_kind window = window_kind::count;
  uint32_t window_size = 100;   ///< calls (count) or seconds (time); >= 1
  uint32_t minimum_calls = 100; ///< >= 1; above a count window's size it is clamped to the size
  double failure_threshold = 50; ///< percent in (0, 100]
  double slow_threshold = 100;   ///< percent in (0, 100]
  std::chrono::milliseconds slow_duration{60000}; ///< a call lasting strictly longer is slow; >= 1 ms
  std::chrono::milliseconds wait_in_open{60000};  ///< >= 1 ms
  bool automatic_half_open = false; ///< move to half-open when the wait ends, without a call (needs the owner actor)
  uint32_t half_open_permits = 10;  ///< >= 1
  std::chrono::milliseconds max_wait_in_half_open{0}; ///< half-open longer than this goes back to open; 0: no limit
};

/// Breaker errors (category `breaker_errc_category`), rendered by name.
enum class breaker_errc : uint8_t {
  invalid_argument = 1, ///< a setting out of range
  circuit_open,         ///< the breaker rejected the call (open, forced open, or no half-open permit left)
};

constexpr caf::atom_value breaker_errc_category = caf::atom("otpp_cb");

std::string to_string(breaker_errc code);
caf::error make_error(breaker_errc code, std::string text = {});

/// An `invalid_argument` error naming the breaker, field and value, or none.
caf::error validate(const breaker_config& config);

/// Resilience4j's events.
enum class event_kind : uint8_t {
  success,
  error,
  ignored_error,
  not_permitted,
  state_transition,
  failure_rate_exceeded,
  slow_call_rate_exceeded,
  reset,
};

std::string to_string(event_kind x);

struct breaker_event {
  event_kind kind;
  breaker_state from = breaker_state::closed; ///< state_transition
  breaker_state to = breaker_state::closed;   ///< state_transition
  std::chrono::nanoseconds duration{0};       ///< success, error
  double failure_rate = 0;                    ///< failure_rate_exceeded, slow_call_rate_exceeded
  double slow_rate = 0;
};

/// The right to make one call, from `try_acquire`; hand it back through
/// `on_success`, `on_error` or `on_ignored` (or hold it in a `scoped_permit`).
struct permit {
  uint64_t phase; ///< the breaker's state and generation when it was given
  bool trial;     ///< one of the half-open permits
};

/// Milliseconds of a monotonic clock (`otpp::steady_ns`).
int64_t steady_ms();

/// A circuit breaker with Resilience4j's semantics, used by any thread
/// without a mailbox: checking a closed breaker is one atomic load;
/// recording an outcome takes a short lock. Outcomes of calls permitted in an
/// earlier state are not recorded in the current one.
class circuit_breaker {
public:
  using clock = std::function<int64_t()>; ///< monotonic milliseconds
  using listener = std::function<void(const breaker_event&)>;

  /// A breaker in CLOSED, or `invalid_argument`.
  static caf::expected<std::shared_ptr<circuit_breaker>> make(breaker_config config, clock now = steady_ms);

  /// A permit, or none (a `not_permitted` event) when the breaker rejects the call.
  std::optional<permit> try_acquire() {
    auto phase = phase_.load(std::memory_order_acquire);
    auto s = state_of(phase);
    if (s == breaker_state::closed || s == breaker_state::disabled)
      return permit{phase, false};
    return acquire_slowly();
  }

  /// The call succeeded after `duration`.
  void on_success(permit p, std::chrono::nanoseconds duration) { record(p, false, duration); }
  /// The call failed after `duration`.
  void on_error(permit p, std::chrono::nanoseconds duration) { record(p, true, duration); }
  /// The call's error does not count: a half-open permit goes back.
  void on_ignored(permit p);

  breaker_state state() const { return state_of(phase_.load(std::memory_order_acquire)); }

  /// Outcomes in the current window (closed: the sliding window; half-open: the trial calls).
  window_totals totals();

  /// Calls rejected so far.
  uint64_t not_permitted_calls() const { return not_permitted_.load(std::memory_order_relaxed); }

  /// Calls reported as succeeded (`on_success`) so far, in any state.
  uint64_t successful_calls() const { return successes_.load(std::memory_order_relaxed); }

  /// Calls reported as failed (`on_error`) so far, in any state.
  uint64_t failed_calls() const { return failures_.load(std::memory_order_relaxed); }

  /// CLOSED with an empty window (a `reset` event).
  void reset();
  void transition_to_closed() { manual(breaker_state::closed); }
  void force_open() { manual(breaker_state::forced_open); }
  void disable() { manual(breaker_state::disabled); }

  /// Applies the transitions that are due without a call: OPEN -> HALF_OPEN
  /// once the wait ended (with `automatic_half_open`), HALF_OPEN -> OPEN after
  /// `max_wait_in_half_open`. Returns when the next one is due (clock
  /// milliseconds), or none.
  std::optional<int64_t> tick();

  /// Calls `fn` for every later event of the `kinds` it asks for (all by
  /// default), in order, outside the breaker's lock, from the thread that
  /// caused it or from the thread delivering events at that moment (never
  /// waiting for it). A listener that throws changes nothing; one that calls
  /// back into the breaker gets the events it causes after it returns.
  /// Events nobody asked for cost nothing. Returns an id for `unsubscribe`.
  uint64_t subscribe(listener fn, std::vector<event_kind> kinds = {});
  void unsubscribe(uint64_t id);

  /// The settings in force (a copy: `reconfigure` may change them meanwhile).
  breaker_config config() const;

  /// The breaker's name (never changes).
  const std::string& name() const { return name_; }

  /// Applies `next` from the next call on and keeps the state (CLOSED, OPEN
  /// since when, HALF_OPEN with its trial calls): thresholds, the slow-call
  /// duration and the waits count from the current state's start; a window
  /// of another kind or size starts empty (otherwise it keeps its
  /// outcomes); a new `half_open_permits` applies from the next HALF_OPEN.
  /// `invalid_argument`, and nothing changes, for invalid settings or
  /// another name. Call the owner's `reconfigure_breaker` instead when an
  /// owner runs the breaker's timers.
  caf::error reconfigure(breaker_config next);

  circuit_breaker(breaker_config config, clock now);

private:
  static breaker_state state_of(uint64_t phase) { return static_cast<breaker_state>(phase & 7); }

  std::optional<permit> acquire_slowly();
  void record(permit p, bool failed, std::chrono::nanoseconds duration);
  void manual(breaker_state to);
  // Under lock_:
  void transition(breaker_state to, int64_t now);
  void check_closed(int64_t now);
  void check_trials(int64_t now);
  void emit(breaker_event e);
  std::optional<int64_t> deadline() const;
  // Without lock_:
  void deliver();

  static caf::error normalize(breaker_config& config);

  const std::string name_;
  breaker_config config_; ///< under lock_
  clock now_;
  alignas(64) std::atomic<uint64_t> phase_; ///< generation << 3 | state; read by every check
  alignas(64) mutable spin_lock lock_;
  std::atomic<uint64_t> successes_{0}; ///< written under lock_, on its cache line
  std::atomic<uint64_t> failures_{0};  ///< written under lock_
  outcome_window window_;  ///< CLOSED
  outcome_window trials_;  ///< HALF_OPEN
  uint32_t permits_left_ = 0;
  int64_t entered_at_ = 0; ///< when the current state began
  std::atomic<uint64_t> not_permitted_{0};

  struct subscription {
    uint64_t id;
    uint32_t kinds; ///< a bit per event_kind
    listener fn;
  };

  std::atomic<uint32_t> wanted_{0};    ///< the kinds some listener asked for
  std::atomic<bool> has_pending_{false};
  std::vector<breaker_event> pending_; ///< under lock_
  std::mutex listeners_mutex_;
  std::vector<subscription> listeners_;
  uint64_t next_listener_ = 1;
  std::atomic<bool> delivering_{false}; ///< one thread delivers at a time; others never wait for it
};

/// A permit that releases itself as ignored unless reported: held by an
/// actor, it is released when the actor dies, so HALF_OPEN never gets stuck.
class scoped_permit {
public:
  scoped_permit(std::shared_ptr<circuit_breaker> breaker, permit p) : breaker_(std::move(breaker)), permit_(p) {}
  scoped_permit(scoped_permit&& other) noexcept : breaker_(std::move(other.breaker_)), permit_(other.permit_) {}
  scoped_permit& operator=(scoped_permit&&) = delete;
  scoped_permit(const scoped_permit&) = delete;
  ~scoped_permit() {
    if (breaker_)
      breaker_->on_ignored(permit_);
  }

  void success(std::chrono::nanoseconds duration) { std::exchange(breaker_, nullptr)->on_success(permit_, duration); }
  void failure(std::chrono::nanoseconds duration) { std::exchange(breaker_, nullptr)->on_error(permit_, duration); }
  void ignore() { std::exchange(breaker_, nullptr)->on_ignored(permit_); }

private:
  std::shared_ptr<circuit_breaker> breaker_;
  permit permit_;
};

} // namespace otpp::breaker
