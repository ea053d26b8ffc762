#include "otpp/actors/health/health.hpp"

#include <nlohmann/json.hpp>

#include "otpp/actors/events/printable.hpp"
#include "otpp/actors/named_table.hpp"
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

// A child's node, with what its supervisor knows of it.
node row(const supervision::child_info& child, std::string kind) {
  node n;
  n.name = child.id;
  n.kind = std::move(kind);
  n.restarts = child.restarts;
  n.last_reason = child.last_reason;
  return n;
}

node component(caf::actor_system& sys, const supervision::child_info& child) {
  auto n = row(child, "worker");
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

node subtree(caf::actor_system& sys, const caf::actor& sup, node n, std::chrono::milliseconds timeout) {
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
      auto nested = row(child, "supervisor");
      if (child.state == supervision::child_state::running) {
        n.children.push_back(subtree(sys, child.handle, std::move(nested), timeout));
      } else {
        bool restarting = child.state == supervision::child_state::restarting;
        nested.state = restarting ? status::degraded : status::unhealthy;
        nested.reason = restarting ? "waiting for a restart" : "has ended";
        n.children.push_back(std::move(nested));
      }
    } else {
      n.children.push_back(component(sys, child));
    }
  }
  summarize(n);
  return n;
}

// Keys in the order of the struct's fields.
nlohmann::ordered_json json_of(const node& n) {
  auto children = nlohmann::ordered_json::array();
  for (auto& c : n.children)
    children.push_back(json_of(c));
  return {{"name", events::printable(n.name)},
          {"kind", events::printable(n.kind)},
          {"status", to_string(n.state)},
          {"reason", events::printable(n.reason)},
          {"restarts", n.restarts},
          {"last_reason", events::printable(n.last_reason)},
          {"children", std::move(children)}};
}

} // namespace

std::string node::to_json() const {
  return json_of(*this).dump();
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
  node n;
  n.name = root_name;
  n.kind = "supervisor";
  return subtree(sys, root, std::move(n), timeout);
}

} // namespace otpp::health
