#pragma once

#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "tests/support/deterministic.hpp"
#include "tests/support/printers.hpp"
#include "tests/support/scripted_worker.hpp"

namespace otpp::test {

/// A supervisor config with `flags` and one permanent scripted worker per id.
inline supervision::supervisor_config workers(std::shared_ptr<event_log> log,
                                              supervision::supervisor_flags flags,
                                              std::vector<std::string> ids) {
  supervision::supervisor_config config;
  config.name = "sup";
  config.flags = flags;
  for (auto& id : ids)
    config.children.push_back(worker_spec(log, id));
  return config;
}

/// A transient scripted worker that is significant (for auto_shutdown).
inline supervision::child_spec significant_worker(std::shared_ptr<event_log> log, std::string id) {
  auto spec = worker_spec(std::move(log), std::move(id), supervision::restart_type::transient);
  spec.significant = true;
  return spec;
}

inline supervision::supervisor_flags flags_of(supervision::strategy s, int intensity = 1) {
  supervision::supervisor_flags flags;
  flags.strategy = s;
  flags.intensity = intensity;
  return flags;
}

/// Starts a supervisor on the deterministic fixture and runs its children's start.
inline caf::actor start(deterministic& fx, supervision::supervisor_config config) {
  auto sup = supervision::start_supervisor(fx.sys, std::move(config));
  REQUIRE_MESSAGE(sup, supervision::describe(sup.error()));
  fx.run();
  return *sup;
}

inline std::vector<supervision::child_info> children_of(deterministic& fx, const caf::actor& sup) {
  auto rows = fx.ask<std::vector<supervision::child_info>>(sup, supervision::which_children_atom::value);
  REQUIRE(rows);
  return *rows;
}

inline supervision::child_info child_of(deterministic& fx, const caf::actor& sup, const std::string& id) {
  for (auto& row : children_of(fx, sup))
    if (row.id == id)
      return row;
  FAIL("no child " << id);
  return {};
}

/// Makes the child `id` throw "boom ID" and runs until the supervisor reacted.
inline void crash(deterministic& fx, const caf::actor& sup, const std::string& id) {
  auto row = child_of(fx, sup, id);
  REQUIRE(row.handle);
  caf::anon_send(row.handle, crash_atom::value);
  fx.run();
}

} // namespace otpp::test
