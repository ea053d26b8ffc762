// otpp-cluster-client: node "node-a" of a test cluster. Dials node-b at the
// port given, checks out LEASES workers of database@node-b and starts
// WAITERS threads that wait for one more, prints "holding" and runs until it
// is killed. Usage: otpp-cluster-client PORT LEASES WAITERS
#include <unistd.h>

#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/cluster_nodes.hpp"

using namespace otpp;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: otpp-cluster-client PORT LEASES WAITERS\n";
    return 2;
  }
  auto port = std::stoi(argv[1]);
  test::local_node a{test::test_cluster("node-a", 0, {"node-b@127.0.0.1:" + std::to_string(port)})};
  if (!a.wait_state("node-b", "up")) {
    std::cerr << "otpp-cluster-client: node-b is not up\n";
    return 1;
  }
  auto remote = pool::find_pool(a.sys(), "database@node-b");
  std::vector<pool::lease> held;
  for (int i = 0; i < std::stoi(argv[2]); ++i) {
    auto l = remote->checkout(true, std::chrono::milliseconds{2000});
    if (!l) {
      std::cerr << "otpp-cluster-client: checkout: " << supervision::describe(l.error()) << "\n";
      return 1;
    }
    held.push_back(std::move(*l));
  }
  for (int i = 0; i < std::stoi(argv[3]); ++i)
    std::thread([remote] { remote->checkout(true, std::chrono::milliseconds{60000}); }).detach();
  std::cout << "holding " << held.size() << std::endl;
  for (;;)
    ::pause();
}
