#pragma once

#include <caf/actor_system_config.hpp>

namespace otpp {

/// Registers otpp's error categories with `cfg`, so that `actor_system::render`
/// prints otpp errors by name. Call once before constructing the actor system.
void add_otpp_types(caf::actor_system_config& cfg);

} // namespace otpp
