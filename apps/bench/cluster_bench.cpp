// otpp-bench: the cluster (issue 8). For each scheduler setting (applied to
// both processes), one pair of processes: this one (node-a) and an otpp-node
// (node-b) running the pool "database" of echo workers, plus a forked echo
// peer for the raw TCP reference. Lines:
// - cluster.tcp_roundtrip: 32-byte blocking ping-pong, TCP_NODELAY (the reference);
// - cluster.local_checkout: the pool in this process;
// - cluster.remote_checkout: "database@node-b"; window 1 from a plain thread
//   (pool_ref::checkout + release, with vs_tcp_roundtrip) and from an actor,
//   windows 16 and 128 from an actor keeping that many checkout requests
//   outstanding and checking each worker in at once; caller "actor_no_agent"
//   (diagnostic) does the same straight to node-b's directory, without the agent;
// - cluster.caf_roundtrip (diagnostic): a status request to node-b's directory,
//   CAF's bare remote request/response.
// cpu_us_per_op and switches_per_op count every process of the round (CPU
// time, and context switches of all their threads) per operation.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include "actors/cluster/cluster.hpp"
#include "actors/pool/pool.hpp"
#include "apps/bench/common.hpp"
#include "supervision/errors.hpp"
#include "supervision/system_setup.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/loopback_socket.hpp"

#ifndef OTPP_NODE_PATH
#define OTPP_NODE_PATH ""
#endif

namespace otpp::bench {

using namespace std::chrono_literals;

namespace {

constexpr std::size_t pool_size = 128; // every request of the largest window holds a worker: none queues
constexpr std::size_t tcp_bytes = 32;

/// A scheduler setting, applied to both processes of a round.
struct setting {
  const char* name;
  const char* policy;      ///< "stealing" or "sharing"
  std::size_t max_threads; ///< 0: otpp's default (one per core)
};

const setting settings[] = {{"default", "stealing", 0}, {"sharing", "sharing", 1}};

double ns_since(bench_clock::time_point t0) {
  return std::chrono::duration<double, std::nano>(bench_clock::now() - t0).count();
}

// -- the raw TCP reference ----------------------------------------------------

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool read_exactly(int fd, char* buf, std::size_t n) {
  while (n > 0) {
    auto got = ::read(fd, buf, n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    buf += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

bool write_exactly(int fd, const char* buf, std::size_t n) {
  while (n > 0) {
    auto put = ::write(fd, buf, n);
    if (put < 0 && errno == EINTR)
      continue;
    if (put <= 0)
      return false;
    buf += put;
    n -= static_cast<std::size_t>(put);
  }
  return true;
}

// A forked process that echoes 32-byte messages on one loopback connection.
// Forked before the round's actor system exists; the child only makes system
// calls, and dies with its parent. Killed and reaped on destruction.
class echo_peer {
public:
  echo_peer() {
    int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 1) != 0
        || ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (lfd >= 0)
        ::close(lfd);
      throw std::runtime_error(std::string{"echo peer: cannot listen on loopback: "} + std::strerror(errno));
    }
    auto parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
      ::close(lfd);
      throw std::runtime_error(std::string{"echo peer: fork failed: "} + std::strerror(errno));
    }
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(0);
      int c = ::accept(lfd, nullptr, nullptr);
      if (c < 0)
        ::_exit(1);
      set_nodelay(c);
      char buf[tcp_bytes];
      while (read_exactly(c, buf, sizeof buf) && write_exactly(c, buf, sizeof buf)) {
      }
      ::_exit(0);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool connected = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(lfd);
    if (!connected) {
      stop();
      throw std::runtime_error(std::string{"echo peer: cannot connect: "} + std::strerror(errno));
    }
    set_nodelay(fd_);
  }

  ~echo_peer() { stop(); }
  pid_t pid() const { return pid_; }
  echo_peer(const echo_peer&) = delete;
  echo_peer& operator=(const echo_peer&) = delete;

  /// One 32-byte round trip.
  void ping() {
    char buf[tcp_bytes] = "otpp-bench tcp round trip 32 b";
    if (!write_exactly(fd_, buf, sizeof buf) || !read_exactly(fd_, buf, sizeof buf))
      throw std::runtime_error("echo peer: the connection broke");
  }

private:
  void stop() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
};

// -- node-b, an otpp-node process ---------------------------------------------

cluster::cluster_config cluster_of(const std::string& name, uint16_t port) {
  cluster::cluster_config c;
  c.node_name = name;
  c.listen = {"127.0.0.1", port};
  c.heartbeat_interval = 250ms;
  c.connection_timeout = 1000ms;
  c.connect_timeout = 1000ms;
  c.reconnect_backoff_min = 50ms;
  c.reconnect_backoff_max = 500ms;
  return c;
}

// otpp-node with [node] scheduler settings, the pool and [cluster] from `c`;
// logs warnings and worse on stderr (read only on failure). Killed and its
// file removed on destruction.
class node_b {
public:
  node_b(const setting& s, const cluster::cluster_config& c) {
    char name[] = "/tmp/otpp-bench-node-b-XXXXXX";
    int fd = ::mkstemp(name);
    if (fd < 0)
      throw std::runtime_error("mkstemp failed");
    ::close(fd);
    file_ = name;
    std::ofstream out{file_};
    out << "[node]\nname = \"" << c.node_name << "\"\nscheduler.policy = \"" << s.policy << "\"\n";
    if (s.max_threads > 0)
      out << "scheduler.max-threads = " << s.max_threads << "\n";
    out << "[logging]\nlevel = \"warn\"\n"
        << "[pools.database]\nsize = " << pool_size << "\nmax_overflow = 0\nworker = \"echo\"\n"
        << "[cluster]\nnode_name = \"" << c.node_name << "\"\nlisten = \"" << c.listen.to_string() << "\"\n"
        << "heartbeat_interval_ms = " << c.heartbeat_interval.count() << "\n"
        << "connection_timeout_ms = " << c.connection_timeout.count() << "\n"
        << "connect_timeout_ms = " << c.connect_timeout.count() << "\n";
    out.close();
    proc_ = std::make_unique<test::child_process>(std::vector<std::string>{OTPP_NODE_PATH, file_},
                                                  test::child_process::output::err);
  }

