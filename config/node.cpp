#include "otpp/config/node.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

#include <caf/scoped_actor.hpp>
#include <spdlog/sinks/basic_file_sink.h>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/events/log_sink.hpp"
#include "otpp/actors/health/health.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/actors/perf/registry.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/system_setup.hpp"

namespace otpp::config {

namespace {

// The events' level of a [logging] level name.
events::level event_level(const std::string& name) {
  if (name == "trace" || name == "debug")
    return events::level::debug;
  if (name == "warn")
    return events::level::warning;
  if (name == "error" || name == "critical")
    return events::level::error;
  return events::level::info;
}

} // namespace

caf::error apply_logging(const logging_config& logging, const std::string& node) {
  events::log_options options;
  options.format = logging.format == "json" ? events::log_format::json : events::log_format::text;
  options.min_level = event_level(logging.level);
  options.node = node;
  options.burst_limit_enable = logging.burst_limit_enable;
  options.burst_limit_max_count = logging.burst_limit_max_count;
  options.burst_limit_window = logging.burst_limit_window;
  options.drop_mode_qlen = logging.drop_mode_qlen;
  auto writer = events::stderr_writer();
  if (!logging.file.empty()) {
    try {
      writer = events::spdlog_writer(std::make_shared<spdlog::sinks::basic_file_sink_mt>(logging.file));
    } catch (const spdlog::spdlog_ex& e) {
      return supervision::make_error(supervision::errc::invalid_spec,
                                     "logging.file: cannot open '" + logging.file + "': " + e.what());
    }
  }
  events::configure_log(std::move(options), std::move(writer));
  return {};
}

node::system_config::system_config(const node_config& c) {
  auto& scheduler = c.scheduler;
  set("logger.console", caf::atom("none"));
  add_otpp_types(*this);
  apply_scheduler_profile(*this);
  set("scheduler.policy", scheduler.policy == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
  if (scheduler.max_threads > 0)
    set("scheduler.max-threads", scheduler.max_threads);
  if (c.cluster)
    cluster::configure(*this, *c.cluster);
}

node::node(node_config c, config_source source)
  : name_(c.name),
    config_(std::move(c)),
    source_(std::move(source)),
    reloads_ok_(perf::metrics().counter_of(perf::families::config_reloads, {"ok"})),
    reloads_rejected_(perf::metrics().counter_of(perf::families::config_reloads, {"rejected"})),
    cfg_(config_) {
  if (pipe2(wakeup_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "otpp node: pipe");
}

namespace {

std::atomic<int> signal_wakeup_fd{-1}; // the running node's pipe

sigset_t node_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

void on_node_signal(int signal) {
  auto saved = errno;
  char byte = static_cast<char>(signal);
  if (auto fd = signal_wakeup_fd.load(); fd >= 0)
    [[maybe_unused]] auto n = write(fd, &byte, 1);
  errno = saved;
}

} // namespace

void block_stop_signals() {
  auto set = node_signal_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void node::request_stop() {
  stop_requested_ = true;
  char byte = 0;
  [[maybe_unused]] auto n = write(wakeup_[1], &byte, 1);
}

int node::run() {
  signal_wakeup_fd = wakeup_[1];
  struct sigaction action {};
  action.sa_handler = on_node_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {}, old_term {}, old_hup {};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  sigaction(SIGHUP, &action, &old_hup);
  auto node_signals = node_signal_set();
  sigset_t old_mask;
  pthread_sigmask(SIG_UNBLOCK, &node_signals, &old_mask); // a signal held back since start arrives now
  // A thread waits for the root's end and says so through the pipe (byte 'd').
  std::thread root_watch([this] {
    caf::scoped_actor self{*system_};
    self->monitor(root_);
    self->receive([&](caf::down_msg& down) { root_exit_reason_ = down.reason; });
    char byte = 'd';
    [[maybe_unused]] auto n = write(wakeup_[1], &byte, 1);
  });
  char byte = 0;
  for (pollfd ready{wakeup_[0], POLLIN, 0};;) {
    if (read(wakeup_[0], &byte, 1) != 1) {
      poll(&ready, 1, -1);
      continue;
    }
    if (byte != SIGHUP)
      break;
    reload();
  }
  bool requested = byte != 'd';
  if (requested) {
    stop_requested_ = true;
    const char* by = byte == SIGINT ? "SIGINT" : byte == SIGTERM ? "SIGTERM" : "request_stop";
    events::emit(events::node_stopping{name_, by});
    caf::anon_send_exit(root_, caf::exit_reason::user_shutdown);
  }
  root_watch.join();
  while (read(wakeup_[0], &byte, 1) == 1) {
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  signal_wakeup_fd = -1;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  if (requested) {
    root_exit_reason_ = caf::error{};
    return 0;
  }
  return 1;
}

caf::expected<std::unique_ptr<node>> node::start(const node_config& c, config_source source) {
  if (auto err = apply_logging(c.logging, c.name))
    return err;
  std::unique_ptr<node> n{new node(c, std::move(source))};
  n->system_ = std::make_unique<caf::actor_system>(n->cfg_);
  auto tree = build_tree(c);
  auto children = tree.children.size();
  auto root = supervision::start_supervisor(*n->system_, std::move(tree));
  if (!root)
    return root.error();
  n->root_ = *root;
  if (c.cluster) {
    std::vector<std::string> pools;
    for (auto& p : c.pools)
      pools.push_back(p.config.name);
    auto m = cluster::membership::start(*n->system_, *c.cluster, std::move(pools));
    if (!m)
      return m.error();
    n->membership_ = std::move(*m);
  }
  if (!c.http.listen.empty())
    if (auto err = n->start_http(c.http))
      return err; // the tree stops with `n`
  events::emit(events::node_started{c.name, children});
  return n;
}

caf::error node::start_http(const http_config& c) {
  endpoint_hooks hooks;
  hooks.reload = [this] { return reload(); };
  hooks.source = [this] { return source(); };
  auto http = http_endpoint::start(c, *system_, root_, name_, std::move(hooks));
  if (!http)
    return http.error();
  http_ = std::move(*http);
  http_port_ = http_->port();
  return {};
}

node_config node::config() const {
  std::lock_guard<std::mutex> guard{config_mtx_};
  return config_;
}

config_source node::source() const {
  std::lock_guard<std::mutex> guard{config_mtx_};
  return source_;
}

node::~node() {
  http_.reset(); // no request may ask a tree that is going away
  retired_http_.clear();
  membership_.reset();
  if (root_) {
    caf::scoped_actor self{*system_};
    self->monitor(root_);
    self->send_exit(root_, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {});
    events::emit(events::node_stopped{name_});
    events::flush_log();
  }
  close(wakeup_[0]);
  close(wakeup_[1]);
}

} // namespace otpp::config
