#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "otpp/actors/rate_limit/decision.hpp"

namespace otpp::rate_limit {

/// One node's blocks: units of a shared limit (window counts, tokens, bucket
/// room) that a hit took from Redis beyond its cost, kept for the node's later
/// hits on the same key. Thread-safe; time is the caller's local clock.
///
/// A key is hot when it is asked for again within one lease of the last ask:
/// its next ask wants twice the last block (at most `max_block`), a block
/// left partly unused halves it, a key asked for after a lease or more asks
/// for its cost alone. One hit per key at a time asks for a block; the
/// node's other hits on that key wait for its answer (single flight). A block
/// is used until its local end (at most one lease after its ask), then `due`
/// hands its unused part back.
class block_book {
public:
  /// What a node gives back to the server: the units its block reserved,
  /// the units it did not use, and when the server's lease ends (Redis time).
  struct lease {
    uint64_t reserved = 0;
    uint64_t unused = 0;
    millis until = 0;
  };

  /// What a hit the book could not admit asks the server for: up to `want`
  /// units at once (its cost included), after giving `back` back.
  struct ask {
    uint64_t want = 0;
    lease back;
    bool reserving = false;          ///< wants a block: `answered` must follow
    std::optional<uint64_t> admitted; ///< admitted from the block another hit's ask brought: no ask
  };

  /// `counts_down`: the decision count falls with each hit (tokens left);
  /// else it rises (a window's count, a bucket's level).
  block_book(uint64_t max_block, millis lease_ms, bool counts_down);

  /// Admits a hit of `cost` from the block of `key` while it lasts: the
  /// decision count (the count the node last learnt from the server, moved
  /// by the node's hits since); nothing when the server must be asked.
  std::optional<uint64_t> take(const std::string& key, uint64_t cost, millis now);

  /// The ask of a hit `take` did not admit; the block of `key`, if any,
  /// leaves the book and goes back with it. While another hit on `key` asks
  /// for a block, waits for its answer (until `wait_until` at most), then
  /// takes from the new block when it can. `now` reads the local clock.
  ask asking(const std::string& key, uint64_t cost, const std::function<millis()>& now,
             std::chrono::steady_clock::time_point wait_until);

  /// The server's answer to a reserving ask: `reserved` units beyond the
  /// hit's cost (0: none, or the call failed), usable until `local_end`, the
  /// server's lease ending at `until`; `count`: the hit's decision count.
  void answered(const std::string& key, uint64_t reserved, millis local_end, millis until, uint64_t count);

  /// Removes the blocks whose local end has come (to give back) and forgets
  /// keys not asked for within a lease.
  std::vector<std::pair<std::string, lease>> due(millis now);

  /// Removes the block of `key`, to give back (reserved 0: none).
  lease release(const std::string& key);

  /// Removes every block, to give back.
  std::vector<std::pair<std::string, lease>> release_all();

  /// Keys the book remembers (with a block or recently asked for).
  std::size_t size() const { return size_.load(std::memory_order_relaxed); }

private:
  struct entry {
    uint64_t left = 0;     // units of the block not used yet
    uint64_t reserved = 0; // units the block reserved; 0: no block
    millis local_end = 0;
    millis until = 0;
    uint64_t count = 0;
    uint64_t size = 1; // units the next reserving ask wants
    millis last_ask = 0;
    bool asking = false;
  };
  struct alignas(64) shard {
    std::mutex mutex;
    std::condition_variable answer; // an ask was answered
    int waiting = 0;
    std::unordered_map<std::string, entry> keys;
  };
  static constexpr std::size_t shards = 64;

  shard& shard_of(const std::string& key);
  static lease take_block(entry& e);
  std::optional<uint64_t> admit(entry& e, uint64_t cost, millis now);

  uint64_t max_block_;
  millis lease_ms_;
  bool counts_down_;
  std::array<shard, shards> shards_;
  std::atomic<std::size_t> size_{0};
};

} // namespace otpp::rate_limit
