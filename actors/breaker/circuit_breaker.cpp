#include "otpp/actors/breaker/circuit_breaker.hpp"

#include <algorithm>

#include "otpp/actors/wall_clock.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::breaker {

std::string to_string(breaker_state x) {
  switch (x) {
    case breaker_state::closed: return "closed";
    case breaker_state::open: return "open";
    case breaker_state::half_open: return "half_open";
    case breaker_state::disabled: return "disabled";
    case breaker_state::forced_open: return "forced_open";
  }
  return "?";
}

std::string to_string(event_kind x) {
  switch (x) {
    case event_kind::success: return "success";
    case event_kind::error: return "error";
    case event_kind::ignored_error: return "ignored_error";
    case event_kind::not_permitted: return "not_permitted";
    case event_kind::state_transition: return "state_transition";
    case event_kind::failure_rate_exceeded: return "failure_rate_exceeded";
    case event_kind::slow_call_rate_exceeded: return "slow_call_rate_exceeded";
    case event_kind::reset: return "reset";
  }
  return "?";
}

std::string to_string(breaker_errc code) {
  switch (code) {
    case breaker_errc::invalid_argument: return "invalid_argument";
    case breaker_errc::circuit_open: return "circuit_open";
  }
  return "unknown_breaker_errc";
}

caf::error make_error(breaker_errc code, std::string text) {
  return supervision::make_categorized_error(breaker_errc_category, static_cast<uint8_t>(code), std::move(text));
}

namespace {

const bool breaker_errors_named = [] {
  supervision::add_error_names(breaker_errc_category,
                               [](uint8_t code) { return to_string(static_cast<breaker_errc>(code)); });
  return true;
}();

// Whether the current window's rates reach a threshold.
struct verdict {
  bool failure;
  bool slow;
};

verdict judge(const window_totals& t, const breaker_config& c) {
  return {t.failure_rate() >= c.failure_threshold, t.slow_rate() >= c.slow_threshold};
}

} // namespace

caf::error validate(const breaker_config& c) {
  auto invalid = [&](const std::string& what) {
    return make_error(breaker_errc::invalid_argument, "breaker '" + c.name + "': " + what);
  };
  auto percent = [](double x) { return x > 0 && x <= 100; };
  if (c.name.empty())
    return invalid("name must not be empty");
  if (c.window_size < 1)
    return invalid("window_size must be >= 1");
  if (c.minimum_calls < 1)
    return invalid("minimum_calls must be >= 1");
  if (!percent(c.failure_threshold))
    return invalid("failure_threshold must be in (0, 100], got " + std::to_string(c.failure_threshold));
  if (!percent(c.slow_threshold))
    return invalid("slow_threshold must be in (0, 100], got " + std::to_string(c.slow_threshold));
  if (c.slow_duration.count() < 1)
    return invalid("slow_duration must be >= 1 ms, got " + std::to_string(c.slow_duration.count()));
  if (c.wait_in_open.count() < 1)
    return invalid("wait_in_open must be >= 1 ms, got " + std::to_string(c.wait_in_open.count()));
  if (c.half_open_permits < 1)
    return invalid("half_open_permits must be >= 1");
  if (c.max_wait_in_half_open.count() < 0)
    return invalid("max_wait_in_half_open must be >= 0 ms, got " + std::to_string(c.max_wait_in_half_open.count()));
  return {};
}

int64_t steady_ms() {
  return steady_ns() / 1'000'000;
}

caf::error circuit_breaker::normalize(breaker_config& config) {
  if (auto err = validate(config))
    return err;
  if (config.window == window_kind::count)
    config.minimum_calls = std::min(config.minimum_calls, config.window_size);
  return {};
}

caf::expected<std::shared_ptr<circuit_breaker>> circuit_breaker::make(breaker_config config, clock now) {
  if (auto err = normalize(config))
    return err;
  return std::make_shared<circuit_breaker>(std::move(config), std::move(now));
}

circuit_breaker::circuit_breaker(breaker_config config, clock now)
  : name_(config.name),
    config_(std::move(config)),
    now_(std::move(now)),
    phase_(static_cast<uint64_t>(breaker_state::closed)),
    window_(config_.window, config_.window_size),
    trials_(window_kind::count, config_.half_open_permits) {}

breaker_config circuit_breaker::config() const {
  std::lock_guard<spin_lock> guard{lock_};
  return config_;
}

