#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include "otpp/supervision/child_spec.hpp"

namespace otpp::test {

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;
using tag_atom = caf::atom_constant<caf::atom("tag")>;

/// What test workers did, in order: "start:a", "stop:a:killed", ... Thread-safe;
/// threaded tests wait on it with a bounded timeout.
class event_log {
public:
  void add(std::string event);
  std::vector<std::string> events() const;
  std::vector<std::string> starting_with(const std::string& prefix) const;
  std::size_t count(const std::string& event) const;
  void clear();
  /// Waits until `event` has been logged `times` times; false after `timeout`.
  bool wait_for(const std::string& event, std::size_t times, std::chrono::milliseconds timeout) const;

private:
  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  std::vector<std::string> events_;
};

/// How a scripted worker behaves.
struct worker_script {
  bool trap_exit = false;   ///< ignore shutdown requests (only a kill stops it)
  bool crash_in_init = false;
};

/// A worker that logs "start:TAG" and "stop:TAG:REASON", answers `tag_atom`
/// with its tag (and extra args joined), throws "boom TAG" on `crash_atom`,
/// and quits normally on `finish_atom`.
caf::behavior scripted_worker(caf::event_based_actor* self, std::shared_ptr<event_log> log,
                              std::string tag, worker_script script);

/// A start function for `scripted_worker`; the tag gets the extra args appended.
supervision::start_function start_worker(std::shared_ptr<event_log> log, std::string tag,
                                         worker_script script = {});

/// A start function whose first `successes` calls start a scripted worker,
/// the next `failures` calls fail (logging "start_failed:TAG"), and the rest succeed.
supervision::start_function start_failing(std::shared_ptr<event_log> log, std::string tag,
                                          int failures, int successes = 0);

/// A worker child spec with the given restart type.
supervision::child_spec worker_spec(std::shared_ptr<event_log> log, std::string id,
                                    supervision::restart_type restart = supervision::restart_type::permanent);

/// A worker child spec whose worker ignores shutdown requests, so that only
/// the kill after `shutdown` stops it.
supervision::child_spec stubborn_spec(std::shared_ptr<event_log> log, std::string id,
                                      std::chrono::milliseconds shutdown);

/// A child spec whose start fails once (then succeeds).
supervision::child_spec failing_spec(std::shared_ptr<event_log> log, std::string id);

} // namespace otpp::test