  ~node_b() {
    proc_.reset();
    std::remove(file_.c_str());
  }

  pid_t pid() const { return proc_->pid(); }

  /// What the process said so far (reads for at most `bound`).
  std::string output(std::chrono::milliseconds bound = 200ms) {
    proc_->wait_for("\x01never\x01", bound);
    return proc_->seen();
  }

private:
  std::string file_;
  std::unique_ptr<test::child_process> proc_;
};

// -- node-a, this process -----------------------------------------------------

struct node_a_config : caf::actor_system_config {
  node_a_config(const setting& s, const cluster::cluster_config& c) {
    // as config::node does for node-b
    set("logger.console", caf::atom("none"));
    add_otpp_types(*this);
    apply_scheduler_profile(*this);
    set("scheduler.policy", std::string{s.policy} == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
    if (s.max_threads > 0)
      set("scheduler.max-threads", s.max_threads);
    cluster::configure(*this, c);
  }
};

// -- callers --------------------------------------------------------------------

// The processes of a round (this one, node-b, the echo peer), for the CPU
// and context-switch figures.
std::vector<pid_t> watched;

struct usage {
  double cpu_s = 0;
  long long switches = 0;
};

// CPU time and context switches (voluntary and not, of every live thread) of `watched`.
usage usage_now() {
  usage u;
  static const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (auto pid : watched) {
    std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest{line.substr(close + 2)};
      std::string field;
      unsigned long long utime = 0, stime = 0;
      for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14)
          utime = std::stoull(field);
        if (i == 15)
          stime = std::stoull(field);
      }
      u.cpu_s += static_cast<double>(utime + stime) / tick;
    }
    auto dir = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& task : std::filesystem::directory_iterator{dir, std::filesystem::directory_options::skip_permission_denied}) {
      std::ifstream status{task.path() / "status"};
      for (std::string l; std::getline(status, l);)
        if (l.rfind("voluntary_ctxt_switches:", 0) == 0 || l.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
          u.switches += std::stoll(l.substr(l.find(':') + 1));
    }
  }
  return u;
}

