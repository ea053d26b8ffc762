#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "otpp/supervision/child_spec.hpp"

namespace otpp::memory {

/// Memory pressure, lowest first.
enum class pressure : uint8_t { normal, elevated, high, critical };

std::string to_string(pressure x);

/// Thresholds in percent of the limit, each above the previous one.
struct memory_config {
  uint64_t limit_mb = 0;          ///< 0: the cgroup's limit, else the machine's total
  double elevated_percent = 70;
  double high_percent = 80;
  double critical_percent = 95;
  double hysteresis_percent = 5;  ///< a level is left once usage is this far below its threshold
  pressure reject_at = pressure::critical; ///< `check` refuses new work from this level on
  std::chrono::milliseconds sample_interval{1000};
};

/// Memory errors (category `memory_errc_category`), rendered by name.
enum class memory_errc : uint8_t {
  invalid_argument = 1,
  memory_pressure, ///< `check` refused new work; the text names the level
};

constexpr caf::atom_value memory_errc_category = caf::atom("otpp_mem");

std::string to_string(memory_errc code);
caf::error make_error(memory_errc code, std::string text);

/// An `invalid_argument` error naming the field and value, or none.
caf::error validate(const memory_config& config);

/// The level for `usage_percent`, coming from `current`: up at once, down
/// only below a threshold minus the hysteresis. Pure.
pressure next_level(const memory_config& config, pressure current, double usage_percent);

/// Reads a file's contents, or none; injectable for tests.
using file_reader = std::function<std::optional<std::string>(const std::string& path)>;

/// Bytes the process may use: `limit_mb` if set, else the cgroup's limit
/// (v2 `memory.max`, v1 `memory.limit_in_bytes`, for the process's own
/// cgroup from /proc/self/cgroup), else the machine's total; never more than
/// the machine's total.
uint64_t resolve_limit(const memory_config& config, const file_reader& read);

/// Resident bytes of this process, from /proc/self/statm.
uint64_t resident_bytes();

/// The memory manager: samples resident memory against the limit, keeps the
/// current level for any thread to read without a round trip, emits each
/// transition once (`events::memory_level_changed`, manager "memory") and
/// runs the actions registered for the levels it enters. Thread-safe.
class memory_manager {
public:
  using sampler = std::function<uint64_t()>; ///< resident bytes

  /// `sample` defaults to `resident_bytes`, `read` to the real files.
  static caf::expected<std::shared_ptr<memory_manager>> make(memory_config config, sampler sample = resident_bytes,
                                                             const file_reader& read = {});

  /// The current level: one atomic load.
  pressure level() const { return level_.load(std::memory_order_acquire); }

  /// Refuses new work at `reject_at` and above with `memory_pressure`.
  caf::error check() const {
    auto l = level();
    return l >= reject_at_.load(std::memory_order_relaxed) ? refusal(l) : caf::error{};
  }

  /// Samples now; returns the level.
  pressure sample();

  /// Runs `action` (on the sampling thread) each time the level rises to
  /// `at` or above from below it; an action that throws changes nothing.
  /// Returns an id for `remove_action`.
  uint64_t on_level(pressure at, std::function<void()> action);
  void remove_action(uint64_t id);

  /// Calls `fn(from, to, usage_percent)` on every transition.
  void subscribe(std::function<void(pressure, pressure, double)> fn);

  uint64_t limit_bytes() const { return limit_.load(std::memory_order_relaxed); }
  /// Resident bytes at the last sample.
  uint64_t used_bytes() const { return used_.load(std::memory_order_relaxed); }
  double usage_percent() const { return usage_.load(std::memory_order_relaxed); }
  /// The settings in force (a copy: `reconfigure` may change them meanwhile).
  memory_config config() const;

  /// Applies `next` from the next sample on, keeping the current level
  /// (the next sample moves it by the new thresholds, with the hysteresis)
  /// and the registered actions; `check` uses the new `reject_at` at once.
  /// `invalid_argument`, and nothing changes, for invalid settings.
  caf::error reconfigure(memory_config next, const file_reader& read = {});

  memory_manager(memory_config config, uint64_t limit, sampler sample);

private:
  caf::error refusal(pressure l) const;

  memory_config config_; ///< under mutex_
  std::atomic<uint64_t> limit_;
  std::atomic<pressure> reject_at_;
  sampler sample_;
  std::atomic<pressure> level_{pressure::normal};
  std::atomic<uint64_t> used_{0};
  std::atomic<double> usage_{0};
  mutable std::mutex mutex_; ///< one level change at a time; guards the lists below (called outside it)
  struct level_action {
    uint64_t id;
    pressure at;
    std::function<void()> run;
  };
  std::vector<level_action> actions_;
  uint64_t next_action_ = 1;
  std::vector<std::function<void(pressure, pressure, double)>> listeners_;
};

/// A child spec for the actor that owns the node's memory manager and
/// samples every `sample_interval`; while it lives it exports
/// `otpp_memory_bytes`, `otpp_memory_limit_bytes` and `otpp_memory_level`
/// (0 normal, 1 elevated, 2 high, 3 critical) with manager="memory". Id and
/// registered name: "memory".
supervision::child_spec memory_child(memory_config config, memory_manager::sampler sample = resident_bytes);

/// Runs `action` each time the memory level of `sys` (its manager started by
/// `memory_child`) rises to `at` or above from below it, for as long as
/// `owner` lives: across restarts of the manager, and also when registered
/// before the manager starts. Runs on the sampling thread; an action that
/// throws changes nothing. Throws std::invalid_argument without an owner.
void on_level(caf::actor_system& sys, pressure at, std::function<void()> action, const caf::actor& owner);

/// Applies `config` to the running memory manager of `sys` (see
/// `memory_manager::reconfigure`); its owner samples at the new interval
/// from its next sample on. `not_found` without a manager.
caf::error reconfigure_memory(caf::actor_system& sys, const memory_config& config);

/// The running memory manager of `sys`, or `supervision::errc::not_found`.
caf::expected<std::shared_ptr<memory_manager>> find_memory_manager(caf::actor_system& sys);

} // namespace otpp::memory
