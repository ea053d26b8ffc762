#include "otpp/config/node_main.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "otpp/config/demo.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/config/node.hpp"
#include "otpp/config/top.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::config {

namespace {

std::string usage_text(const std::string& program) {
  return "usage: " + program + " [--check] [--status-every SECONDS] CONFIG.toml\n"
         "       " + program + " top [--token-file FILE] [--ca-file FILE] [--iterations N] [URL]\n"
         "       " + program + " --help | --version\n";
}

int usage(const std::string& program) {
  std::cerr << usage_text(program);
  return 64; // EX_USAGE
}

int help(const std::string& program) {
  std::cout << usage_text(program)
            << "\n"
               "Runs the supervision tree CONFIG.toml describes until SIGINT or SIGTERM;\n"
               "SIGHUP reloads CONFIG.toml and applies what changed (docs/reload.md).\n"
               "  --check               validate CONFIG.toml (and OTPP__SECTION__KEY overrides), start nothing\n"
               "  --status-every N      print a status table on stderr every N seconds\n"
               "  top [URL]             a live view of a running node's HTTP endpoint\n"
               "                        (URL defaults to " << default_top_url << "; q quits)\n"
               "  --help, --version     print this help or the version and exit\n"
               "Exit codes: 0 stopped on request, 1 could not start or the root supervisor ended,\n"
               "64 bad command line, 78 configuration error.\n";
  return 0;
}

} // namespace

int node_main(int argc, char** argv) {
  std::string program = argc > 0 ? argv[0] : "otpp-node";
  program = program.substr(program.rfind('/') + 1);
  if (argc == 2 && std::strcmp(argv[1], "--help") == 0)
    return help(program);
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::cout << program << " (otpp) " << OTPP_VERSION << "\n";
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "top") == 0)
    return top_main(argc - 1, argv + 1);
  bool check_only = false;
  int status_every = 0;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--check") == 0)
      check_only = true;
    else if (std::strcmp(argv[i], "--status-every") == 0 && i + 1 < argc && std::atoi(argv[i + 1]) > 0)
      status_every = std::atoi(argv[++i]);
    else if (path.empty() && argv[i][0] != '-')
      path = argv[i];
    else
      return usage(program);
  }
  if (path.empty())
    return usage(program);
  auto loaded = load_file(path, process_environment());
  if (!loaded.config) {
    for (auto& p : loaded.problems)
      std::cerr << p.to_string() << "\n";
    std::cerr << program << ": " << loaded.problems.size() << " problem(s) in the configuration; nothing started\n";
    return exit_config_error;
  }
  if (check_only) {
    std::cout << path << ": ok\n";
    return 0;
  }
  // Held back until run() handles them: no signal is lost while the node starts.
  block_stop_signals();
  auto started = node::start(*loaded.config, {std::filesystem::absolute(path).string(), loaded.sha256, {}});
  if (!started) {
    std::cerr << program << ": cannot start: " << supervision::describe(started.error()) << "\n";
    return 1;
  }
  auto& n = **started;
  std::atomic<bool> done{false};
  // With [demo]: clients run against the tree, print their summary, then stop the node.
  std::thread demo;
  if (loaded.config->demo)
    demo = std::thread([&] {
      auto summary = run_demo(n, *loaded.config->demo);
      std::cout << summary.to_text(n) << std::flush;
      n.request_stop();
    });
  // With --status-every: the status table on stderr until the node stops.
  std::mutex status_mutex;
  std::condition_variable status_wakeup;
  std::thread status;
  if (status_every > 0)
    status = std::thread([&] {
      std::unique_lock<std::mutex> lock{status_mutex};
      pool_exit_counts last{std::chrono::steady_clock::now(), {}}; // the pools have just started
      while (!status_wakeup.wait_for(lock, std::chrono::seconds(status_every), [&] { return done.load(); }))
        std::cerr << status_table(n, &last) << std::flush;
    });
  auto code = n.run();
  {
    std::lock_guard<std::mutex> guard{status_mutex};
    done = true;
  }
  status_wakeup.notify_all();
  if (demo.joinable())
    demo.join();
  if (status.joinable())
    status.join();
  if (code != 0)
    std::cerr << program << ": the root supervisor ended: " << supervision::describe(n.root_exit_reason()) << "\n";
  return code;
}

} // namespace otpp::config