struct measured {
  double ops_per_s = 0;
  std::vector<double> latencies_ns;
  double cpu_us_per_op = 0;    ///< all processes of the round
  double switches_per_op = 0;  ///< the same
};

void account(measured& m, const usage& before, long long ops) {
  auto after = usage_now();
  if (ops > 0) {
    m.cpu_us_per_op = (after.cpu_s - before.cpu_s) * 1e6 / static_cast<double>(ops);
    m.switches_per_op = static_cast<double>(after.switches - before.switches) / static_cast<double>(ops);
  }
}

// A plain thread: checkout, release, again.
measured thread_run(const pool::pool_ref& p, std::chrono::milliseconds duration) {
  auto once = [&] {
    auto held = p.checkout(true, 5s);
    if (!held)
      throw std::runtime_error("checkout: " + supervision::describe(held.error()));
    held->release();
  };
  for (auto warm = bench_clock::now() + 100ms; bench_clock::now() < warm;)
    once();
  measured m;
  m.latencies_ns.reserve(1 << 20);
  auto before = usage_now();
  auto start = bench_clock::now();
  auto end = start + duration;
  long long ops = 0;
  for (auto t0 = start; t0 < end; ++ops) {
    once();
    auto t1 = bench_clock::now();
    m.latencies_ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    t0 = t1;
  }
  m.ops_per_s = static_cast<double>(ops) / std::chrono::duration<double>(bench_clock::now() - start).count();
  account(m, before, ops);
  return m;
}

struct window_state {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<long long> ops{0};
  std::vector<double> samples; // the caller's, read after `drained`
  std::string error;           // the same
  std::promise<void> drained;
};

/// What a window caller asks for.
enum class path {
  pool,               ///< checkout from the pool's actor (a remote pool's agent), pool_ref::checkin
  directory_checkout, ///< checkout from node-b's directory directly, checkin to it (no agent)
  directory_status,   ///< a status request to node-b's directory: CAF's remote round trip, nothing else
};

// Keeps `window` requests outstanding, checks each granted worker in at once
// and asks again; once told to stop, lets the outstanding requests come back
// and quits.
class window_caller : public caf::event_based_actor {
public:
  window_caller(caf::actor_config& cfg, path kind, pool::pool_ref p, cluster::directory_actor dir, int window,
                std::shared_ptr<window_state> st)
    : caf::event_based_actor(cfg), kind_(kind), pool_(std::move(p)), dir_(std::move(dir)), window_(window),
      st_(std::move(st)) {}

  caf::behavior make_behavior() override {
    st_->samples.reserve(1 << 20);
    for (int i = 0; i < window_; ++i)
      ask();
    return {[](int) {}};
  }

private:
  void ask() {
    if (st_->stop) {
      if (outstanding_ == 0 && !finished_) {
        finished_ = true;
        st_->drained.set_value();
        quit();
      }
      return;
    }
    ++outstanding_;
    auto t0 = bench_clock::now();
    auto failed = [this](caf::error& err) {
      --outstanding_;
      if (st_->error.empty())
        st_->error = supervision::describe(err);
      st_->stop = true;
      ask();
    };
    switch (kind_) {
      case path::pool:
        request(pool_.actor(), caf::timespan{10s}, pool::checkout_atom::value, true, std::chrono::milliseconds{5000})
          .then(
            [this, t0](caf::actor& worker) {
              pool_.checkin(worker);
              done(t0);
            },
            failed);
        break;
      case path::directory_checkout:
        request(dir_, caf::timespan{10s}, pool::checkout_atom::value, std::string{"database"}, true, uint32_t{5000})
          .then(
            [this, t0](caf::actor& worker) {
              caf::anon_send(dir_, pool::checkin_atom::value, std::string{"database"}, worker);
              done(t0);
            },
            failed);
        break;
      case path::directory_status:
        request(dir_, caf::timespan{10s}, pool::status_atom::value, std::string{"database"})
          .then([this, t0](pool::pool_status&) { done(t0); }, failed);
        break;
    }
  }

