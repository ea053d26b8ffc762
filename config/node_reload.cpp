#include "otpp/config/node.hpp"

#include <algorithm>
#include <chrono>

#include "otpp/actors/breaker/breaker_owner.hpp"
#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/rate_limit/limiter_owner.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/config/tree_specs.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor_api.hpp"

namespace otpp::config {

namespace {

// Stops wait for the shutdown settings of what they stop (a supervisor's
// children one after the other): a bound only against a stop that hangs.
constexpr std::chrono::minutes stop_patience{10};

std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : "; ") + x;
  return out;
}

// Not found is no failure where the thing to change is gone already (a
// limiter that failed to start and waits for its supervisor's restart).
caf::error unless_gone(caf::error err) {
  return supervision::is(err, supervision::errc::not_found) ? caf::error{} : err;
}

} // namespace

reload_outcome node::reload() { return reload(source().path); }

reload_outcome node::reload(const std::string& path) {
  std::lock_guard<std::mutex> one_at_a_time{reload_mtx_};
  reload_outcome outcome;
  auto rejected = [&](std::vector<std::string> errors) {
    for (auto& e : errors)
      events::emit(events::config_rejected{name_, path, e});
    reloads_rejected_->add();
    outcome.errors = std::move(errors);
    return outcome;
  };
  if (path.empty())
    return rejected({"the node was not started from a file: nothing to reload"});
  auto loaded = load_file(path, process_environment());
  if (!loaded.config) {
    std::vector<std::string> errors;
    for (auto& p : loaded.problems)
      errors.push_back(p.to_string());
    return rejected(std::move(errors));
  }
  auto running = config();
  auto& next = *loaded.config;
  auto plan = plan_reload(running, next);
  if (!plan.refused.empty())
    return rejected(std::move(plan.refused));
  for (auto& c : plan.changes)
    events::emit(events::config_changed{to_string(c.change), c.component.kind, c.component.name, joined(c.details)});
  for (auto& step : plan.steps) {
    auto failed = apply(step, running, next);
    if (failed.empty())
      continue;
    outcome.failures.push_back(to_string(step.act) + " " + step.component.kind + "/" + step.component.name + ": "
                               + failed);
    if (step.component.kind == "http")
      next.http = running.http; // the old endpoint still serves: the next reload tries again
  }
  remember_specs(next);
  {
    std::lock_guard<std::mutex> guard{config_mtx_};
    config_ = next;
    source_.path = path;
    source_.sha256 = loaded.sha256;
    source_.last_reload = std::chrono::system_clock::now();
  }
  outcome.applied = true;
  outcome.summary = plan.summary();
  outcome.changes = std::move(plan.changes);
  outcome.sha256 = loaded.sha256;
  events::emit(events::config_reloaded{name_, path, loaded.sha256, outcome.summary, joined(outcome.failures)});
  reloads_ok_->add();
  return outcome;
}

// The running supervisor `name` ("" is the root) of the tree `c` describes:
// found from the root down, by the ids of the supervisors above it.
caf::expected<caf::actor> node::supervisor_of(const std::string& name, const node_config& c) {
  std::vector<std::string> path;
  for (auto s = name; !s.empty(); s = find_section(c.supervisors, s)->parent)
    path.insert(path.begin(), s);
  auto sup = root_;
  for (auto& id : path) {
    auto children = supervision::blocking::which_children(*system_, sup);
    if (!children)
      return children.error();
    auto child = std::find_if(children->begin(), children->end(), [&](auto& x) { return x.id == id; });
    if (child == children->end() || !child->handle)
      return supervision::make_error(supervision::errc::not_found, "supervisor '" + id + "' is not running");
    sup = child->handle;
  }
  return sup;
}

