#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "otpp/config/node_config.hpp"

/// What moving a running node from one `node_config` to another takes: the
/// difference between the two, as steps in a safe order. Pure.
namespace otpp::config {

/// One component of a node, or one of its node-wide settings.
struct component_ref {
  /// "supervisor", "memory", "limiter", "breaker", "pool", "child", or a
  /// node-wide setting: "logging", "rate_limiting", "http".
  std::string kind;
  std::string name; ///< empty for the memory manager, the root and node-wide settings

  friend bool operator==(const component_ref& a, const component_ref& b) { return a.kind == b.kind && a.name == b.name; }
};

/// One difference between the running configuration and the new one, as a
/// `config_changed` event reports it.
struct config_change {
  enum class what { added, removed, changed, moved };
  what change;
  component_ref component;
  /// For `changed` and `moved`: what differs, one entry per field, as
  /// `size 3 -> 6`; a `[children]` spec or a limiter's algorithm or backend
  /// says the component is restarted or its keys start over.
  std::vector<std::string> details;
};

std::string to_string(config_change::what x);

/// One thing to do to the running node.
struct reload_step {
  enum class action {
    stop,   ///< stop the component (a supervisor: with everything under it), with its shutdown settings
    update, ///< change its settings in place; it keeps running and keeps its state
    start,  ///< start it under `supervisor` as a node start would (a supervisor: with everything under it)
  };
  action act;
  component_ref component;
  std::string supervisor; ///< stop: where it runs now; start: where it goes ("" is the root)
};

std::string to_string(reload_step::action x);

/// The difference between a running configuration and a new one.
struct reload_plan {
  /// Changes a running node cannot make (`[cluster]`, `[node] name` and
  /// scheduler, `[demo]`), each with the reason; when any, nothing may be applied.
  std::vector<std::string> refused;
  /// What differs, in the order of `steps`.
  std::vector<config_change> changes;
  /// In order: node-wide logging, stops (reverse start order of the running
  /// tree: what a supervisor started last stops first), updates in place,
  /// starts (start order of the new tree), then the HTTP endpoint.
  std::vector<reload_step> steps;
  /// Components and settings present in both and identical.
  std::size_t unchanged = 0;

  /// `reload: 3 changed, 1 added, 1 removed, 17 unchanged` (moved counts as changed).
  std::string summary() const;
};

/// The plan that takes a node running `running` to `next`. Both are loaded
/// and valid. A component is identified by its kind and name; one whose
/// supervisor changed is stopped and started under the new one, as is a
/// `[children]` entry whose spec changed and a limiter whose algorithm or
/// backend changed (its keys start over); every other change is made in place.
/// Components under a supervisor that is stopped or started are stopped or
/// started with it.
reload_plan plan_reload(const node_config& running, const node_config& next);

} // namespace otpp::config