  void done(bench_clock::time_point t0) {
    --outstanding_;
    if (st_->measuring) {
      st_->samples.push_back(ns_since(t0));
      ++st_->ops;
    }
    ask();
  }

  path kind_;
  pool::pool_ref pool_;
  cluster::directory_actor dir_;
  int window_;
  std::shared_ptr<window_state> st_;
  int outstanding_ = 0;
  bool finished_ = false;
};

measured window_run(caf::actor_system& sys, path kind, const pool::pool_ref& p, const cluster::directory_actor& dir,
                    int window, std::chrono::milliseconds duration) {
  auto st = std::make_shared<window_state>();
  auto drained = st->drained.get_future();
  auto caller = sys.spawn<window_caller>(kind, p, dir, window, st);
  std::this_thread::sleep_for(100ms); // warm-up
  auto before = usage_now();
  auto start = bench_clock::now();
  auto ops0 = st->ops.load();
  st->measuring = true;
  std::this_thread::sleep_for(duration);
  st->measuring = false;
  auto ops = st->ops.load() - ops0;
  measured m;
  account(m, before, ops);
  auto secs = std::chrono::duration<double>(bench_clock::now() - start).count();
  st->stop = true;
  if (drained.wait_for(15s) != std::future_status::ready) {
    caf::anon_send_exit(caller, caf::exit_reason::kill); // the system could not end with it alive
    throw std::runtime_error("window " + std::to_string(window) + ": outstanding requests never came back");
  }
  if (!st->error.empty())
    throw std::runtime_error("window " + std::to_string(window) + ": " + st->error);
  m.ops_per_s = static_cast<double>(ops) / secs;
  m.latencies_ns = std::move(st->samples);
  return m;
}

// -- one round: both processes under one scheduler setting ----------------------

struct selection {
  bool tcp = false;
  bool local = false;
  bool remote = false;
};

