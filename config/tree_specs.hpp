#pragma once

#include <string>

#include "otpp/config/node_config.hpp"
#include "otpp/config/reload_plan.hpp"
#include "otpp/supervision/supervisor.hpp"

/// The child specs a `node_config` describes: what a node starts, and what a
/// reload starts or remembers for a later restart.
namespace otpp::config {

/// Supervisor `name` of `c` ("" is the root, named after the node) with its
/// children in start order: the memory manager (the root only), rate
/// limiters, breakers, pools, `[children.*]`, then nested supervisors, each
/// group in file order. Child kinds are looked up here: register them before.
supervision::supervisor_config supervisor_config_of(const node_config& c, const std::string& name);

/// The child spec that starts `component` of `c` as a node start does (a
/// supervisor: with everything under it). `component` is in `c`.
supervision::child_spec spec_of(const node_config& c, const component_ref& component);

} // namespace otpp::config