caf::error circuit_breaker::reconfigure(breaker_config next) {
  if (next.name != name_)
    return make_error(breaker_errc::invalid_argument,
                      "breaker '" + name_ + "': cannot be renamed to '" + next.name + "'");
  if (auto err = normalize(next))
    return err;
  {
    std::lock_guard<spin_lock> guard{lock_};
    if (next.window != config_.window || next.window_size != config_.window_size)
      window_ = outcome_window(next.window, next.window_size);
    config_ = std::move(next);
  }
  return {};
}

std::optional<permit> circuit_breaker::acquire_slowly() {
  std::optional<permit> result;
  {
    std::lock_guard<spin_lock> guard{lock_};
    auto phase = phase_.load(std::memory_order_relaxed);
    switch (state_of(phase)) {
      case breaker_state::closed:
      case breaker_state::disabled:
        result = permit{phase, false}; // changed meanwhile
        break;
      case breaker_state::forced_open:
        break;
      case breaker_state::open:
      case breaker_state::half_open: {
        auto now = now_();
        if (state_of(phase) == breaker_state::open) {
          if (now <= entered_at_ + config_.wait_in_open.count())
            break; // the wait must have passed strictly
          transition(breaker_state::half_open, now);
        } else if (config_.max_wait_in_half_open.count() > 0
                   && now >= entered_at_ + config_.max_wait_in_half_open.count()) {
          transition(breaker_state::open, now);
          break;
        }
        if (permits_left_ > 0) {
          --permits_left_;
          result = permit{phase_.load(std::memory_order_relaxed), true};
        }
        break;
      }
    }
    if (!result) {
      not_permitted_.fetch_add(1, std::memory_order_relaxed);
      emit({event_kind::not_permitted});
    }
  }
  deliver();
  return result;
}

void circuit_breaker::record(permit p, bool failed, std::chrono::nanoseconds duration) {
  // The count is written under the lock the call takes anyway: a plain store, no read-modify-write.
  auto& count = failed ? failures_ : successes_;
  if (state_of(p.phase) == breaker_state::disabled) { // records nothing, tells nothing; only counted
    std::lock_guard<spin_lock> guard{lock_};
    count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return;
  }
  {
    std::lock_guard<spin_lock> guard{lock_};
    bool slow = duration > config_.slow_duration;
    count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    emit({failed ? event_kind::error : event_kind::success, breaker_state::closed, breaker_state::closed, duration});
    if (p.phase == phase_.load(std::memory_order_relaxed)) { // not from an earlier state
      auto state = state_of(p.phase);
      if (state == breaker_state::closed) {
        auto now = config_.window == window_kind::time ? now_() : 0;
        window_.record(failed, slow, now);
        check_closed(now);
      } else if (state == breaker_state::half_open && p.trial) {
        trials_.record(failed, slow, 0);
        check_trials(now_());
      }
    }
  }
  deliver();
}

void circuit_breaker::on_ignored(permit p) {
  if (state_of(p.phase) == breaker_state::disabled)
    return;
  {
    std::lock_guard<spin_lock> guard{lock_};
    emit({event_kind::ignored_error});
    if (p.trial && p.phase == phase_.load(std::memory_order_relaxed))
      ++permits_left_;
  }
  deliver();
}

window_totals circuit_breaker::totals() {
  std::lock_guard<spin_lock> guard{lock_};
  if (state_of(phase_.load(std::memory_order_relaxed)) == breaker_state::half_open)
    return trials_.totals(0);
  return window_.totals(config_.window == window_kind::time ? now_() : 0);
}

void circuit_breaker::reset() {
  {
    std::lock_guard<spin_lock> guard{lock_};
    auto now = now_();
    if (state() != breaker_state::closed)
      transition(breaker_state::closed, now);
    window_.clear();
    emit({event_kind::reset});
  }
  deliver();
}

void circuit_breaker::manual(breaker_state to) {
  {
    std::lock_guard<spin_lock> guard{lock_};
    transition(to, now_());
  }
  deliver();
}

std::optional<int64_t> circuit_breaker::tick() {
  std::optional<int64_t> next;
  {
    std::lock_guard<spin_lock> guard{lock_};
    auto now = now_();
    auto state = this->state();
    if (state == breaker_state::open && config_.automatic_half_open
        && now >= entered_at_ + config_.wait_in_open.count())
      transition(breaker_state::half_open, now);
    else if (state == breaker_state::half_open && config_.max_wait_in_half_open.count() > 0
             && now >= entered_at_ + config_.max_wait_in_half_open.count())
      transition(breaker_state::open, now);
    next = deadline();
  }
  deliver();
  return next;
}

