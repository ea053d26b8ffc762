#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "otpp/actors/rate_limit/decision.hpp"
#include "otpp/actors/spin_lock.hpp"

namespace otpp::rate_limit {

namespace detail {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "compact_key relies on a little-endian layout");

/// Keys shorter than 16 bytes as two words: their bytes, zero padded, and
/// their length in byte 15. Hashing and comparing such a key costs a few
/// instructions and no call.
struct short_image {
  uint64_t lo = 0;
  uint64_t hi = 0;
  bool operator==(const short_image& other) const { return lo == other.lo && hi == other.hi; }
};

/// The image of `key`; `key.size()` < 16.
[[gnu::always_inline]] inline short_image image_of(std::string_view key) {
  auto n = key.size();
  auto p = reinterpret_cast<const unsigned char*>(key.data());
  short_image img;
  if (n >= 8) {
    std::memcpy(&img.lo, p, 8);
    if (n > 8) { // the last 8 bytes, shifted down to bytes 8..n-1
      std::memcpy(&img.hi, p + n - 8, 8);
      img.hi >>= (16 - n) * 8;
    }
  } else if (n >= 4) { // two overlapping 4-byte loads
    uint32_t first, last;
    std::memcpy(&first, p, 4);
    std::memcpy(&last, p + n - 4, 4);
    img.lo = first | uint64_t{last} << ((n - 4) * 8);
  } else if (n > 0) {
    img.lo = uint64_t{p[0]} | uint64_t{p[n / 2]} << (n / 2 * 8) | uint64_t{p[n - 1]} << ((n - 1) * 8);
  }
  img.hi |= uint64_t{n} << 56;
  return img;
}

/// A random odd number (std::random_device).
uint64_t random_seed();

/// A seed chosen per process, so that nobody can precompute keys that collide.
inline uint64_t hash_seed() {
  static const uint64_t seed = random_seed();
  return seed;
}

[[gnu::always_inline]] inline uint64_t mix(uint64_t a, uint64_t b) {
  __extension__ typedef unsigned __int128 wide;
  auto product = static_cast<wide>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

/// The one hash of a key: its top 8 bits pick the shard, the next 8 are the
/// tag checked before comparing keys, the low bits pick the slot.
[[gnu::always_inline]] inline uint64_t hash_key(std::string_view key) {
  constexpr uint64_t odd = 0x9E3779B97F4A7C15ull;
  if (key.size() < 16) {
    auto img = image_of(key);
    return mix(img.lo ^ hash_seed(), img.hi ^ odd);
  }
  return mix(std::_Hash_bytes(key.data(), key.size(), static_cast<std::size_t>(hash_seed())), key.size() ^ odd);
}

/// A key of any bytes in 16 bytes: shorter than 16 inline (its image), longer
/// ones on the heap. Byte 15 says which: the inline length (0..15), 0x80 (on
/// the heap: the top byte of the length) or 0xFF (no key).
class alignas(8) compact_key {
public:
  compact_key() { raw_[15] = no_key; }
  ~compact_key() { release(); }
  compact_key(const compact_key&) = delete;
  compact_key& operator=(const compact_key&) = delete;

  void assign(std::string_view key) {
    release();
    if (key.size() < 16) {
      auto img = image_of(key);
      std::memcpy(raw_, &img, sizeof img);
    } else {
      heap h{new char[key.size()], key.size() | heap_flag};
      std::memcpy(h.data, key.data(), key.size());
      std::memcpy(raw_, &h, sizeof h);
    }
  }

  void clear() {
    release();
    raw_[15] = no_key;
  }

  bool empty() const { return raw_[15] == no_key; }

  /// True if this is the key whose image is `img` (a key shorter than 16 bytes).
  bool is(const short_image& img) const {
    short_image mine;
    std::memcpy(&mine, raw_, sizeof mine);
    return mine == img;
  }

  /// True if this is `key` (16 bytes or longer).
  bool is_long(std::string_view key) const { return raw_[15] == 0x80 && view() == key; }

  std::string_view view() const {
    if (raw_[15] < 16)
      return {reinterpret_cast<const char*>(raw_), raw_[15]};
    auto h = on_heap();
    return {h.data, static_cast<std::size_t>(h.size & ~heap_flag)};
  }

private:
  struct heap {
    char* data;
    uint64_t size;
  };
  static constexpr unsigned char no_key = 0xFF;
  static constexpr uint64_t heap_flag = uint64_t{0x80} << 56;

  heap on_heap() const {
    heap h;
    std::memcpy(&h, raw_, sizeof h);
    return h;
  }

  void release() {
    if (raw_[15] == 0x80)
      delete[] on_heap().data;
  }

  unsigned char raw_[16];
};

/// One shard's keys: an open-addressing index of 4-byte slots (8-bit tag,
/// 24-bit entry id) over entries {key, state} kept in chunks of 256, so that
/// a key costs its entry plus a few bytes of index. Not thread-safe.
template <class State>
class flat_table {
public:
  /// The state of `key` (hash `h`), or null.
  [[gnu::always_inline]] State* find(std::string_view key, uint64_t h) {
    if (slots_.empty())
      return nullptr;
    auto i = probe(key, h);
    return is_entry(slots_[i]) ? &entry_of(slots_[i]).state : nullptr;
  }

  /// The state of `key`, a fresh one if it was unknown.
  [[gnu::always_inline]] State& find_or_insert(std::string_view key, uint64_t h) {
    if (auto* s = find(key, h))
      return *s;
    return insert(key, h);
  }

  void erase(std::string_view key, uint64_t h) {
    if (slots_.empty())
      return;
    auto i = probe(key, h);
    if (is_entry(slots_[i]))
      drop(i);
  }

  /// Drops every entry whose state satisfies `expired`; returns how many.
  template <class Predicate>
  std::size_t erase_if(Predicate expired) {
    std::size_t dropped = 0;
    for (uint32_t id = 0; id < entries_; ++id) {
      auto& e = entry_at(id);
      if (!e.key.empty() && expired(e.state)) {
        drop(probe(e.key.view(), hash_key(e.key.view())));
        ++dropped;
      }
    }
    if (live_ == 0)
      *this = flat_table{}; // give the memory back
    return dropped;
  }

  std::size_t size() const { return live_; }

private:
  struct entry {
    compact_key key;
    State state;
  };
  static constexpr uint32_t empty = 0;
  static constexpr uint32_t tombstone = 0xFFFFFFFF;
  static constexpr uint32_t max_entries = 0xFFFFFE; // ids + 1 fit in 24 bits, never as a tombstone
  static constexpr std::size_t chunk = 256;

  // Inserts `key`, known to be missing: off the hot path.
  [[gnu::noinline]] State& insert(std::string_view key, uint64_t h) {
    if ((live_ + tombstones_ + 1) * 4 > slots_.size() * 3)
      rebuild((live_ + 1) * 2);
    auto i = free_slot(h);
    if (slots_[i] == tombstone)
      --tombstones_;
    auto id = new_entry();
    auto& e = entry_at(id);
    e.key.assign(key);
    slots_[i] = static_cast<uint32_t>(tag_of(h) << 24 | (id + 1));
    ++live_;
    return e.state;
  }

  static uint64_t tag_of(uint64_t h) { return (h >> 48) & 0xFF; }
  static bool is_entry(uint32_t slot) { return slot != empty && slot != tombstone; }

  entry& entry_at(uint32_t id) { return chunks_[id / chunk][id % chunk]; }
  entry& entry_of(uint32_t slot) { return entry_at((slot & 0xFFFFFF) - 1); }

  // The slot holding `key`, or the empty slot that ends its probe sequence.
  [[gnu::always_inline]] std::size_t probe(std::string_view key, uint64_t h) {
    if (key.size() < 16) {
      auto img = image_of(key);
      return probe(h, [&](const compact_key& k) { return k.is(img); });
    }
    return probe(h, [&](const compact_key& k) { return k.is_long(key); });
  }

  template <class Matches>
  [[gnu::always_inline]] std::size_t probe(uint64_t h, Matches matches) {
    auto mask = slots_.size() - 1;
    auto tag = tag_of(h);
    for (auto i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      auto slot = slots_[i];
      if (slot == empty || (slot != tombstone && slot >> 24 == tag && matches(entry_of(slot).key)))
        return i;
    }
  }

  std::size_t free_slot(uint64_t h) {
    auto mask = slots_.size() - 1;
    auto i = static_cast<std::size_t>(h) & mask;
    while (is_entry(slots_[i]))
      i = (i + 1) & mask;
    return i;
  }

  uint32_t new_entry() {
    if (!free_.empty()) {
      auto id = free_.back();
      free_.pop_back();
      return id;
    }
    if (entries_ == max_entries)
      throw std::length_error("too many keys in one rate-limit shard");
    if (entries_ % chunk == 0)
      chunks_.push_back(std::make_unique<entry[]>(chunk));
    return entries_++;
  }

  void drop(std::size_t slot_index) {
    auto id = (slots_[slot_index] & 0xFFFFFF) - 1;
    auto& e = entry_at(id);
    e.key.clear();
    e.state = State{};
    free_.push_back(id);
    slots_[slot_index] = tombstone;
    --live_;
    ++tombstones_;
  }

  // A fresh index of at least `capacity` slots (a power of two), without tombstones.
  void rebuild(std::size_t capacity) {
    std::size_t n = 16;
    while (n < capacity)
      n *= 2;
    slots_.assign(n, empty);
    tombstones_ = 0;
    for (uint32_t id = 0; id < entries_; ++id) {
      auto& e = entry_at(id);
      if (e.key.empty())
        continue;
      auto h = hash_key(e.key.view());
      slots_[free_slot(h)] = static_cast<uint32_t>(tag_of(h) << 24 | (id + 1));
    }
  }

  std::vector<uint32_t> slots_;
  std::vector<std::unique_ptr<entry[]>> chunks_;
  std::vector<uint32_t> free_; ///< ids of dropped entries, reused first
  uint32_t entries_ = 0;       ///< ids handed out so far
  std::size_t live_ = 0;
  std::size_t tombstones_ = 0;
};

} // namespace detail

/// The keys of one limiter in memory: 256 shards, each a `spin_lock` over a
/// flat hash table from key to the algorithm's per-key state, its copy of
/// the algorithm (the limits) and the counts of the decisions it made.
/// Thread-safe; every operation hashes the key once and locks one shard; a
/// sweep or a change of the algorithm locks one shard at a time.
template <class Algorithm>
class memory_store {
public:
  using state = typename Algorithm::state;

