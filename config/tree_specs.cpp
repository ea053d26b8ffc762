#include "otpp/config/tree_specs.hpp"

#include "otpp/actors/breaker/breaker_owner.hpp"
#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/rate_limit/limiter_owner.hpp"
#include "otpp/config/node.hpp"
#include "otpp/supervision/kinds.hpp"

namespace otpp::config {

namespace {

// The spec of a child of a registered kind; a template's has no registered name.
supervision::child_spec kind_child(const child_section& child, bool is_template) {
  supervision::child_spec spec;
  spec.id = child.name;
  spec.name = is_template ? "" : child.name;
  spec.restart = child.restart;
  spec.shutdown = child.shutdown;
  spec.significant = child.significant;
  auto kind = supervision::find_child_kind(child.kind);
  spec.start = [kind, args = child.args](supervision::start_context& ctx) -> caf::expected<caf::actor> {
    if (!kind)
      return kind.error();
    return kind->start(ctx, args);
  };
  return spec;
}

supervision::child_spec limiter_spec(const node_config& c, const rate_limit::limiter_config& l) {
  return c.rate_limiting.backend == "redis"
           ? rate_limit::limiter_child(l, c.rate_limiting.redis, c.rate_limiting.cleanup_interval)
           : rate_limit::limiter_child(l, c.rate_limiting.cleanup_interval);
}

} // namespace

supervision::supervisor_config supervisor_config_of(const node_config& c, const std::string& name) {
  auto* section = name.empty() ? &c.root : find_section(c.supervisors, name);
  supervision::supervisor_config tree{name.empty() ? c.name : name, section->flags, {}};
  if (section->child_template)
    tree.children.push_back(kind_child(*section->child_template, true));
  if (name.empty() && c.memory)
    tree.children.push_back(memory::memory_child(*c.memory));
  for (auto& l : c.limiters)
    if (l.supervisor == name)
      tree.children.push_back(limiter_spec(c, l.config));
  for (auto& b : c.breakers)
    if (b.supervisor == name)
      tree.children.push_back(breaker::breaker_child(b.config));
  for (auto& p : c.pools)
    if (p.supervisor == name)
      tree.children.push_back(pool::pool_child(p.config));
  for (auto& child : c.children)
    if (child.supervisor == name)
      tree.children.push_back(kind_child(child, false));
  for (auto& s : c.supervisors)
    if (s.parent == name)
      tree.children.push_back(supervision::supervisor_child(s.name, supervisor_config_of(c, s.name)));
  return tree;
}

supervision::supervisor_config build_tree(const node_config& c) { return supervisor_config_of(c, ""); }

supervision::child_spec spec_of(const node_config& c, const component_ref& component) {
  auto& [kind, name] = component;
  if (kind == "memory")
    return memory::memory_child(*c.memory);
  if (kind == "limiter")
    return limiter_spec(c, find_component(c.limiters, name)->config);
  if (kind == "breaker")
    return breaker::breaker_child(find_component(c.breakers, name)->config);
  if (kind == "pool")
    return pool::pool_child(find_component(c.pools, name)->config);
  if (kind == "child")
    return kind_child(*find_section(c.children, name), false);
  return supervision::supervisor_child(name, supervisor_config_of(c, name));
}

} // namespace otpp::config
