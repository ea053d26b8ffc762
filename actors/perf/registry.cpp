#include "otpp/actors/perf/registry.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

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

std::vector<uint64_t> histogram::cumulative_counts(const std::vector<uint64_t>& bounds_ns, uint64_t& total) const {
  std::vector<uint64_t> out;
  total = 0;
  auto bound = bounds_ns.begin();
  for (std::size_t i = 0; i < bucket_count; ++i) {
    for (; bound != bounds_ns.end() && upper_bound_of(i) > *bound; ++bound)
      out.push_back(total);
    total += counts_[i].load(std::memory_order_relaxed);
  }
  for (; bound != bounds_ns.end(); ++bound)
    out.push_back(total);
  return out;
}

std::size_t counter::next_stripe() {
  static std::atomic<std::size_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) % stripe_count;
}

uint64_t counter::value() const {
  uint64_t total = 0;
  for (auto& s : stripes_)
    total += s.value.load(std::memory_order_relaxed);
  return total;
}

const char* to_string(metric_type x) {
  switch (x) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

const std::vector<double>& histogram_bounds_seconds() {
  static const std::vector<double> bounds{1e-6,   2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4,
                                          5e-4,   1e-3,   2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1,
                                          0.25,   0.5,    1.0,  2.5,  5.0,  10.0};
  return bounds;
}

namespace {

bool valid_name(const std::string& name, bool colon) {
  auto first = [&](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'); };
  auto next = [&](char c) { return first(c) || (c >= '0' && c <= '9'); };
  return !name.empty() && first(name[0]) && std::all_of(name.begin() + 1, name.end(), next);
}

// Throws std::invalid_argument unless `f` is a family Prometheus accepts.
void check_family(const family& f) {
  if (!valid_name(f.name, true))
    throw std::invalid_argument("metric name \"" + f.name + "\" is not [a-zA-Z_:][a-zA-Z0-9_:]*");
  for (auto& label : f.label_names) {
    if (!valid_name(label, false) || label.rfind("__", 0) == 0)
      throw std::invalid_argument("metric " + f.name + ": label name \"" + label
                                  + "\" is not [a-zA-Z_][a-zA-Z0-9_]* or starts with __");
    if (f.type == metric_type::histogram && label == "le")
      throw std::invalid_argument("metric " + f.name + ": a histogram cannot have a label \"le\"");
    if (std::count(f.label_names.begin(), f.label_names.end(), label) > 1)
      throw std::invalid_argument("metric " + f.name + ": label name \"" + label + "\" appears twice");
  }
}

const std::vector<uint64_t>& histogram_bounds_ns() {
  static const auto bounds = [] {
    std::vector<uint64_t> ns;
    for (double le : histogram_bounds_seconds())
      ns.push_back(static_cast<uint64_t>(le * 1e9 + 0.5));
    return ns;
  }();
  return bounds;
}

} // namespace

// The series of one family, by label values.
struct registry::entry {
  // One series: at most one of the three is set; weak, so that a series
  // ends with its last holder.
  struct slot {
    std::weak_ptr<counter> counted;
    std::weak_ptr<histogram> recorded;
    std::weak_ptr<gauge> read; ///< gauges and counters read from their component

    template <class Metric>
    std::weak_ptr<Metric>& of() {
      if constexpr (std::is_same_v<Metric, counter>)
        return counted;
      else if constexpr (std::is_same_v<Metric, histogram>)
        return recorded;
      else
        return read;
    }
    bool live() const { return !counted.expired() || !recorded.expired() || !read.expired(); }
  };

  family info;
  std::map<label_values, slot> series;
};

registry::registry() = default;
registry::~registry() = default;

template <class Metric, class Make>
std::shared_ptr<Metric> registry::series_of(const family& f, label_values labels, metric_type type, Make make) {
  if (f.type != type)
    throw std::invalid_argument("metric " + f.name + " is a " + to_string(f.type) + ", not a " + to_string(type));
  if (labels.size() != f.label_names.size())
    throw std::invalid_argument("metric " + f.name + " takes " + std::to_string(f.label_names.size())
                                + " label values, not " + std::to_string(labels.size()));
  std::lock_guard<std::mutex> guard{mutex_};
  auto& e = families_[f.name];
  if (!e) {
    try {
      check_family(f);
    } catch (...) {
      families_.erase(f.name);
      throw;
    }
    e = std::make_unique<entry>(entry{f, {}});
  } else if (e->info.type != f.type || e->info.label_names != f.label_names) {
    throw std::invalid_argument("metric " + f.name + " already exists with another type or other labels");
  }
  auto& slot = e->series[std::move(labels)];
  auto& mine = slot.template of<Metric>();
  auto live = mine.lock();
  if (!live && slot.live()) // a counter_of counter and a counter_from reader of the same series
    throw std::invalid_argument("metric " + f.name + ": a series is either counted by otpp or read from its component");
  if (!live || std::is_same_v<Metric, gauge>) { // a new reader replaces the old one
    live = make();
    mine = live;
  }
  return live;
}

std::shared_ptr<counter> registry::counter_of(const family& f, label_values labels) {
  return series_of<counter>(f, std::move(labels), metric_type::counter, [] { return std::make_shared<counter>(); });
}

std::shared_ptr<histogram> registry::histogram_of(const family& f, label_values labels) {
  return series_of<histogram>(f, std::move(labels), metric_type::histogram,
                              [] { return std::make_shared<histogram>(); });
}

std::shared_ptr<gauge> registry::gauge_of(const family& f, label_values labels, std::function<double()> read) {
  return series_of<gauge>(f, std::move(labels), metric_type::gauge,
                          [&] { return std::make_shared<gauge>(std::move(read)); });
}

std::shared_ptr<gauge> registry::counter_from(const family& f, label_values labels, std::function<double()> read) {
  return series_of<gauge>(f, std::move(labels), metric_type::counter,
                          [&] { return std::make_shared<gauge>(std::move(read)); });
}

snapshot registry::take_snapshot() {
  // Live series are taken under the lock and read outside it: a gauge may
  // take its component's lock. Ended series are forgotten on the way.
  struct taken {
    label_values labels;
    std::shared_ptr<counter> counted;
    std::shared_ptr<histogram> recorded;
    std::shared_ptr<gauge> read;
  };
  std::vector<std::pair<family, std::vector<taken>>> all;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto i = families_.begin(); i != families_.end();) {
      auto& e = *i->second;
      std::vector<taken> series;
      for (auto s = e.series.begin(); s != e.series.end();) {
        taken t{s->first, s->second.counted.lock(), s->second.recorded.lock(), s->second.read.lock()};
        if (t.counted || t.recorded || t.read) {
          series.push_back(std::move(t));
          ++s;
        } else {
          s = e.series.erase(s);
        }
      }
      if (series.empty()) {
        i = families_.erase(i);
        continue;
      }
      all.emplace_back(e.info, std::move(series));
      ++i;
    }
  }
  snapshot s;
  for (auto& [info, series] : all) {
    family_snapshot f{std::move(info), {}};
    for (auto& t : series) {
      series_snapshot x{std::move(t.labels), 0, {}, 0, 0};
      if (t.counted)
        x.value = static_cast<double>(t.counted->value());
      else if (t.read)
        x.value = t.read->value();
      else {
        x.buckets = t.recorded->cumulative_counts(histogram_bounds_ns(), x.count);
        x.sum_seconds = static_cast<double>(t.recorded->sum_ns()) / 1e9;
      }
      f.series.push_back(std::move(x));
    }
    s.families.push_back(std::move(f));
  }
  return s;
}

const series_snapshot* snapshot::find(const std::string& family_name, const label_values& labels) const {
  for (auto& f : families)
    if (f.info.name == family_name)
      for (auto& x : f.series)
        if (x.labels == labels)
          return &x;
  return nullptr;
}

double snapshot::sum(const std::string& family_name, const label_values& match) const {
  double total = 0;
  for (auto& f : families) {
    if (f.info.name != family_name)
      continue;
    for (auto& x : f.series) {
      bool matches = true;
      for (std::size_t i = 0; i < match.size() && i < x.labels.size(); ++i)
        matches = matches && (match[i].empty() || match[i] == x.labels[i]);
      if (matches)
        total += f.info.type == metric_type::histogram ? static_cast<double>(x.count) : x.value;
    }
  }
  return total;
}

registry& metrics() {
  static registry instance;
  return instance;
}

} // namespace otpp::perf
