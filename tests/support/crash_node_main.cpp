// otpp-node's command line with one more child kind, for the tests that
// need a node process whose child crashes when told to:
// `test.crash_on_file` (argument `file`) checks every 10 ms whether `file`
// exists; when it does, removes it and crashes with "crashed on purpose".
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <caf/event_based_actor.hpp>

#include "otpp/config/node_main.hpp"
#include "otpp/supervision/kinds.hpp"

namespace {

using check_atom = caf::atom_constant<caf::atom("check")>;

caf::behavior crash_on_file(caf::event_based_actor* self, std::string file) {
  self->send(self, check_atom::value);
  return {[self, file](check_atom) {
    if (std::remove(file.c_str()) == 0)
      throw std::runtime_error("crashed on purpose");
    self->delayed_send(self, std::chrono::milliseconds{10}, check_atom::value);
  }};
}

} // namespace

int main(int argc, char** argv) {
  using namespace otpp::supervision;
  register_child_kind("test.crash_on_file", {string_arg("file").required()},
                      [](start_context& ctx, const arguments& args) -> caf::expected<caf::actor> {
                        return ctx.spawn(crash_on_file, args.get_string("file"));
                      });
  return otpp::config::node_main(argc, argv);
}
