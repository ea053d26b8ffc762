#pragma once
// Internal to config/: `otpp-node top`, a live view of a running node.

namespace otpp::config {

/// The node's default endpoint for `otpp-node top` (the port docs/operations.md uses).
inline constexpr const char* default_top_url = "http://127.0.0.1:9464";

/// `top [--token-file FILE] [--ca-file FILE] [--iterations N] [URL]` (argv[0]
/// is "top"; `top --help` prints the usage): polls URL's /status every second and shows it until `q` (or
/// SIGINT, SIGTERM) on a terminal, in raw mode that it restores on exit; when
/// stdin or stdout is not a terminal, prints one block of plain lines per
/// poll. A token comes from FILE or the environment variable OTPP_TOKEN. An
/// unreachable node shows the error and is retried. Returns 0 when it was
/// stopped or made N polls, 64 for a bad command line, a bad URL or an
/// unreadable token file, 1 when the terminal cannot be set up.
int top_main(int argc, char** argv);

} // namespace otpp::config
