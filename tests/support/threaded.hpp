#pragma once

#include <atomic>
#include <thread>
#include <vector>

#include <caf/actor_system_config.hpp>

#include "otpp/supervision/system_setup.hpp"

namespace otpp::test {

/// An actor system config for threaded tests: CAF's real scheduler, otpp's
/// error names, no CAF console log.
struct threaded_config : caf::actor_system_config {
  threaded_config() {
    set("logger.console", caf::atom("none"));
    otpp::add_otpp_types(*this);
  }
};

/// Load threads of a test: told to stop (`stop` becomes true) and joined
/// when this goes, also when a REQUIRE fails while they run.
struct stopping_threads {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;

  ~stopping_threads() { join(); }
  void join() {
    stop = true;
    for (auto& t : threads)
      if (t.joinable())
        t.join();
  }
};

} // namespace otpp::test
