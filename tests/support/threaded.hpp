#pragma once

#include <caf/actor_system_config.hpp>

#include "supervision/system_setup.hpp"

namespace otpp::test {

/// An actor system config for threaded tests: CAF's real scheduler, otpp's
/// error names, no CAF console log.
struct threaded_config : caf::actor_system_config {
  threaded_config() {
    set("logger.console", caf::atom("none"));
    otpp::add_otpp_types(*this);
  }
};

} // namespace otpp::test
