#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include "otpp/supervision/child_spec.hpp"

namespace otpp::supervision {

/// A supervisor to start: its name (the `supervisor` of its events and metrics), flags and children in start order.
/// For `simple_one_for_one`, `children` holds exactly one spec: the template.
struct supervisor_config {
  std::string name;
  supervisor_flags flags;
  std::vector<child_spec> children;
};

/// Validates `config`, spawns the supervisor and starts its children in list
/// order before returning. On any failure the error says why: the flag or
/// spec that is invalid, or `errc::start_failed` naming the child that failed
/// to start (and, nested, its own failing child); it returns only once every
/// child it started has stopped (in reverse order, each with its shutdown
/// policy), so the calling thread waits meanwhile. Called by a supervisor
/// starting a nested one (`supervisor_child`), the parent waits instead,
/// without blocking a thread, before it answers or retries. On CAF's
/// deterministic test coordinator nothing runs until the test runs it, so it
/// returns at once there and the children stop as the test runs the scheduler.
/// The caller owns the returned supervisor: stop it with
/// `send_exit(sup, caf::exit_reason::user_shutdown)` (children stop in reverse order).
caf::expected<caf::actor> start_supervisor(caf::actor_system& sys, supervisor_config config);

/// A child spec that starts a nested supervisor (type supervisor, shutdown
/// infinity, restart permanent; change the fields to taste). Events of the
/// nested supervisor use `config.name`, or `id` when the name is empty.
child_spec supervisor_child(std::string id, supervisor_config config);

/// Whether a child runs, waits for a restart, or has ended without restart.
enum class child_state { running, restarting, terminated };

std::string to_string(child_state x);

/// One row of `which_children`.
struct child_info {
  std::string id;
  caf::actor handle; ///< invalid unless running
  child_type type = child_type::worker;
  child_state state = child_state::terminated;
  std::size_t restarts = 0; ///< restarts the supervisor made of this child
  std::string last_reason;  ///< how it last ended, as `describe` renders it; empty if it never ended
};

/// OTP's `count_children`: specs, running children, and children per type.
struct child_counts {
  std::size_t specs = 0;
  std::size_t active = 0;
  std::size_t supervisors = 0;
  std::size_t workers = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_info& x) {
  return f(caf::meta::type_name("child_info"), x.id, x.handle, x.type, x.state, x.restarts, x.last_reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_counts& x) {
  return f(caf::meta::type_name("child_counts"), x.specs, x.active, x.supervisors, x.workers);
}

/// The supervisor's messages, for requests from actors. Replies:
/// - (start_child_atom, child_spec) -> caf::actor (or `errc::already_started`
///   carrying the running child: `already_started_child(err)`); for simple_one_for_one
///   (start_child_atom, caf::message extra_args) -> caf::actor
/// - (terminate_child_atom, std::string id) -> caf::ok_atom; for
///   simple_one_for_one (terminate_child_atom, caf::actor child) -> caf::ok_atom
/// - (restart_child_atom, std::string id) -> caf::actor
/// - (delete_child_atom, std::string id) -> caf::ok_atom
/// - (which_children_atom) -> std::vector<child_info>
/// - (count_children_atom) -> child_counts
/// - (update_flags_atom, supervisor_flags) -> caf::ok_atom: new flags in place
///   (`blocking::update_flags` says what applies when)
/// - (update_child_atom, child_spec) -> caf::ok_atom: a new spec for the child
///   `spec.id` (simple_one_for_one: the template), used from its next start
/// Failures arrive as `caf::error` with an `errc` code.
using start_child_atom = caf::atom_constant<caf::atom("start_chld")>;
using terminate_child_atom = caf::atom_constant<caf::atom("term_chld")>;
using restart_child_atom = caf::atom_constant<caf::atom("rest_chld")>;
using delete_child_atom = caf::atom_constant<caf::atom("del_chld")>;
using which_children_atom = caf::atom_constant<caf::atom("which_chld")>;
using count_children_atom = caf::atom_constant<caf::atom("count_chld")>;
using update_flags_atom = caf::atom_constant<caf::atom("upd_flags")>;
using update_child_atom = caf::atom_constant<caf::atom("upd_chld")>;

} // namespace otpp::supervision
