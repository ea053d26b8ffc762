#include "otpp/config/node_main.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "otpp/config/demo.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/config/node.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::config {

namespace {

int usage(const std::string& program) {
  std::cerr << "usage: " << program << " [--check] [--status-every SECONDS] CONFIG.toml\n";
  return 64; // EX_USAGE
}

} // namespace

int node_main(int argc, char** argv) {
  std::string program = argc > 0 ? argv[0] : "otpp-node";
  program = program.substr(program.rfind('/') + 1);
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
  auto started = node::start(*loaded.config);
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
      while (!status_wakeup.wait_for(lock, std::chrono::seconds(status_every), [&] { return done.load(); }))
        std::cerr << status_table(n) << std::flush;
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
