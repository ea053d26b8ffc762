// otpp-bench: the cluster (issue 8). For each scheduler setting (applied to
// both processes), one pair of processes: this one (node-a) and an otpp-node
// (node-b) running the pool "database" of echo workers, plus a forked echo
// peer for the raw TCP reference. Lines:
// - cluster.tcp_roundtrip: 32-byte blocking ping-pong, TCP_NODELAY (the reference);
// - cluster.local_checkout: the pool in this process;
// - cluster.remote_checkout: "database@node-b"; window 1 from a plain thread
//   (pool_ref::checkout + release, with vs_tcp_roundtrip) and from an actor,
//   windows 16 and 128 from an actor keeping that many checkout requests
//   outstanding and checking each worker in at once; caller "actor_no_proxy"
//   (diagnostic) does the same straight to node-b's directory, without the proxy;
// - cluster.caf_roundtrip (diagnostic): a status request to node-b's directory,
//   CAF's bare remote request/response;
// - cluster.idle_cpu: both processes of the plain round, up and idle for 3 s;
// - cluster.connect: the set-up time of a connection to node-b, "fresh" from
//   a new actor system (a new CAF node) each sample (TCP connect, the TLS
//   handshake if any, CAF's handshake), and "membership_up_us" once per
//   round: from membership::start of node-a until node-b is up (connect plus
//   the hello exchange), node-b already listening.
// After the plain round of a scheduler setting, a second pair of processes
// runs the remote lines (without actor_no_proxy) and cluster.connect with
// mutual TLS ("transport":"tls", libcaf_openssl): a throwaway CA and one EC
// prime256v1 certificate per node, made with the openssl command line in a
// temporary directory removed at the end. "vs_plain" on the TLS lines: p50
// TLS / p50 plain of the same setting in the same run.
// cpu_us_per_op and switches_per_op count every process of the round (CPU
// time, and context switches of all their threads) per operation. The
// actors' requests wait with caf::infinite, as docs/cluster.md recommends
// for a remote pool's actor (in CAF 0.17 a request timeout wakes the clock
// thread twice per request).
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
#include <caf/openssl/remote_actor.hpp>

#include "otpp/actors/cluster/cluster.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "apps/bench/common.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/system_setup.hpp"
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

// -- every spawned process and temporary file, also on SIGINT/SIGTERM/SIGHUP ------

// The processes to kill if a signal ends the bench (the echo peer, node-b).
std::atomic<pid_t> children[4];

void track(pid_t pid) {
  for (auto& c : children) {
    pid_t none = 0;
    if (c.compare_exchange_strong(none, pid))
      return;
  }
}

void untrack(pid_t pid) {
  for (auto& c : children) {
    pid_t p = pid;
    c.compare_exchange_strong(p, 0);
  }
}

// The bench's temporary directory and the files it may hold: fixed before
// the handlers are installed, read only by them.
std::string work_path;
std::vector<std::string> work_files;

