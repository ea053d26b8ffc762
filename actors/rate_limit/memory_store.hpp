#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "actors/rate_limit/decision.hpp"
#include "actors/spin_lock.hpp"

namespace otpp::rate_limit {

/// The keys of one limiter in memory: 256 shards, each a short spin lock over
/// a hash map from key to the algorithm's per-key state. Thread-safe; every
/// operation locks one shard; a sweep locks one shard at a time.
template <class Algorithm>
class memory_store {
public:
  using state = typename Algorithm::state;

  explicit memory_store(Algorithm algorithm) : algorithm_(std::move(algorithm)) {}

  decision hit(const std::string& key, millis now, uint64_t cost) {
    auto& s = shard_of(key);
    std::lock_guard<spin_lock> guard{s.lock};
    return algorithm_.hit(s.keys[key], now, cost);
  }

  /// Runs `fn(algorithm, state*)` under the key's lock; state is null for an unknown key.
  template <class F>
  auto peek(const std::string& key, F fn) {
    auto& s = shard_of(key);
    std::lock_guard<spin_lock> guard{s.lock};
    auto i = s.keys.find(key);
    return fn(algorithm_, i == s.keys.end() ? nullptr : &i->second);
  }

  /// Runs `fn(algorithm, state&)` under the key's lock, creating the key if needed.
  template <class F>
  auto update(const std::string& key, F fn) {
    auto& s = shard_of(key);
    std::lock_guard<spin_lock> guard{s.lock};
    return fn(algorithm_, s.keys[key]);
  }

  void reset(const std::string& key) {
    auto& s = shard_of(key);
    std::lock_guard<spin_lock> guard{s.lock};
    s.keys.erase(key);
  }

  /// Drops the keys whose state no longer changes any decision (the
  /// algorithm's `expired`); holds one shard's lock at a time. Returns how
  /// many keys were dropped.
  std::size_t sweep(millis now) {
    std::size_t dropped = 0;
    for (auto& s : shards_) {
      std::lock_guard<spin_lock> guard{s.lock};
      for (auto i = s.keys.begin(); i != s.keys.end();) {
        if (algorithm_.expired(i->second, now)) {
          i = s.keys.erase(i);
          ++dropped;
        } else {
          ++i;
        }
      }
    }
    return dropped;
  }

  std::size_t size() {
    std::size_t n = 0;
    for (auto& s : shards_) {
      std::lock_guard<spin_lock> guard{s.lock};
      n += s.keys.size();
    }
    return n;
  }

private:
  struct alignas(64) shard {
    spin_lock lock;
    std::unordered_map<std::string, state> keys;
  };

  shard& shard_of(const std::string& key) {
    return shards_[std::hash<std::string_view>{}(key) % shards_.size()];
  }

  Algorithm algorithm_;
  std::array<shard, 256> shards_;
};

} // namespace otpp::rate_limit
