#include "otpp/actors/health/health.hpp"

#include <cstdio>

#include "otpp/actors/named_table.hpp"
#include "otpp/supervision/reports.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor_api.hpp"

namespace otpp::health {

std::string to_string(status x) {
  switch (x) {
    case status::healthy: return "healthy";
    case status::degraded: return "degraded";
    case status::unhealthy: return "unhealthy";
  }
  return "?";
}

namespace {

struct probe_entry {
  std::string kind;
  std::function<report()> probe;
};

named_table<probe_entry>& probes() {
  static named_table<probe_entry> table;
  return table;
}


// The worst child decides, with its reason.
void summarize(node& n) {
  for (auto& c : n.children)
    if (c.state > n.state) {
      n.state = c.state;
      n.reason = c.name + ": " + c.reason;
    }
}

node component(caf::actor_system& sys, const supervision::child_info& child) {
  node n{child.id, "worker", status::healthy, {}, {}};
  if (auto p = probes().find(sys, child.id)) {
    n.kind = p->kind;
    try {
      auto r = p->probe();
      n.state = r.state;
      n.reason = r.reason;
    } catch (const std::exception& e) {
      n.state = status::unhealthy;
      n.reason = std::string{"health probe failed: "} + e.what();
    }
  }
  if (child.state == supervision::child_state::restarting && n.state < status::degraded) {
    n.state = status::degraded;
    n.reason = "waiting for a restart";
  } else if (child.state == supervision::child_state::terminated && n.reason.empty()) {
    n.reason = "not running";
  }
  return n;
}

node subtree(caf::actor_system& sys, const caf::actor& sup, const std::string& name,
             std::chrono::milliseconds timeout) {
  node n{name, "supervisor", status::healthy, {}, {}};
  auto children = sup ? supervision::blocking::which_children(sys, sup, timeout)
                      : caf::expected<std::vector<supervision::child_info>>{caf::sec::invalid_argument};
  if (!children) {
    n.state = status::unhealthy;
    n.reason = sup ? "supervisor does not answer: " + supervision::describe(children.error())
                   : "supervisor has ended";
    return n;
  }
  for (auto& child : *children) {
    if (child.type == supervision::child_type::supervisor) {
      if (child.state == supervision::child_state::running) {
        n.children.push_back(subtree(sys, child.handle, child.id, timeout));
      } else {
        bool restarting = child.state == supervision::child_state::restarting;
        n.children.push_back(node{child.id, "supervisor", restarting ? status::degraded : status::unhealthy,
                                  restarting ? "waiting for a restart" : "has ended", {}});
      }
    } else {
      n.children.push_back(component(sys, child));
    }
  }
  summarize(n);
  return n;
}

} // namespace

std::string node::to_json() const {
  std::string out = "{\"name\":" + supervision::json_quote(name) + ",\"kind\":" + supervision::json_quote(kind) + ",\"status\":"
                    + supervision::json_quote(to_string(state)) + ",\"reason\":" + supervision::json_quote(reason) + ",\"children\":[";
  for (std::size_t i = 0; i < children.size(); ++i)
    out += (i ? "," : "") + children[i].to_json();
  return out + "]}";
}

void add_probe(caf::actor_system& sys, const std::string& name, std::string kind, std::function<report()> probe,
               const caf::actor& owner) {
  auto entry = std::make_shared<probe_entry>(probe_entry{std::move(kind), std::move(probe)});
  probes().put_while(sys, name, entry, owner);
  // The table holds entries weakly: the owner keeps its probe until it ends.
  caf::actor_cast<caf::abstract_actor*>(owner)->attach_functor([entry] {});
}

node check(caf::actor_system& sys, const caf::actor& root, const std::string& root_name,
           std::chrono::milliseconds timeout) {
  return subtree(sys, root, root_name, timeout);
}

} // namespace otpp::health
