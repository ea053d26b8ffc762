#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

namespace otpp::health {

/// Best first.
enum class status : uint8_t { healthy, degraded, unhealthy };

std::string to_string(status x);

/// What a component says about itself.
struct report {
  status state = status::healthy;
  std::string reason; ///< empty when healthy
};

/// One node of the health tree: a supervisor (with children) or a component.
struct node {
  std::string name;
  std::string kind; ///< "supervisor", "pool", "breaker", "limiter", "memory", or "worker" (no probe)
  status state = status::healthy;
  std::string reason;
  std::vector<node> children;
  std::size_t restarts = 0; ///< restarts its supervisor made of it (0 for the root)
  std::string last_reason;  ///< how it last ended (`describe`); empty if it never ended

  /// {"name":...,"kind":...,"status":...,"reason":...,"restarts":N,"last_reason":...,"children":[...]},
  /// texts with invalid UTF-8 bytes written as `\xNN` (events::printable).
  std::string to_json() const;
};

/// Registers how the component `name` (its child id) reports its health,
/// for as long as `owner` runs. otpp's pools, breakers, limiters and memory
/// manager register themselves; applications may add their own.
void add_probe(caf::actor_system& sys, const std::string& name, std::string kind, std::function<report()> probe,
               const caf::actor& owner);

/// The health of the tree under the supervisor `root`, asked of every
/// supervisor in it (one round trip each, at most `timeout`): a component
/// answers through its probe; a child waiting for a restart is degraded; a
/// supervisor that ended (gave up) or does not answer is unhealthy, and so is
/// everything under it; a supervisor is as bad as its worst child, with that
/// child's reason.
node check(caf::actor_system& sys, const caf::actor& root, const std::string& root_name,
           std::chrono::milliseconds timeout = std::chrono::milliseconds{1000});

} // namespace otpp::health
