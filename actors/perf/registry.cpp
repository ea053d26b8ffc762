#include "otpp/actors/perf/registry.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "otpp/supervision/reports.hpp"

namespace otpp::perf {

uint64_t histogram::upper_bound_of(std::size_t index) {
  if (index < 16)
    return index;
  auto e = index / 16 + 3;
  auto sub = index % 16;
  return ((16 + sub + 1) << (e - 4)) - 1;
}

histogram::summary histogram::summarize() const {
  summary s;
  std::array<uint64_t, bucket_count> counts;
  uint64_t total = 0;
  for (std::size_t i = 0; i < bucket_count; ++i)
    total += counts[i] = counts_[i].load(std::memory_order_relaxed);
  s.count = total;
  s.max_ns = max_.load(std::memory_order_relaxed);
  if (total == 0)
    return s;
  s.mean_ns = static_cast<double>(sum_.load(std::memory_order_relaxed)) / static_cast<double>(total);
  auto at = [&](double q) {
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total - 1)) + 1; // 1-based
    uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i)
      if ((seen += counts[i]) >= rank)
        return std::min(upper_bound_of(i), s.max_ns);
    return s.max_ns;
  };
  s.p50_ns = at(0.50);
  s.p90_ns = at(0.90);
  s.p99_ns = at(0.99);
  return s;
}

namespace {


std::string number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", x);
  return buf;
}

} // namespace

std::string snapshot::to_json() const {
  std::string out = "{\"histograms\":{";
  bool first = true;
  for (auto& [name, h] : histograms) {
    out += (first ? "" : ",") + supervision::json_quote(name) + ":{\"count\":" + std::to_string(h.count) + ",\"mean_ns\":"
           + number(h.mean_ns) + ",\"p50_ns\":" + std::to_string(h.p50_ns) + ",\"p90_ns\":" + std::to_string(h.p90_ns)
           + ",\"p99_ns\":" + std::to_string(h.p99_ns) + ",\"max_ns\":" + std::to_string(h.max_ns) + "}";
    first = false;
  }
  out += "},\"counters\":{";
  first = true;
  for (auto& [name, v] : counters) {
    out += (first ? "" : ",") + supervision::json_quote(name) + ":" + std::to_string(v);
    first = false;
  }
  out += "},\"gauges\":{";
  first = true;
  for (auto& [name, v] : gauges) {
    out += (first ? "" : ",") + supervision::json_quote(name) + ":" + number(v);
    first = false;
  }
  return out + "}}";
}

histogram& registry::histogram_of(const std::string& name) {
  // Entries live as long as the registry: each thread remembers the ones it
  // used and takes the shared lock only the first time.
  thread_local std::unordered_map<const registry*, std::unordered_map<std::string, histogram*>> seen;
  auto& mine = seen[this];
  if (auto i = mine.find(name); i != mine.end())
    return *i->second;
  std::lock_guard<std::mutex> guard{mutex_};
  auto& h = histograms_[name];
  if (!h)
    h = std::make_unique<histogram>();
  return *(mine[name] = h.get());
}

counter& registry::counter_of(const std::string& name) {
  thread_local std::unordered_map<const registry*, std::unordered_map<std::string, counter*>> seen;
  auto& mine = seen[this];
  if (auto i = mine.find(name); i != mine.end())
    return *i->second;
  std::lock_guard<std::mutex> guard{mutex_};
  auto& c = counters_[name];
  if (!c)
    c = std::make_unique<counter>();
  return *(mine[name] = c.get());
}

uint64_t registry::add_gauge(const std::string& name, std::function<double()> read) {
  std::lock_guard<std::mutex> guard{mutex_};
  gauges_[next_gauge_] = {name, std::move(read)};
  return next_gauge_++;
}

void registry::remove_gauge(uint64_t id) {
  std::lock_guard<std::mutex> guard{mutex_};
  gauges_.erase(id);
}

snapshot registry::take_snapshot() {
  std::vector<std::pair<std::string, std::function<double()>>> gauges;
  snapshot s;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& [name, h] : histograms_)
      s.histograms[name] = h->summarize();
    for (auto& [name, c] : counters_)
      s.counters[name] = c->value();
    for (auto& [id, g] : gauges_)
      gauges.push_back(g);
  }
  for (auto& [name, read] : gauges) // outside the lock: a gauge may take its component's lock
    s.gauges[name] = read();
  return s;
}

registry& metrics() {
  static registry instance;
  return instance;
}

} // namespace otpp::perf
