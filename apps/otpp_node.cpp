// otpp-node [--check] [--status-every SECONDS] CONFIG.toml: a whole
// supervision tree from one TOML file, with otpp's built-in kinds only;
// `otpp-node top [URL]` watches a running node; --help, --version.
// A program with kinds of its own registers them and calls node_main too.
#include "otpp/config/node_main.hpp"

int main(int argc, char** argv) {
  return otpp::config::node_main(argc, argv);
}