// Applies one step of a reload; what went wrong, or "".
std::string node::apply(const reload_step& step, const node_config& running, const node_config& next) {
  using supervision::describe;
  auto& what = step.component;
  if (step.act == reload_step::action::update)
    return apply_update(what, next);
  auto& tree = step.act == reload_step::action::stop ? running : next;
  auto sup = supervisor_of(step.supervisor, tree);
  if (!sup)
    return describe(sup.error());
  auto spec = spec_of(tree, what);
  if (step.act == reload_step::action::start) {
    auto started = supervision::blocking::start_child(*system_, *sup, std::move(spec));
    return started ? "" : describe(started.error());
  }
  if (auto err = supervision::blocking::terminate_child(*system_, *sup, spec.id, stop_patience))
    return describe(err);
  if (auto err = supervision::blocking::delete_child(*system_, *sup, spec.id))
    return describe(err);
  return "";
}

std::string node::apply_update(const component_ref& component, const node_config& next) {
  using supervision::describe;
  auto& [kind, name] = component;
  caf::error err;
  if (kind == "logging") {
    err = apply_logging(next.logging, name_);
  } else if (kind == "http") {
    err = rebind_http(next.http);
  } else if (kind == "memory") {
    err = memory::reconfigure_memory(*system_, *next.memory);
  } else if (kind == "breaker") {
    err = breaker::reconfigure_breaker(*system_, find_component(next.breakers, name)->config);
  } else if (kind == "pool") {
    err = pool::reconfigure_pool(*system_, find_component(next.pools, name)->config);
  } else if (kind == "limiter") {
    err = unless_gone(rate_limit::reconfigure_limiter(*system_, find_component(next.limiters, name)->config,
                                                      next.rate_limiting.cleanup_interval));
  } else if (kind == "rate_limiting") {
    std::vector<std::string> failed;
    for (auto& l : next.limiters)
      if (auto e = unless_gone(
            rate_limit::reconfigure_limiter(*system_, l.config, next.rate_limiting.cleanup_interval)))
        failed.push_back(l.config.name + ": " + describe(e));
    return joined(failed);
  } else if (kind == "supervisor") {
    auto sup = supervisor_of(name, next);
    if (!sup)
      return describe(sup.error());
    auto flags = name.empty() ? next.root.flags : find_section(next.supervisors, name)->flags;
    err = supervision::blocking::update_flags(*system_, *sup, flags);
    if (!err && flags.strategy == supervision::strategy::simple_one_for_one)
      err = supervision::blocking::update_child(*system_, *sup, supervisor_config_of(next, name).children.front());
  }
  return err ? describe(err) : "";
}

// Every supervisor keeps the specs of its children for their restarts:
// after a reload they are the new file's, so that a component restarted
// later (or a supervisor with everything under it) comes back as the file
// says now, not as it said at start.
void node::remember_specs(const node_config& next) {
  auto remember = [&](const std::string& name) {
    auto sup = supervisor_of(name, next);
    if (!sup)
      return;
    for (auto& spec : supervisor_config_of(next, name).children)
      supervision::blocking::update_child(*system_, *sup, std::move(spec)); // not_found: it failed to start
  };
  remember("");
  for (auto& s : next.supervisors)
    remember(s.name);
}

// A new listen address binds before the old one is let go; the same one is
// let go first. When the new one cannot listen, the old one stays (started
// again if it was let go) and the failure is reported.
caf::error node::rebind_http(const http_config& next) {
  auto previous = config().http;
  bool same_address = !previous.listen.empty() && previous.listen == next.listen;
  auto retire = [&] {
    if (!http_)
      return;
    http_->stop_listening();
    retired_http_.push_back(std::move(http_));
    http_port_ = 0;
  };
  if (same_address)
    retire();
  if (next.listen.empty()) {
    retire();
    return {};
  }
  auto old = std::move(http_);
  if (auto err = start_http(next)) {
    if (same_address)
      start_http(previous);
    else
      http_ = std::move(old), http_port_ = http_ ? http_->port() : 0;
    return err;
  }
  if (old) {
    old->stop_listening();
    retired_http_.push_back(std::move(old));
  }
  return {};
}

} // namespace otpp::config