std::optional<int64_t> circuit_breaker::deadline() const {
  auto state = state_of(phase_.load(std::memory_order_relaxed));
  if (state == breaker_state::open && config_.automatic_half_open)
    return entered_at_ + config_.wait_in_open.count();
  if (state == breaker_state::half_open && config_.max_wait_in_half_open.count() > 0)
    return entered_at_ + config_.max_wait_in_half_open.count();
  return std::nullopt;
}

void circuit_breaker::transition(breaker_state to, int64_t now) {
  auto phase = phase_.load(std::memory_order_relaxed);
  auto from = state_of(phase);
  entered_at_ = now;
  if (to == breaker_state::closed)
    window_.clear();
  if (to == breaker_state::half_open) {
    trials_ = outcome_window(window_kind::count, config_.half_open_permits); // the permits may have changed
    permits_left_ = config_.half_open_permits;
  }
  phase_.store(((phase >> 3) + 1) << 3 | static_cast<uint64_t>(to), std::memory_order_release);
  emit({event_kind::state_transition, from, to});
}

void circuit_breaker::check_closed(int64_t now) {
  auto t = window_.totals(now);
  if (t.calls < config_.minimum_calls)
    return;
  auto v = judge(t, config_);
  if (!v.failure && !v.slow)
    return;
  if (v.failure)
    emit({event_kind::failure_rate_exceeded, breaker_state::closed, breaker_state::closed, {}, t.failure_rate(),
          t.slow_rate()});
  if (v.slow)
    emit({event_kind::slow_call_rate_exceeded, breaker_state::closed, breaker_state::closed, {}, t.failure_rate(),
          t.slow_rate()});
  transition(breaker_state::open, now_());
}

void circuit_breaker::check_trials(int64_t now) {
  auto t = trials_.totals(0);
  if (t.calls < std::min(config_.minimum_calls, config_.half_open_permits))
    return;
  auto v = judge(t, config_);
  transition(v.failure || v.slow ? breaker_state::open : breaker_state::closed, now);
}

void circuit_breaker::emit(breaker_event e) {
  if (wanted_.load(std::memory_order_relaxed) & (1u << static_cast<unsigned>(e.kind))) {
    pending_.push_back(e);
    has_pending_.store(true, std::memory_order_seq_cst); // see deliver()
  }
}

uint64_t circuit_breaker::subscribe(listener fn, std::vector<event_kind> kinds) {
  uint32_t mask = 0;
  for (auto k : kinds)
    mask |= 1u << static_cast<unsigned>(k);
  std::lock_guard<std::mutex> guard{listeners_mutex_};
  listeners_.push_back({next_listener_, kinds.empty() ? ~0u : mask, std::move(fn)});
  wanted_ |= listeners_.back().kinds;
  return next_listener_++;
}

void circuit_breaker::unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> guard{listeners_mutex_};
  listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(), [&](auto& l) { return l.id == id; }),
                   listeners_.end());
  uint32_t mask = 0;
  for (auto& l : listeners_)
    mask |= l.kinds;
  wanted_ = mask;
}

void circuit_breaker::deliver() {
  // One deliverer at a time takes the events in the order they were made.
  // Nobody waits for it: a thread that finds it busy leaves its events to
  // it, and it looks again after letting go, so no event is left behind.
  // That is Dekker's pattern (each side stores its flag, then loads the
  // other's): every one of the four accesses is seq_cst, since release
  // stores and acquire loads let a store pass a later load (x86 does) and
  // both sides could miss each other, leaving an event for the next call.
  while (has_pending_.load(std::memory_order_seq_cst)) {
    if (delivering_.exchange(true, std::memory_order_seq_cst))
      return;
    for (;;) {
      std::vector<breaker_event> batch;
      {
        std::lock_guard<spin_lock> guard{lock_};
        batch.swap(pending_);
        has_pending_.store(false, std::memory_order_relaxed);
      }
      if (batch.empty())
        break;
      std::vector<subscription> targets;
      {
        std::lock_guard<std::mutex> guard{listeners_mutex_};
        targets = listeners_;
      }
      for (auto& e : batch)
        for (auto& l : targets) {
          if (!(l.kinds & (1u << static_cast<unsigned>(e.kind))))
            continue;
          try {
            l.fn(e);
          } catch (...) {
            // a listener's failure changes nothing
          }
        }
    }
    delivering_.store(false, std::memory_order_seq_cst);
  }
}

} // namespace otpp::breaker
