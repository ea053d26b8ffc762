#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include "otpp/supervision/arguments.hpp"
#include "otpp/supervision/child_spec.hpp"

namespace otpp::supervision {

/// Starts one actor of a kind from its validated arguments, usually with
/// `ctx.spawn(...)`. An error or an exception is a start error. Called from
/// the supervisor's (or pool's) threads: it must be thread-safe.
using kind_factory = std::function<caf::expected<caf::actor>(start_context& ctx, const arguments& args)>;

/// A kind of actor a program can name in TOML: the arguments it declares
/// and how to start one.
struct kind {
  std::vector<argument_spec> arguments;
  kind_factory start;
};

/// Kinds by name, thread-safe. `role` names them in errors ("child kind").
class kind_table {
public:
  explicit kind_table(std::string role) : role_(std::move(role)) {}

  /// Adds `k` under `name`, replacing an earlier kind of that name.
  void add(const std::string& name, kind k);

  /// The kind, or an `errc::invalid_spec` error naming it and the registered ones.
  caf::expected<kind> find(const std::string& name) const;

  /// Registered names, sorted.
  std::vector<std::string> names() const;

private:
  std::string role_;
  mutable std::mutex mtx_;
  std::map<std::string, kind> kinds_;
};

/// Registers a child kind, process-wide: an actor of the program's own that
/// TOML places directly under a supervisor (`[children.NAME] kind = "..."`)
/// or names as the template of a `simple_one_for_one` supervisor. Register
/// before loading the file, so that `--check` validates each `args` table
/// against `arguments`.
void register_child_kind(const std::string& name, std::vector<argument_spec> arguments, kind_factory start);

/// The child kind `name`, or an error naming it and the registered kinds.
caf::expected<kind> find_child_kind(const std::string& name);

/// Registered child kind names, sorted.
std::vector<std::string> child_kinds();

} // namespace otpp::supervision
