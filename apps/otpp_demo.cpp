// otpp-demo: starts a small supervision tree, crashes children on purpose and
// shows the supervisor reports (stderr), then stops the tree and exits 0.
#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include <caf/all.hpp>

#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/exceptions.hpp"
#include "otpp/supervision/registry.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "otpp/supervision/supervisor_api.hpp"
#include "otpp/supervision/system_setup.hpp"

namespace sup = otpp::supervision;
using namespace std::chrono_literals;

namespace {

using work_atom = caf::atom_constant<caf::atom("work")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;

// A worker that answers `work` and throws on `crash`.
caf::behavior demo_worker(caf::event_based_actor*, std::string name) {
  return {
    [name](work_atom) { return name + " did some work"; },
    [name](crash_atom) -> std::string { throw std::runtime_error(name + " hit a corrupt record"); },
  };
}

sup::child_spec worker(const std::string& id) {
  sup::child_spec spec;
  spec.id = id;
  spec.name = "demo." + id;
  spec.start = [id](sup::start_context& ctx) -> caf::expected<caf::actor> { return ctx.spawn(demo_worker, id); };
  return spec;
}

// One line of narration on stdout, written at once so that it does not
// interleave with the reports on stderr.
void say(const std::string& line) {
  std::cout << (line + "\n") << std::flush;
}

// Waits (bounded) until `name` resolves to an actor other than `old`.
caf::actor await_replacement(caf::actor_system& sys, const std::string& name, const caf::actor& old) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto now = sup::whereis(sys, name); now && now != old)
      return now;
    std::this_thread::yield();
  }
  throw std::runtime_error("no replacement for " + name + " within 5 s");
}

// Crashes the actor registered as `name` through a request and waits for its replacement.
void crash(caf::actor_system& sys, const std::string& name) {
  auto victim = sup::whereis(sys, name);
  caf::scoped_actor self{sys};
  self->request(victim, 5s, crash_atom::value)
    .receive([](const std::string&) {},
             [&](caf::error& err) { say("  the caller of " + name + " got: " + sup::describe(err)); });
  await_replacement(sys, name, victim);
  say("  " + name + " is running again");
}

void print_tree(caf::actor_system& sys, const caf::actor& root) {
  auto rows = sup::blocking::which_children(sys, root);
  if (!rows)
    throw std::runtime_error(sup::describe(rows.error()));
  for (auto& row : *rows)
    say("  " + row.id + " (" + sup::to_string(row.type) + ", " + sup::to_string(row.state) + ")");
}

int run(caf::actor_system& sys) {
  sup::supervisor_config storage;
  storage.flags.strategy = sup::strategy::one_for_all;
  storage.flags.intensity = 1;
  storage.children = {worker("db"), worker("cache")};

  sup::supervisor_config root;
  root.name = "demo.root";
  root.flags.intensity = 5;
  auto storage_spec = sup::supervisor_child("storage", storage);
  storage_spec.name = "demo.storage";
  root.children = {worker("clock"), storage_spec, worker("api")};

  auto tree = sup::start_supervisor(sys, root);
  if (!tree) {
    std::cerr << "cannot start the demo tree: " << sup::describe(tree.error()) << "\n";
    return 1;
  }
  say("started the tree:");
  print_tree(sys, *tree);

  say("1. crashing demo.clock (one_for_one: only it restarts)");
  crash(sys, "demo.clock");

  say("2. crashing demo.db (one_for_all under storage: db and cache restart)");
  auto old_storage = sup::whereis(sys, "demo.storage");
  crash(sys, "demo.db");

  say("3. crashing demo.db again within 5 s: storage exceeds intensity 1, gives up,"
      " and the root restarts the whole storage subtree");
  auto victim = sup::whereis(sys, "demo.db");
  caf::anon_send(victim, crash_atom::value);
  await_replacement(sys, "demo.storage", old_storage);
  await_replacement(sys, "demo.db", victim);
  say("  storage and db are running again");
  print_tree(sys, *tree);

  say("4. stopping the tree (children stop in reverse order)");
  caf::scoped_actor self{sys};
  self->monitor(*tree);
  self->send_exit(*tree, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg& msg) { say("  the root ended: " + sup::describe(msg.reason)); },
                caf::after(10s) >> [] { throw std::runtime_error("the root did not stop within 10 s"); });
  return 0;
}

} // namespace

int main() {
  caf::actor_system_config cfg;
  cfg.set("logger.console", caf::atom("none"));
  otpp::add_otpp_types(cfg);
  otpp::apply_scheduler_profile(cfg);
  caf::actor_system sys{cfg};
  try {
    return run(sys);
  } catch (const std::exception& x) {
    std::cerr << "otpp-demo failed: " << x.what() << "\n";
    return 1;
  }
}
