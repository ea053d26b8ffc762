#include "otpp/actors/memory/memory_manager.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/health/health.hpp"
#include "otpp/actors/named_table.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::memory {

std::string to_string(pressure x) {
  switch (x) {
    case pressure::normal: return "normal";
    case pressure::elevated: return "elevated";
    case pressure::high: return "high";
    case pressure::critical: return "critical";
  }
  return "?";
}

std::string to_string(memory_errc code) {
  switch (code) {
    case memory_errc::invalid_argument: return "invalid_argument";
    case memory_errc::memory_pressure: return "memory_pressure";
  }
  return "unknown_memory_errc";
}

caf::error make_error(memory_errc code, std::string text) {
  return supervision::make_categorized_error(memory_errc_category, static_cast<uint8_t>(code), std::move(text));
}

namespace {

const bool memory_errors_named = [] {
  supervision::add_error_names(memory_errc_category,
                               [](uint8_t code) { return to_string(static_cast<memory_errc>(code)); });
  return true;
}();

using sample_atom = caf::atom_constant<caf::atom("sample")>;

// Level actions registered per actor system with `on_level(sys, ...)`, kept
// outside any one manager so that they outlive its restarts.
struct system_actions {
  struct entry {
    uint64_t id;
    pressure at;
    std::function<void()> run;
  };
  std::mutex mtx;
  std::map<const caf::actor_system*, std::vector<entry>> by_system;
  uint64_t next_id = 1;
};

system_actions& actions_of_systems() {
  static system_actions table;
  return table;
}

// Runs the actions of `sys` that a rise from `from` to `to` reaches.
void run_system_actions(const caf::actor_system* sys, pressure from, pressure to) {
  std::vector<std::function<void()>> due;
  {
    auto& t = actions_of_systems();
    std::lock_guard<std::mutex> guard{t.mtx};
    if (auto i = t.by_system.find(sys); i != t.by_system.end())
      for (auto& e : i->second)
        if (from < e.at && e.at <= to)
          due.push_back(e.run);
  }
  for (auto& run : due) {
    try {
      run();
    } catch (...) {
      // an action's failure changes nothing
    }
  }
}

named_table<memory_manager>& managers() {
  static named_table<memory_manager> table;
  return table;
}

double threshold_of(const memory_config& c, pressure p) {
  switch (p) {
    case pressure::normal: return 0;
    case pressure::elevated: return c.elevated_percent;
    case pressure::high: return c.high_percent;
    case pressure::critical: return c.critical_percent;
  }
  return 0;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

uint64_t machine_total() {
  auto pages = sysconf(_SC_PHYS_PAGES);
  auto page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

// A cgroup limit file's bytes; none for "max" or v1's "unlimited" (near 2^63).
std::optional<uint64_t> parse_limit(const std::optional<std::string>& text) {
  if (!text)
    return std::nullopt;
  std::istringstream in{*text};
  uint64_t bytes = 0;
  if (!(in >> bytes) || bytes >= (uint64_t{1} << 62))
    return std::nullopt;
  return bytes;
}

std::optional<uint64_t> cgroup_limit(const file_reader& read) {
  auto groups = read("/proc/self/cgroup");
  if (!groups)
    return std::nullopt;
  std::istringstream lines{*groups};
  for (std::string line; std::getline(lines, line);) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos)
      continue;
    auto controllers = line.substr(first + 1, second - first - 1);
    auto path = line.substr(second + 1);
    std::optional<uint64_t> found;
    if (line.compare(0, 3, "0::") == 0)
      found = parse_limit(read("/sys/fs/cgroup" + path + "/memory.max"));
    else if (("," + controllers + ",").find(",memory,") != std::string::npos)
      found = parse_limit(read("/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes"));
    if (found)
      return found;
  }
  // Inside a cgroup namespace the own group is the mount's root.
  if (auto v2 = parse_limit(read("/sys/fs/cgroup/memory.max")))
    return v2;
  return parse_limit(read("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
}

// The name of the node's memory manager: its registered name, its events' `manager`, its metrics' label.
constexpr const char* manager_name = "memory";

// The manager's metric series, for as long as its owner lives.
std::vector<std::shared_ptr<perf::gauge>> memory_series(const std::shared_ptr<memory_manager>& m) {
  namespace fam = perf::families;
  auto& r = perf::metrics();
  return {
    r.gauge_of(fam::memory_bytes, {manager_name}, [m] { return static_cast<double>(m->used_bytes()); }),
    r.gauge_of(fam::memory_limit_bytes, {manager_name}, [m] { return static_cast<double>(m->limit_bytes()); }),
    r.gauge_of(fam::memory_level, {manager_name}, [m] { return static_cast<double>(m->level()); }),
  };
}

caf::behavior memory_owner(caf::event_based_actor* self, std::shared_ptr<memory_manager> owned) {
  auto series = std::make_shared<std::vector<std::shared_ptr<perf::gauge>>>(memory_series(owned));
  self->attach_functor([series] { series->clear(); });
  self->delayed_send(self, owned->config().sample_interval, sample_atom::value);
  return {
    [self, owned](sample_atom) {
      owned->sample();
      self->delayed_send(self, owned->config().sample_interval, sample_atom::value); // it may have been reconfigured
    },
  };
}

} // namespace

caf::error validate(const memory_config& c) {
  auto invalid = [](const std::string& what) { return make_error(memory_errc::invalid_argument, "memory: " + what); };
  if (!(c.elevated_percent > 0 && c.elevated_percent < c.high_percent && c.high_percent < c.critical_percent
        && c.critical_percent <= 100))
    return invalid("thresholds must satisfy 0 < elevated < high < critical <= 100, got "
                   + std::to_string(c.elevated_percent) + ", " + std::to_string(c.high_percent) + ", "
                   + std::to_string(c.critical_percent));
  if (!(c.hysteresis_percent >= 0 && c.hysteresis_percent < c.elevated_percent))
    return invalid("hysteresis_percent must be in [0, elevated_percent), got " + std::to_string(c.hysteresis_percent));
  if (c.sample_interval.count() <= 0)
    return invalid("sample_interval must be > 0 ms, got " + std::to_string(c.sample_interval.count()));
  return {};
}

pressure next_level(const memory_config& c, pressure current, double usage) {
  auto target = pressure::normal;
  for (auto p : {pressure::elevated, pressure::high, pressure::critical})
    if (usage >= threshold_of(c, p))
      target = p;
  if (target >= current)
    return target;
  while (current != pressure::normal && usage < threshold_of(c, current) - c.hysteresis_percent)
    current = static_cast<pressure>(static_cast<uint8_t>(current) - 1);
  return current;
}

uint64_t resolve_limit(const memory_config& config, const file_reader& read) {
  auto total = machine_total();
  if (config.limit_mb > 0)
    return config.limit_mb * 1024 * 1024;
  auto limit = cgroup_limit(read ? read : file_reader{read_file});
  return limit && (*limit < total || total == 0) ? *limit : total;
}

uint64_t resident_bytes() {
  auto statm = read_file("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (statm) {
    std::istringstream in{*statm};
    in >> size >> resident;
  }
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

namespace {

// The limit `config` gives, or why there is none.
caf::expected<uint64_t> checked_limit(const memory_config& config, const file_reader& read) {
  if (auto err = validate(config))
    return err;
  auto limit = resolve_limit(config, read);
  if (limit == 0)
    return make_error(memory_errc::invalid_argument, "memory: cannot tell the memory limit; set limit_mb");
  return limit;
}

} // namespace

caf::expected<std::shared_ptr<memory_manager>> memory_manager::make(memory_config config, sampler sample,
                                                                    const file_reader& read) {
  auto limit = checked_limit(config, read);
  if (!limit)
    return limit.error();
  return std::make_shared<memory_manager>(std::move(config), *limit, std::move(sample));
}

memory_manager::memory_manager(memory_config config, uint64_t limit, sampler sample)
  : config_(std::move(config)), limit_(limit), reject_at_(config_.reject_at), sample_(std::move(sample)) {}

memory_config memory_manager::config() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return config_;
}

caf::error memory_manager::reconfigure(memory_config next, const file_reader& read) {
  auto limit = checked_limit(next, read);
  if (!limit)
    return limit.error();
  std::lock_guard<std::mutex> guard{mutex_};
  limit_.store(*limit, std::memory_order_relaxed);
  reject_at_.store(next.reject_at, std::memory_order_relaxed);
  config_ = std::move(next);
  return {};
}

caf::error memory_manager::refusal(pressure l) const {
  return make_error(memory_errc::memory_pressure, "level " + to_string(l) + " (" + std::to_string(usage_percent())
                                                    + " % of " + std::to_string(limit_bytes() / (1024 * 1024)) + " MiB)");
}

pressure memory_manager::sample() {
  pressure from, to;
  double usage;
  std::vector<std::function<void(pressure, pressure, double)>> listeners;
  std::vector<std::function<void()>> actions;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    auto used = sample_();
    usage = 100.0 * static_cast<double>(used) / static_cast<double>(limit_bytes());
    used_.store(used, std::memory_order_relaxed);
    usage_.store(usage, std::memory_order_relaxed);
    from = level();
    to = next_level(config_, from, usage);
    if (to == from)
      return to;
    level_.store(to, std::memory_order_release);
    listeners = listeners_;
    for (auto& action : actions_)
      if (from < action.at && action.at <= to)
        actions.push_back(action.run);
  }
  // Outside the lock: a subscriber or an action may use the manager.
  events::emit(
    events::memory_level_changed{manager_name, to_string(from), to_string(to), usage, limit_bytes() / (1024 * 1024)});
  auto guarded = [](auto&& fn) {
    try {
      fn();
    } catch (...) {
      // a subscriber's failure changes nothing
    }
  };
  for (auto& fn : listeners)
    guarded([&] { fn(from, to, usage); });
  for (auto& action : actions)
    guarded(action);
  return to;
}

uint64_t memory_manager::on_level(pressure at, std::function<void()> action) {
  std::lock_guard<std::mutex> guard{mutex_};
  actions_.push_back({next_action_, at, std::move(action)});
  return next_action_++;
}

void memory_manager::remove_action(uint64_t id) {
  std::lock_guard<std::mutex> guard{mutex_};
  actions_.erase(std::remove_if(actions_.begin(), actions_.end(), [&](auto& a) { return a.id == id; }),
                 actions_.end());
}

void memory_manager::subscribe(std::function<void(pressure, pressure, double)> fn) {
  std::lock_guard<std::mutex> guard{mutex_};
  listeners_.push_back(std::move(fn));
}

supervision::child_spec memory_child(memory_config config, memory_manager::sampler sample) {
  supervision::child_spec spec;
  spec.id = manager_name;
  spec.name = manager_name;
  spec.start = [config, sample](supervision::start_context& ctx) -> caf::expected<caf::actor> {
    auto created = memory_manager::make(config, sample);
    if (!created)
      return created.error();
    (*created)->subscribe(
      [sys = &ctx.system()](pressure from, pressure to, double) { run_system_actions(sys, from, to); });
    (*created)->sample();
    auto owner = ctx.spawn(memory_owner, *created);
    managers().put_while(ctx.system(), manager_name, *created, owner); // findable, with a level, once the start returns
    health::add_probe(ctx.system(), manager_name, "memory",
                      [m = *created]() -> health::report {
                        auto l = m->level();
                        if (l < pressure::high)
                          return {};
                        auto why = "memory " + to_string(l) + " (" + std::to_string(m->usage_percent()) + " %)";
                        return {l == pressure::critical ? health::status::unhealthy : health::status::degraded, why};
                      },
                      owner);
    return owner;
  };
  return spec;
}

void on_level(caf::actor_system& sys, pressure at, std::function<void()> action, const caf::actor& owner) {
  if (!owner)
    throw std::invalid_argument("memory::on_level: the action needs an owner actor");
  auto& t = actions_of_systems();
  uint64_t id;
  {
    std::lock_guard<std::mutex> guard{t.mtx};
    id = t.next_id++;
    t.by_system[&sys].push_back({id, at, std::move(action)});
  }
  caf::actor_cast<caf::abstract_actor*>(owner)->attach_functor([sys = &sys, id] { // at once if `owner` has ended
    auto& table = actions_of_systems();
    std::lock_guard<std::mutex> guard{table.mtx};
    auto i = table.by_system.find(sys);
    if (i == table.by_system.end())
      return;
    auto& entries = i->second;
    entries.erase(std::remove_if(entries.begin(), entries.end(), [&](auto& e) { return e.id == id; }), entries.end());
    if (entries.empty())
      table.by_system.erase(i);
  });
}

caf::error reconfigure_memory(caf::actor_system& sys, const memory_config& config) {
  auto m = find_memory_manager(sys);
  if (!m)
    return m.error();
  return (*m)->reconfigure(config);
}

caf::expected<std::shared_ptr<memory_manager>> find_memory_manager(caf::actor_system& sys) {
  if (auto m = managers().find_fast(sys, manager_name))
    return m;
  return supervision::make_error(supervision::errc::not_found, "no running memory manager");
}

} // namespace otpp::memory