  explicit memory_store(const Algorithm& algorithm) {
    for (auto& s : shards_)
      s.algorithm = algorithm;
  }

  // Inlined into the limiter's hit: left to itself, GCC 12 calls it out of
  // line for the sliding window and the leaky bucket (5 ns more per hit).
  [[gnu::always_inline]] decision hit(std::string_view key, millis now, uint64_t cost) {
    auto h = detail::hash_key(key);
    auto& s = shard_of(h);
    std::lock_guard<otpp::spin_lock> guard{s.lock};
    auto d = s.algorithm.hit(s.keys.find_or_insert(key, h), now, cost);
    auto& count = d.allowed ? s.allowed : s.denied; // written under the lock: no read-modify-write needed
    count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return d;
  }

  /// Runs `fn(algorithm, state*)` under the key's lock; state is null for an unknown key.
  template <class F>
  auto peek(std::string_view key, F fn) {
    auto h = detail::hash_key(key);
    auto& s = shard_of(h);
    std::lock_guard<otpp::spin_lock> guard{s.lock};
    return fn(s.algorithm, s.keys.find(key, h));
  }

  /// Runs `fn(algorithm, state&)` under the key's lock, creating the key if needed.
  template <class F>
  auto update(std::string_view key, F fn) {
    auto h = detail::hash_key(key);
    auto& s = shard_of(h);
    std::lock_guard<otpp::spin_lock> guard{s.lock};
    return fn(s.algorithm, s.keys.find_or_insert(key, h));
  }

