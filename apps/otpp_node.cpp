// otpp-node [--check] CONFIG.toml: a whole supervision tree from one TOML
// file. Runs until SIGINT or SIGTERM (or the end of its [demo] workload),
// then stops the tree in order and exits 0; a configuration error exits 78
// after naming every problem; a tree that gives up exits 1.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <cstring>
#include <iostream>
#include <thread>

#include <caf/scoped_actor.hpp>

#include "config/demo.hpp"
#include "config/node.hpp"
#include "supervision/errors.hpp"
#include "supervision/reports.hpp"

namespace {

int usage() {
  std::cerr << "usage: otpp-node [--check] [--status-every SECONDS] CONFIG.toml\n";
  return 64; // EX_USAGE
}

} // namespace

int main(int argc, char** argv) {
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
      return usage();
  }
  if (path.empty())
    return usage();
  auto loaded = otpp::config::load_file(path, otpp::config::process_environment());
  if (!loaded.config) {
    for (auto& p : loaded.problems)
      std::cerr << p.to_string() << "\n";
    std::cerr << "otpp-node: " << loaded.problems.size() << " problem(s) in the configuration; nothing started\n";
    return otpp::config::exit_config_error;
  }
  if (check_only) {
    std::cout << path << ": ok\n";
    return 0;
  }
  // Signals go to one waiting thread: block them before any thread starts.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto started = otpp::config::node::start(*loaded.config);
  if (!started) {
    std::cerr << "otpp-node: cannot start: " << otpp::supervision::describe(started.error()) << "\n";
    return 1;
  }
  auto& node = **started;
  std::atomic<bool> asked_to_stop{false};
  // With [demo]: clients run against the tree, print their summary, and
  // then stop the node as a signal would.
  std::thread demo;
  if (loaded.config->demo)
    demo = std::thread([&] {
      auto summary = otpp::config::run_demo(node, *loaded.config->demo, asked_to_stop);
      std::cout << summary.to_text(node) << std::flush;
      if (!asked_to_stop)
        kill(getpid(), SIGTERM);
    });
  // With --status-every: the status table on stderr until the node stops.
  std::mutex status_mutex;
  std::condition_variable status_wakeup;
  std::thread status;
  if (status_every > 0)
    status = std::thread([&] {
      std::unique_lock<std::mutex> lock{status_mutex};
      while (!status_wakeup.wait_for(lock, std::chrono::seconds(status_every), [&] { return asked_to_stop.load(); }))
        std::cerr << otpp::config::status_table(node) << std::flush;
    });
  std::thread signal_waiter([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    {
      std::lock_guard<std::mutex> guard{status_mutex};
      asked_to_stop = true;
    }
    status_wakeup.notify_all();
    otpp::supervision::report_logger()->info("node_stopping node={} signal={}", node.config().name,
                                             signal == SIGINT ? "SIGINT" : "SIGTERM");
    caf::anon_send_exit(node.root(), caf::exit_reason::user_shutdown);
  });
  caf::error reason;
  {
    caf::scoped_actor self{node.system()};
    self->monitor(node.root());
    self->receive([&](caf::down_msg& down) { reason = down.reason; });
  }
  bool requested = asked_to_stop; // else the root ended by itself
  if (!requested)
    kill(getpid(), SIGTERM); // wakes the waiting thread (the signal is blocked: it only ends sigwait)
  signal_waiter.join();
  if (demo.joinable())
    demo.join();
  if (status.joinable())
    status.join();
  if (requested)
    return 0;
  std::cerr << "otpp-node: the root supervisor ended: " << otpp::supervision::describe(reason) << "\n";
  return 1;
}