void print_checkout(const std::string& bench, const setting& s, const char* caller, int window, const measured& m,
                    std::vector<std::pair<std::string, std::string>> extra = {}) {
  std::vector<std::pair<std::string, std::string>> fields{{"transport", quoted("plain")},
                                                          {"scheduler", quoted(s.name)},
                                                          {"caller", quoted(caller)},
                                                          {"window", std::to_string(window)},
                                                          {"pool_size", std::to_string(pool_size)},
                                                          {"ops_per_s", num(m.ops_per_s)},
                                                          {"p50_ns", num(percentile(m.latencies_ns, 0.50))},
                                                          {"p99_ns", num(percentile(m.latencies_ns, 0.99))},
                                                          {"cpu_us_per_op", num(m.cpu_us_per_op)},
                                                          {"switches_per_op", num(m.switches_per_op)}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  std::cout << json_line(bench, fields) << std::endl;
}

void checkout_lines(const std::string& bench, caf::actor_system& sys, const pool::pool_ref& p, const setting& s,
                    std::chrono::milliseconds duration, double tcp_p50) {
  auto sequential = thread_run(p, duration);
  std::vector<std::pair<std::string, std::string>> ratio;
  if (tcp_p50 > 0)
    ratio.emplace_back("vs_tcp_roundtrip", num(percentile(sequential.latencies_ns, 0.50) / tcp_p50));
  print_checkout(bench, s, "thread", 1, sequential, ratio);
  for (int window : {1, 16, 128})
    print_checkout(bench, s, "actor", window, window_run(sys, path::pool, p, {}, window, duration));
}

// Diagnostics of the remote lines: the same work without the agent, and
// CAF's bare remote request/response to node-b's directory.
void directory_lines(caf::actor_system& sys, uint16_t b_port, const setting& s, std::chrono::milliseconds duration,
                     double tcp_p50) {
  auto dir = sys.middleman().remote_actor<cluster::directory_actor>("127.0.0.1", b_port);
  if (!dir)
    throw std::runtime_error("node-b's directory: " + supervision::describe(dir.error()));
  for (int window : {1, 128}) {
    auto m = window_run(sys, path::directory_checkout, {}, *dir, window, duration);
    print_checkout("cluster.remote_checkout", s, "actor_no_agent", window, m);
  }
  for (int window : {1, 128}) {
    auto m = window_run(sys, path::directory_status, {}, *dir, window, duration);
    std::vector<std::pair<std::string, std::string>> ratio;
    if (window == 1 && tcp_p50 > 0)
      ratio.emplace_back("vs_tcp_roundtrip", num(percentile(m.latencies_ns, 0.50) / tcp_p50));
    std::vector<std::pair<std::string, std::string>> fields{{"transport", quoted("plain")},
                                                            {"scheduler", quoted(s.name)},
                                                            {"caller", quoted("actor")},
                                                            {"window", std::to_string(window)},
                                                            {"ops_per_s", num(m.ops_per_s)},
                                                            {"p50_ns", num(percentile(m.latencies_ns, 0.50))},
                                                            {"p99_ns", num(percentile(m.latencies_ns, 0.99))},
                                                            {"cpu_us_per_op", num(m.cpu_us_per_op)},
                                                            {"switches_per_op", num(m.switches_per_op)}};
    fields.insert(fields.end(), ratio.begin(), ratio.end());
    std::cout << json_line("cluster.caf_roundtrip", fields) << std::endl;
  }
}

void wait_up(cluster::membership& m, node_b& b, std::chrono::milliseconds bound) {
  auto deadline = bench_clock::now() + bound;
  for (;;) {
    std::string state, error;
    for (auto& peer : m.peers())
      if (peer.name == "node-b") {
        state = peer.state;
        error = peer.last_error;
      }
    if (state == "up")
      return;
    if (bench_clock::now() >= deadline)
      throw std::runtime_error("node-b (" OTPP_NODE_PATH ") not up after " + std::to_string(bound.count())
                               + " ms: state " + state + (error.empty() ? "" : " (" + error + ")")
                               + "; its output: " + b.output());
    std::this_thread::sleep_for(5ms);
  }
}

void run_round(const setting& s, const selection& sel, const options& opts) {
  auto duration = std::max(opts.duration / 2, std::chrono::milliseconds{100});
  std::optional<echo_peer> echo;
  if (sel.tcp)
    echo.emplace(); // before any thread of this round exists
  std::optional<node_b> b;
  auto b_port = static_cast<uint16_t>(test::free_loopback_port());
  auto a_cluster = cluster_of("node-a", 0);
  if (sel.remote) {
    b.emplace(s, cluster_of("node-b", b_port));
    a_cluster.peers.push_back(*cluster::parse_peer("node-b@127.0.0.1:" + std::to_string(b_port)));
  }
  node_a_config cfg{s, a_cluster};
  caf::actor_system sys{cfg};
  std::vector<caf::actor> pools;
  std::unique_ptr<cluster::membership> membership;
  auto cleanup = [&] { // the membership before the pools, both before the system
    membership.reset();
    for (auto& p : pools)
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  };
  try {
    std::optional<pool::pool_ref> local;
    if (sel.local) {
      pool::pool_config pc;
      pc.name = "database";
      pc.size = pool_size;
      pc.max_overflow = 0;
      pc.worker = "echo";
      auto started = pool::start_pool(sys, pc);
      if (!started)
        throw std::runtime_error("local pool: " + supervision::describe(started.error()));
      local = *started;
      pools.push_back(local->actor());
    }
    auto m = cluster::membership::start(sys, a_cluster, {});
    if (!m)
      throw std::runtime_error("membership of node-a: " + supervision::describe(m.error()));
    membership = std::move(*m);
    if (sel.remote)
      wait_up(*membership, *b, 10s);
    double tcp_p50 = 0;
    if (sel.tcp) {
      for (int i = 0; i < 2000; ++i)
        echo->ping();
      std::vector<double> rtt;
      rtt.reserve(1 << 20);
      watched = {::getpid(), echo->pid()};
      auto before = usage_now();
      auto start = bench_clock::now();
      for (auto t0 = start; t0 < start + duration;) {
        echo->ping();
        auto t1 = bench_clock::now();
        rtt.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
        t0 = t1;
      }
      measured m;
      account(m, before, static_cast<long long>(rtt.size()));
      echo.reset();
      tcp_p50 = percentile(rtt, 0.50);
      std::cout << json_line("cluster.tcp_roundtrip", {{"transport", quoted("plain")},
                                                       {"scheduler", quoted(s.name)},
                                                       {"bytes", std::to_string(tcp_bytes)},
                                                       {"round_trips_per_s", num(static_cast<double>(rtt.size())
                                                         / std::chrono::duration<double>(bench_clock::now() - start).count())},
                                                       {"p50_ns", num(tcp_p50)},
                                                       {"p99_ns", num(percentile(rtt, 0.99))},
                                                       {"cpu_us_per_op", num(m.cpu_us_per_op)},
                                                       {"switches_per_op", num(m.switches_per_op)}})
                << std::endl;
    }
    watched = {::getpid()};
    if (b)
      watched.push_back(b->pid());
    if (local)
      checkout_lines("cluster.local_checkout", sys, *local, s, duration, 0);
    if (sel.remote) {
      auto remote = pool::find_pool(sys, "database@node-b");
      if (!remote)
        throw std::runtime_error("database@node-b: " + supervision::describe(remote.error()));
      checkout_lines("cluster.remote_checkout", sys, *remote, s, duration, tcp_p50);
      directory_lines(sys, b_port, s, duration, tcp_p50);
    }
  } catch (...) {
    cleanup();
    throw;
  }
  cleanup();
}

bool cluster_ran = false;

} // namespace

