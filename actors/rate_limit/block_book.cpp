#include "otpp/actors/rate_limit/block_book.hpp"

#include <algorithm>
#include <functional>

namespace otpp::rate_limit {

namespace {

constexpr uint64_t first_size = 2;

} // namespace

block_book::block_book(uint64_t max_block, millis lease_ms, bool counts_down)
  : max_block_(max_block), lease_ms_(lease_ms), counts_down_(counts_down) {}

block_book::shard& block_book::shard_of(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % shards];
}

block_book::lease block_book::take_block(entry& e) {
  lease back{e.reserved, e.left, e.until};
  e.reserved = e.left = 0;
  return back;
}

std::optional<uint64_t> block_book::admit(entry& e, uint64_t cost, millis now) {
  if (e.reserved == 0 || now >= e.local_end || e.left < cost)
    return std::nullopt;
  e.left -= cost;
  e.count = counts_down_ ? e.count - cost : saturating_add(e.count, cost);
  return e.count;
}

std::optional<uint64_t> block_book::take(const std::string& key, uint64_t cost, millis now) {
  auto& s = shard_of(key);
  std::lock_guard<std::mutex> guard{s.mutex};
  auto it = s.keys.find(key);
  if (it == s.keys.end())
    return std::nullopt;
  return admit(it->second, cost, now);
}

block_book::ask block_book::asking(const std::string& key, uint64_t cost, const std::function<millis()>& clock,
                                   std::chrono::steady_clock::time_point wait_until) {
  auto& s = shard_of(key);
  std::unique_lock<std::mutex> lock{s.mutex};
  ask a;
  a.want = cost;
  auto it = s.keys.find(key);
  while (it != s.keys.end() && it->second.asking) {
    ++s.waiting;
    auto answered = s.answer.wait_until(lock, wait_until) == std::cv_status::no_timeout;
    --s.waiting;
    it = s.keys.find(key);
    if (!answered)
      return a; // the ask outlived the wait: ask for the cost alone
    if (it != s.keys.end() && !it->second.asking)
      if ((a.admitted = admit(it->second, cost, clock())))
        return a;
  }
  auto now = clock();
  bool fresh = it == s.keys.end();
  if (fresh) {
    it = s.keys.try_emplace(key).first;
    size_.fetch_add(1, std::memory_order_relaxed);
    it->second.size = first_size;
  }
  auto& e = it->second;
  if ((a.admitted = admit(e, cost, now))) // a block came in since `take`
    return a;
  if (e.reserved > 0) {
    if (now < e.local_end)
      e.size = std::min(max_block_, e.size * 2); // used up within its lease: the key is hot
    else if (e.left > 0)
      e.size = std::max(first_size, e.size / 2);
    a.back = take_block(e);
  }
  bool hot = !fresh && now - e.last_ask < lease_ms_;
  e.last_ask = now;
  if (hot && std::min(e.size, max_block_) > cost) {
    a.want = std::min(e.size, max_block_);
    a.reserving = true;
    e.asking = true;
  }
  return a;
}

void block_book::answered(const std::string& key, uint64_t reserved, millis local_end, millis until,
                          uint64_t count) {
  auto& s = shard_of(key);
  std::lock_guard<std::mutex> guard{s.mutex};
  auto it = s.keys.find(key); // kept while asking: due() never forgets an asking key
  if (it == s.keys.end())
    return;
  auto& e = it->second;
  e.asking = false;
  if (reserved > 0) {
    e.reserved = e.left = reserved;
    e.local_end = local_end;
    e.until = until;
    e.count = count;
  }
  if (s.waiting > 0)
    s.answer.notify_all();
}

std::vector<std::pair<std::string, block_book::lease>> block_book::due(millis now) {
  std::vector<std::pair<std::string, lease>> out;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mutex};
    for (auto it = s.keys.begin(); it != s.keys.end();) {
      auto& e = it->second;
      if (e.reserved > 0 && now >= e.local_end) {
        if (e.left > 0)
          e.size = std::max(first_size, e.size / 2);
        out.emplace_back(it->first, take_block(e));
      }
      if (e.reserved == 0 && !e.asking && now - e.last_ask >= lease_ms_) {
        it = s.keys.erase(it);
        size_.fetch_sub(1, std::memory_order_relaxed);
      } else {
        ++it;
      }
    }
  }
  return out;
}

block_book::lease block_book::release(const std::string& key) {
  auto& s = shard_of(key);
  std::lock_guard<std::mutex> guard{s.mutex};
  auto it = s.keys.find(key);
  if (it == s.keys.end())
    return {};
  return take_block(it->second);
}

std::vector<std::pair<std::string, block_book::lease>> block_book::release_all() {
  std::vector<std::pair<std::string, lease>> out;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mutex};
    for (auto& [key, e] : s.keys)
      if (e.reserved > 0)
        out.emplace_back(key, take_block(e));
  }
  return out;
}

} // namespace otpp::rate_limit