  void reset(std::string_view key) {
    auto h = detail::hash_key(key);
    auto& s = shard_of(h);
    std::lock_guard<otpp::spin_lock> guard{s.lock};
    s.keys.erase(key, h);
  }

  /// Drops the keys whose state no longer changes any decision (the
  /// algorithm's `expired`); holds one shard's lock at a time. Returns how
  /// many keys were dropped.
  std::size_t sweep(millis now) {
    std::size_t dropped = 0;
    for (auto& s : shards_) {
      std::lock_guard<otpp::spin_lock> guard{s.lock};
      dropped += s.keys.erase_if([&](state& st) { return s.algorithm.expired(st, now); });
    }
    return dropped;
  }

  /// Decides with `next` from now on, over the states the keys have: each
  /// key's hits after the change (in its shard's lock order) see `next`.
  void reconfigure(const Algorithm& next) {
    for (auto& s : shards_) {
      std::lock_guard<otpp::spin_lock> guard{s.lock};
      s.algorithm = next;
    }
  }

  std::size_t size() {
    std::size_t n = 0;
    for (auto& s : shards_) {
      std::lock_guard<otpp::spin_lock> guard{s.lock};
      n += s.keys.size();
    }
    return n;
  }

  /// Hits allowed so far (each shard's count read once: never decreasing).
  uint64_t allowed_hits() const { return total(&shard::allowed); }

  /// Hits denied so far.
  uint64_t denied_hits() const { return total(&shard::denied); }

private:
  struct alignas(64) shard {
    otpp::spin_lock lock;
    std::atomic<uint64_t> allowed{0};
    std::atomic<uint64_t> denied{0};
    Algorithm algorithm{0, 0}; // read and changed under the lock
    detail::flat_table<state> keys;
  };

  uint64_t total(std::atomic<uint64_t> shard::*count) const {
    uint64_t n = 0;
    for (auto& s : shards_)
      n += (s.*count).load(std::memory_order_relaxed);
    return n;
  }

  shard& shard_of(uint64_t h) { return shards_[h >> 56]; }

  std::array<shard, 256> shards_;
};

} // namespace otpp::rate_limit
