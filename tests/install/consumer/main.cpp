// Starts and stops a supervisor through the installed headers and library.
#include <caf/all.hpp>

#include "supervision/supervisor.hpp"
#include "supervision/supervisor_api.hpp"
#include "supervision/system_setup.hpp"

int main() {
  caf::actor_system_config cfg;
  otpp::add_otpp_types(cfg);
  caf::actor_system sys{cfg};
  otpp::supervision::supervisor_config config;
  config.name = "consumer";
  otpp::supervision::child_spec spec;
  spec.id = "worker";
  spec.start = [](otpp::supervision::start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x; }}; });
  };
  config.children.push_back(spec);
  auto sup = otpp::supervision::start_supervisor(sys, config);
  if (!sup)
    return 1;
  auto counts = otpp::supervision::blocking::count_children(sys, *sup);
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  return counts && counts->active == 1 ? 0 : 2;
}