extern "C" void on_fatal_signal(int sig) {
  for (auto& c : children)
    if (pid_t p = c.load(); p > 0)
      ::kill(p, SIGKILL);
  for (auto& f : work_files)
    ::unlink(f.c_str());
  if (!work_path.empty())
    ::rmdir(work_path.c_str());
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// A temporary directory: node-b's TOML file and, on demand, a throwaway CA
// and node certificates. Removed with everything in it on destruction or
// remove(); while it exists, SIGINT, SIGTERM and SIGHUP kill the spawned
// processes and remove it before ending the bench.
class workdir {
public:
  workdir() {
    char name[] = "/tmp/otpp-bench-cluster-XXXXXX";
    if (!::mkdtemp(name))
      throw std::runtime_error(std::string{"mkdtemp failed: "} + std::strerror(errno));
    work_path = name;
    for (auto f : {"node-b.toml", "ca.key", "ca.pem", "ca.srl"})
      work_files.push_back(path(f));
    for (auto node : {"node-a", "node-b"})
      for (auto ext : {".key", ".csr", ".pem"})
        work_files.push_back(path(std::string{node} + ext));
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP})
      ::sigaction(sig, &sa, &old_[sig == SIGINT ? 0 : sig == SIGTERM ? 1 : 2]);
    installed_ = true;
  }

  ~workdir() { remove(); }
  workdir(const workdir&) = delete;
  workdir& operator=(const workdir&) = delete;

  static std::string path(const std::string& name) { return work_path + "/" + name; }

  /// Mutual TLS for `node`: its certificate signed by the bench's CA (made
  /// on the first call).
  cluster::tls_config tls_of(const std::string& node) {
    if (!ca_) {
      openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
               path("ca.key"), "-out", path("ca.pem"), "-days", "1", "-subj", "/CN=otpp-bench-ca"});
      ca_ = true;
    }
    openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             path(node + ".key"), "-out", path(node + ".csr"), "-subj", "/CN=" + node});
    openssl({"x509", "-req", "-in", path(node + ".csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
             "-set_serial", std::to_string(++serial_), "-out", path(node + ".pem"), "-days", "1"});
    return {path(node + ".pem"), path(node + ".key"), path("ca.pem"), ""};
  }

  void remove() {
    if (installed_) {
      installed_ = false;
      ::sigaction(SIGINT, &old_[0], nullptr);
      ::sigaction(SIGTERM, &old_[1], nullptr);
      ::sigaction(SIGHUP, &old_[2], nullptr);
    }
    if (!work_path.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(work_path, ignored);
    }
    work_path.clear();
    work_files.clear();
  }

private:
  static void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    auto r = test::run(args);
    if (r.code != 0)
      throw std::runtime_error("openssl " + args.at(1) + ": " + r.output);
  }

  bool ca_ = false;
  int serial_ = 0;
  bool installed_ = false;
  struct sigaction old_[3] {};
};

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
    if (pid_ > 0)
      track(pid_);
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
      untrack(pid_);
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

// otpp-node with [node] scheduler settings, the pool and [cluster] from `c`
// (with [cluster.tls] if set); logs warnings and worse on stderr (read only
// on failure). Killed and its file removed on destruction.
class node_b {
public:
  node_b(const setting& s, const cluster::cluster_config& c) {
    file_ = workdir::path("node-b.toml");
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
    if (c.tls)
      out << "[cluster.tls]\ncertificate = \"" << c.tls->certificate << "\"\nkey = \"" << c.tls->key
          << "\"\ncafile = \"" << c.tls->cafile << "\"\n";
    out.close();
    proc_ = std::make_unique<test::child_process>(std::vector<std::string>{OTPP_NODE_PATH, file_},
                                                  test::child_process::output::err);
    track(proc_->pid());
  }

