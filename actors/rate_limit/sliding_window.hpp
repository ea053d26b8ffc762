#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "otpp/actors/rate_limit/decision.hpp"

namespace otpp::rate_limit {

/// An exact sliding log: a hit at t with cost c weighs c while now is in
/// [t, t + scale). Allowed iff weight + cost <= limit; denied hits are not
/// recorded. O(log n) per hit: entries keep running sums. Pure. A new
/// object (another limit or scale) goes on with the states of the old one:
/// the recorded hits stay, each weighing for the new scale from its time.
class sliding_window {
public:
  struct entry {
    millis at;
    uint64_t cost;
    uint64_t running; ///< sum of costs up to and including this entry (mod 2^64)
  };

  /// A queue in one vector: popped entries are skipped, then compacted away
  /// (a deque would take half a kilobyte per key).
  class log_queue {
  public:
    bool empty() const { return head_ == items_.size(); }
    const entry& front() const { return items_[head_]; }
    entry& back() { return items_.back(); }
    const entry& back() const { return items_.back(); }
    auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
    auto end() const { return items_.end(); }
    void push_back(const entry& e) { items_.push_back(e); }
    void pop_back() {
      items_.pop_back();
      if (empty())
        clear();
    }
    void pop_front() {
      if (++head_ == items_.size()) {
        clear();
      } else if (head_ >= 16 && head_ * 2 >= items_.size()) {
        items_.erase(items_.begin(), begin());
        head_ = 0;
      }
    }
    void clear() {
      items_.clear();
      head_ = 0;
    }

  private:
    std::vector<entry> items_;
    std::size_t head_ = 0;
  };

  /// Per-key state: the unexpired allowed hits, oldest first.
  struct state {
    log_queue log;
    uint64_t expired_running = 0; ///< running sum of the last expired entry
    millis latest_seen = std::numeric_limits<millis>::min();
  };

  sliding_window(millis scale_ms, uint64_t limit) : scale_(scale_ms), limit_(limit) {}

  decision hit(state& s, millis now, uint64_t cost) const {
    now = clamp_time(s.latest_seen, now);
    expire(s, now);
    if (cost > limit_)
      return decision::deny_forever();
    auto w = weight(s); // may exceed the limit after `set` or `inc`
    if (w <= limit_ - cost) { // cost <= limit: no wrap
      record(s, now, cost);
      return decision::allow(w + cost);
    }
    // The earliest instant enough weight has expired: the first entry whose
    // running sum covers what must go; it stops counting at its time + scale.
    auto must_expire = w - (limit_ - cost);
    auto i = std::partition_point(s.log.begin(), s.log.end(), [&](const entry& e) {
      return e.running - s.expired_running < must_expire;
    });
    return decision::deny(until(i->at, now));
  }

  /// The weight of unexpired hits at `now`.
  uint64_t get(state& s, millis now) const {
    expire(s, now < s.latest_seen ? s.latest_seen : now);
    return weight(s);
  }

  /// The instant the newest hit stops counting (the key is empty from then on).
  millis expires_at(const state& s) const {
    return s.log.empty() ? s.latest_seen : end_of(s.log.back().at);
  }

  bool expired(state& s, millis now) const { return get(s, now) == 0; }

  /// Replaces the log by one hit of weight `weight` at `now`.
  void set(state& s, millis now, uint64_t weight) const {
    now = clamp_time(s.latest_seen, now);
    s.log.clear();
    if (weight > 0)
      record(s, now, weight);
  }

  /// Takes back `cost` of allowed hits whose calls never ran, newest first
  /// (only what has not expired yet); returns the new weight.
  uint64_t refund(state& s, millis now, uint64_t cost) const {
    now = clamp_time(s.latest_seen, now);
    expire(s, now);
    while (cost > 0 && !s.log.empty()) {
      auto& newest = s.log.back();
      auto take = std::min(cost, newest.cost);
      newest.cost -= take;
      newest.running -= take;
      cost -= take;
      if (newest.cost == 0)
        s.log.pop_back();
    }
    return weight(s);
  }

  /// Records `weight` at `now` without checking the limit; returns the new weight.
  uint64_t inc(state& s, millis now, uint64_t weight) const {
    now = clamp_time(s.latest_seen, now);
    expire(s, now);
    record(s, now, std::min(weight, std::numeric_limits<uint64_t>::max() - this->weight(s)));
    return this->weight(s);
  }

private:
  millis end_of(millis at) const {
    return later(at, scale_);
  }

  int64_t until(millis at, millis now) const { return end_of(at) - now; }

  static uint64_t weight(const state& s) {
    return s.log.empty() ? 0 : s.log.back().running - s.expired_running;
  }

  void expire(state& s, millis now) const {
    while (!s.log.empty() && end_of(s.log.front().at) <= now) {
      s.expired_running = s.log.front().running;
      s.log.pop_front();
    }
  }

  static void record(state& s, millis now, uint64_t cost) {
    auto running = (s.log.empty() ? s.expired_running : s.log.back().running) + cost; // mod 2^64 on purpose
    if (!s.log.empty() && s.log.back().at == now) {
      s.log.back().cost += cost;
      s.log.back().running = running;
    } else {
      s.log.push_back({now, cost, running});
    }
  }

  millis scale_;
  uint64_t limit_;
};

} // namespace otpp::rate_limit