// Registered under each line's name; the first match runs every line the
// filter selects, in one pair of processes per scheduler setting.
void bench_cluster(const options& opts) {
  if (cluster_ran)
    return;
  cluster_ran = true;
  auto wants = [&](const char* name) { return std::string{name}.find(opts.filter) != std::string::npos; };
  selection sel;
  sel.local = wants("cluster.local_checkout");
  sel.remote = wants("cluster.remote_checkout");
  sel.tcp = sel.remote || wants("cluster.tcp_roundtrip"); // the remote lines' reference
  if (sel.remote && ::access(OTPP_NODE_PATH, X_OK) != 0) {
    std::cerr << "otpp-bench: cluster.remote_checkout needs otpp-node, not found at '" OTPP_NODE_PATH
                 "' (build the otpp-node target); remote lines skipped\n";
    std::cout << json_line("cluster.remote_checkout",
                           {{"error", quoted("otpp-node not found at '" OTPP_NODE_PATH "'")}})
              << std::endl;
    sel.remote = false;
  }
  for (const auto& s : settings) {
    try {
      run_round(s, sel, opts);
    } catch (const std::exception& e) { // every process of the round is gone by now
      std::cerr << "otpp-bench: cluster (scheduler " << s.name << "): " << e.what() << "\n";
      std::cout << json_line("cluster", {{"scheduler", quoted(s.name)}, {"error", quoted(e.what())}}) << std::endl;
      std::exit(1);
    }
  }
}

} // namespace otpp::bench
