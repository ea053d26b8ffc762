#pragma once

/// otpp-node's command line as a function, for programs that register their
/// own kinds and then run a tree from their own TOML file:
///
///     int main(int argc, char** argv) {
///       register_my_kinds();
///       return otpp::config::node_main(argc, argv);
///     }
namespace otpp::config {

/// `PROGRAM [--check] [--status-every SECONDS] CONFIG.toml`: loads the file
/// (with OTPP__SECTION__KEY overrides), then with `--check` only says "ok";
/// else starts the node and runs it until SIGINT or SIGTERM (or the end of
/// its `[demo]` workload). `PROGRAM top [URL]` shows a running node's state
/// live (docs/operations.md); `--help` and `--version` print and return 0.
/// Exit codes: 0 stopped on request, the tree stopped
/// in reverse order; 1 the node could not start or its root supervisor ended
/// by itself; 64 bad command line; 78 configuration error (every problem on
/// stderr as `file:line:col: path: message`, nothing started).
int node_main(int argc, char** argv);

} // namespace otpp::config