  ~node_b() {
    auto pid = proc_->pid();
    proc_.reset();
    untrack(pid);
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
  pool,               ///< checkout from the pool's actor (a remote pool's proxy), pool_ref::checkin
  directory_checkout, ///< checkout from node-b's directory directly, checkin to it (no proxy)
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
        request(pool_.actor(), caf::infinite, pool::checkout_atom::value, true, std::chrono::milliseconds{5000})
          .then(
            [this, t0](caf::actor& worker) {
              pool_.checkin(worker);
              done(t0);
            },
            failed);
        break;
      case path::directory_checkout:
        request(dir_, caf::infinite, pool::checkout_atom::value, std::string{"database"}, true, uint32_t{5000})
          .then(
            [this, t0](caf::actor& worker) {
              caf::anon_send(dir_, pool::checkin_atom::value, std::string{"database"}, worker);
              done(t0);
            },
            failed);
        break;
      case path::directory_status:
        request(dir_, caf::infinite, pool::status_atom::value, std::string{"database"})
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

// cluster.idle_cpu: both nodes up and heartbeating, nothing else happening,
// for 3 s: the CPU (percent of one core) and context switches per second of
// both processes.
void idle_line(const setting& s) {
  constexpr auto idle = 3s;
  auto before = usage_now();
  std::this_thread::sleep_for(idle);
  auto after = usage_now();
  auto secs = std::chrono::duration<double>(idle).count();
  std::cout << json_line("cluster.idle_cpu", {{"scheduler", quoted(s.name)},
                                              {"seconds", num(secs)},
                                              {"percent_of_core", num((after.cpu_s - before.cpu_s) * 100 / secs)},
                                              {"switches_per_s", num(static_cast<double>(after.switches - before.switches) / secs)}})
            << std::endl;
}

// -- one round: both processes under one scheduler setting ----------------------

struct selection {
  bool tcp = false;
  bool local = false;
  bool remote = false;
};

/// The figures of a setting's plain round that its TLS lines compare with.
struct plain_figures {
  double tcp_p50 = 0;         ///< cluster.tcp_roundtrip
  double thread_p50 = 0;      ///< cluster.remote_checkout, thread, window 1
  double caf_p50 = 0;         ///< cluster.caf_roundtrip, window 1
  double connect_p50 = 0;     ///< cluster.connect, a fresh connection
  double membership_up = 0;   ///< cluster.connect, membership start until node-b is up
};

using fields_t = std::vector<std::pair<std::string, std::string>>;

/// `name: x / base` if there is a base.
void add_ratio(fields_t& f, const char* name, double x, double base) {
  if (base > 0)
    f.emplace_back(name, num(x / base));
}

const char* transport_name(bool tls) {
  return tls ? "tls" : "plain";
}

void print_checkout(const std::string& bench, const setting& s, bool tls, const char* caller, int window,
                    const measured& m, const fields_t& extra = {}) {
  fields_t fields{{"transport", quoted(transport_name(tls))},
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

// The checkout lines; the p50 of the thread's window 1.
double checkout_lines(const std::string& bench, caf::actor_system& sys, const pool::pool_ref& p, const setting& s,
                      bool tls, std::chrono::milliseconds duration, const plain_figures& plain) {
  auto sequential = thread_run(p, duration);
  auto p50 = percentile(sequential.latencies_ns, 0.50);
  fields_t ratio;
  if (bench == "cluster.remote_checkout") {
    add_ratio(ratio, "vs_tcp_roundtrip", p50, plain.tcp_p50);
    if (tls)
      add_ratio(ratio, "vs_plain", p50, plain.thread_p50);
  }
  print_checkout(bench, s, tls, "thread", 1, sequential, ratio);
  for (int window : {1, 16, 128})
    print_checkout(bench, s, tls, "actor", window, window_run(sys, path::pool, p, {}, window, duration));
  return p50;
}

// Diagnostics of the remote lines: the same work without the proxy (plain
// only), and CAF's bare remote request/response to node-b's directory. The
// p50 of that round trip, window 1.
double directory_lines(caf::actor_system& sys, uint16_t b_port, const setting& s, bool tls,
                       std::chrono::milliseconds duration, const plain_figures& plain) {
  // the connection node-a's membership made, from CAF's cache
  auto dir = tls ? caf::openssl::remote_actor<cluster::directory_actor>(sys, "127.0.0.1", b_port)
                 : sys.middleman().remote_actor<cluster::directory_actor>("127.0.0.1", b_port);
  if (!dir)
    throw std::runtime_error("node-b's directory: " + supervision::describe(dir.error()));
  if (!tls)
    for (int window : {1, 128}) {
      auto m = window_run(sys, path::directory_checkout, {}, *dir, window, duration);
      print_checkout("cluster.remote_checkout", s, tls, "actor_no_proxy", window, m);
    }
  double p50_1 = 0;
  for (int window : {1, 128}) {
    auto m = window_run(sys, path::directory_status, {}, *dir, window, duration);
    auto p50 = percentile(m.latencies_ns, 0.50);
    fields_t fields{{"transport", quoted(transport_name(tls))},
                    {"scheduler", quoted(s.name)},
                    {"caller", quoted("actor")},
                    {"window", std::to_string(window)},
                    {"ops_per_s", num(m.ops_per_s)},
                    {"p50_ns", num(p50)},
                    {"p99_ns", num(percentile(m.latencies_ns, 0.99))},
                    {"cpu_us_per_op", num(m.cpu_us_per_op)},
                    {"switches_per_op", num(m.switches_per_op)}};
    if (window == 1) {
      p50_1 = p50;
      add_ratio(fields, "vs_tcp_roundtrip", p50, plain.tcp_p50);
      if (tls)
        add_ratio(fields, "vs_plain", p50, plain.caf_p50);
    }
    std::cout << json_line("cluster.caf_roundtrip", fields) << std::endl;
  }
  return p50_1;
}

// Until node-b accepts TCP connections on its cluster port.
void wait_listening(uint16_t port, node_b& b, std::chrono::milliseconds bound) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  for (auto deadline = bench_clock::now() + bound;;) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd >= 0)
      ::close(fd);
    if (ok)
      return;
    if (bench_clock::now() >= deadline)
      throw std::runtime_error("node-b (" OTPP_NODE_PATH ") not listening on 127.0.0.1:" + std::to_string(port)
                               + " after " + std::to_string(bound.count()) + " ms; its output: " + b.output());
    std::this_thread::sleep_for(2ms);
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
    std::this_thread::sleep_for(1ms);
  }
}

constexpr int connect_samples = 8;

// cluster.connect: `connect_samples` fresh connections to node-b's directory,
// each from a new actor system (a new CAF node, same scheduler setting and
// transport as node-a); the p50.
double connect_line(const setting& s, const cluster::cluster_config& a_cluster, uint16_t b_port, node_b& b,
                    double membership_up, const plain_figures& plain) {
  auto probe = a_cluster; // node-a's certificate; CAF's node identity is not the certificate's
  probe.peers.clear();
  std::vector<double> samples;
  for (int i = 0; i < connect_samples; ++i) {
    node_a_config cfg{s, probe};
    caf::actor_system sys{cfg};
    auto t0 = bench_clock::now();
    auto dir = probe.tls ? caf::openssl::remote_actor<cluster::directory_actor>(sys, "127.0.0.1", b_port)
                         : sys.middleman().remote_actor<cluster::directory_actor>("127.0.0.1", b_port);
    auto ns = ns_since(t0);
    if (!dir)
      throw std::runtime_error("a fresh connection to node-b: " + supervision::describe(dir.error())
                               + "; its output: " + b.output());
    samples.push_back(ns);
  }
  auto p50 = percentile(samples, 0.50);
  fields_t fields{{"transport", quoted(transport_name(probe.tls.has_value()))},
                  {"scheduler", quoted(s.name)},
                  {"fresh_samples", std::to_string(connect_samples)},
                  {"fresh_p50_us", num(p50 / 1e3)},
                  {"fresh_max_us", num(*std::max_element(samples.begin(), samples.end()) / 1e3)},
                  {"membership_up_us", num(membership_up / 1e3)}};
  if (probe.tls) {
    add_ratio(fields, "vs_plain", p50, plain.connect_p50);
    add_ratio(fields, "membership_up_vs_plain", membership_up, plain.membership_up);
  }
  std::cout << json_line("cluster.connect", fields) << std::endl;
  return p50;
}

// One pair of processes under setting `s`: node-a (this process) and node-b,
// plain or with mutual TLS. The plain round fills `plain`; the TLS round
// (remote lines only) compares with it.
void run_round(const setting& s, const selection& sel, const options& opts, workdir& dir, bool tls,
               plain_figures& plain) {
  auto duration = std::max(opts.duration / 2, std::chrono::milliseconds{100});
  std::optional<echo_peer> echo;
  if (sel.tcp)
    echo.emplace(); // before any thread of this round exists
  std::optional<node_b> b;
  auto b_port = static_cast<uint16_t>(test::free_loopback_port());
  auto a_cluster = cluster_of("node-a", 0);
  if (tls)
    a_cluster.tls = dir.tls_of("node-a");
  if (sel.remote) {
    auto b_cluster = cluster_of("node-b", b_port);
    if (tls)
      b_cluster.tls = dir.tls_of("node-b");
    b.emplace(s, b_cluster);
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
    if (sel.remote)
      wait_listening(b_port, *b, 10s);
    auto membership_start = bench_clock::now();
    auto m = cluster::membership::start(sys, a_cluster, {});
    if (!m)
      throw std::runtime_error("membership of node-a: " + supervision::describe(m.error()));
    membership = std::move(*m);
    double membership_up = 0;
    if (sel.remote) {
      wait_up(*membership, *b, 10s);
      membership_up = ns_since(membership_start);
    }
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
      plain.tcp_p50 = percentile(rtt, 0.50);
      std::cout << json_line("cluster.tcp_roundtrip", {{"transport", quoted("plain")},
                                                       {"scheduler", quoted(s.name)},
                                                       {"bytes", std::to_string(tcp_bytes)},
                                                       {"round_trips_per_s", num(static_cast<double>(rtt.size())
                                                         / std::chrono::duration<double>(bench_clock::now() - start).count())},
                                                       {"p50_ns", num(plain.tcp_p50)},
                                                       {"p99_ns", num(percentile(rtt, 0.99))},
                                                       {"cpu_us_per_op", num(m.cpu_us_per_op)},
                                                       {"switches_per_op", num(m.switches_per_op)}})
                << std::endl;
    }
    watched = {::getpid()};
    if (b)
      watched.push_back(b->pid());
    if (local)
      checkout_lines("cluster.local_checkout", sys, *local, s, tls, duration, plain);
    if (sel.remote && !tls)
      idle_line(s);
    if (sel.remote) {
      auto remote = pool::find_pool(sys, "database@node-b");
      if (!remote)
        throw std::runtime_error("database@node-b: " + supervision::describe(remote.error()));
      auto thread_p50 = checkout_lines("cluster.remote_checkout", sys, *remote, s, tls, duration, plain);
      auto caf_p50 = directory_lines(sys, b_port, s, tls, duration, plain);
      auto connect_p50 = connect_line(s, a_cluster, b_port, *b, membership_up, plain);
      if (!tls) {
        plain.thread_p50 = thread_p50;
        plain.caf_p50 = caf_p50;
        plain.connect_p50 = connect_p50;
        plain.membership_up = membership_up;
      }
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
// filter selects, in one pair of processes per scheduler setting and
// transport.
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
  std::optional<workdir> dir;
  for (const auto& s : settings) {
    plain_figures plain;
    for (bool tls : {false, true}) {
      if (tls && !sel.remote)
        continue;
      selection round = sel;
      if (tls)
        round.tcp = round.local = false; // the TLS round: the remote lines only
      try {
        if (!dir)
          dir.emplace();
        run_round(s, round, opts, *dir, tls, plain);
      } catch (const std::exception& e) { // every process of the round is gone by now
        dir.reset(); // std::exit skips destructors
        std::cerr << "otpp-bench: cluster (scheduler " << s.name << ", " << transport_name(tls) << "): " << e.what()
                  << "\n";
        std::cout << json_line("cluster", {{"scheduler", quoted(s.name)},
                                           {"transport", quoted(transport_name(tls))},
                                           {"error", quoted(e.what())}})
                  << std::endl;
        std::exit(1);
      }
    }
  }
}

} // namespace otpp::bench
