// otpp-cluster-peer: a CAF node for cluster tests. Publishes an actor that
// answers a string with the same string on a free loopback port, prints
// "ready PORT" on stdout and runs until it is killed.
#include <unistd.h>

#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

namespace {

caf::behavior echo(caf::event_based_actor*, caf::unit_t) {
  return {[](const std::string& text) { return text; }};
}

} // namespace

int main() {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto port = sys.middleman().publish(sys.spawn(echo, caf::unit), 0, "127.0.0.1");
  if (!port) {
    std::cerr << "otpp-cluster-peer: cannot publish: " << sys.render(port.error()) << std::endl;
    return 1;
  }
  std::cout << "ready " << *port << std::endl;
  for (;;)
    ::pause();
}
