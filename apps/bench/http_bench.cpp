// otpp-bench: the node's HTTP endpoint under hostile clients (issue 15). The
// node is an otpp-node process (pool "db", `[http]` at its defaults on a
// loopback port), so that its RSS is its own; every client is in this process,
// on plain blocking sockets with 5 s timeouts. Lines:
// - http.slow_clients: 64 slow clients (each sends one header byte every 2 s
//   and reconnects when the endpoint drops it) stay connected while 1,000
//   short connections (GET /health, 50 client threads) run and /health is
//   polled every 10 ms by one more thread over 10 s: the poll's p50/p99/max
//   and failures, the short connections' outcomes;
// - http.burst: 1,000 connections opened at once (all connected before any
//   sends its request), then each sends GET /health: how many were served,
//   answered 503 (beyond max_connections), failed or timed out;
// - http.big_body: POST with Content-Length 256 MB (to the probe route and
//   to a route that does not exist), the body streamed until the endpoint
//   closes: its status, how fast it answered, how many bytes the client got
//   to send, and the node's RSS (VmRSS) before and after, and its peak (VmHWM);
// - http.many_headers: 200,000 header lines: status and RSS as above.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "apps/bench/common.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/loopback_socket.hpp"

namespace otpp::bench {

namespace {

using ms_double = std::chrono::duration<double, std::milli>;

int connect_to(int port, int timeout_s = 5) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  timeval tv{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  for (std::size_t sent = 0; sent < bytes.size();) {
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// The status of the answer read until the endpoint closes: -1 for an error
// or nothing, -2 for a timeout.
int read_status(int fd) {
  std::string got;
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      got.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return -2;
    break;
  }
  if (got.compare(0, 9, "HTTP/1.1 ") != 0 || got.size() < 12)
    return -1;
  return std::atoi(got.c_str() + 9);
}

const std::string health_request = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

int get_health(int port) {
  int fd = connect_to(port);
  if (fd < 0)
    return -1;
  int status = send_all(fd, health_request) ? read_status(fd) : -1;
  ::close(fd);
  return status;
}

long proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, field.size() + 1, field + ":") == 0)
      return std::atol(line.c_str() + field.size() + 1);
  return -1;
}

struct node_process {
  explicit node_process(int port) : port(port) {
    char name[] = "/tmp/otpp-http-bench-XXXXXX";
    int fd = ::mkstemp(name);
    std::string toml = "[node]\nname = \"http-bench\"\n[logging]\nlevel = \"error\"\n"
                       "[pools.db]\nsize = 2\nmax_overflow = 0\n[http]\nlisten = \"127.0.0.1:"
                       + std::to_string(port) + "\"\n";
    if (fd < 0 || ::write(fd, toml.data(), toml.size()) != static_cast<ssize_t>(toml.size()))
      throw std::runtime_error("http bench: cannot write the node's file");
    ::close(fd);
    file = name;
    process = std::make_unique<test::child_process>(std::vector<std::string>{OTPP_NODE_PATH, file},
                                                    test::child_process::output::err);
    auto deadline = bench_clock::now() + std::chrono::seconds{10};
    while (get_health(port) != 200) {
      if (bench_clock::now() > deadline)
        throw std::runtime_error("http bench: the node's /health does not answer");
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
  }
  ~node_process() {
    process.reset();
    std::remove(file.c_str());
  }
  long rss_kb() const { return proc_status_kb(process->pid(), "VmRSS"); }
  long hwm_kb() const { return proc_status_kb(process->pid(), "VmHWM"); }

  int port;
  std::string file;
  std::unique_ptr<test::child_process> process;
};

// 64 connections that each send one byte of a request head every 2 s and
// reconnect when the endpoint closes them.
class slow_clients {
public:
  slow_clients(int port, int count) : port_(port) {
    for (int i = 0; i < count; ++i)
      fds_.push_back(open());
    thread_ = std::thread([this] { run(); });
  }
  ~slow_clients() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_)
      if (fd >= 0)
        ::close(fd);
  }
  int reconnects() const { return reconnects_; }

private:
  int open() {
    int fd = connect_to(port_);
    if (fd >= 0)
      send_all(fd, "G");
    return fd;
  }

  void run() {
    static const std::string head = "ET /health HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    std::size_t next = 0;
    while (!stop_) {
      for (int& fd : fds_) {
        char c;
        bool closed = fd < 0 || ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) >= 0;
        if (closed || !send_all(fd, head.substr(next % head.size(), 1))) {
          if (fd >= 0)
            ::close(fd);
          fd = open();
          ++reconnects_;
        }
      }
      ++next;
      for (int i = 0; i < 20 && !stop_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds{100}); // the clients' pace
    }
  }

  int port_;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<int> reconnects_{0};
  std::thread thread_;
};

struct outcomes {
  std::atomic<int> ok{0}, busy{0}, failed{0}, timed_out{0};
  void count(int status) {
    (status == 200 ? ok : status == 503 ? busy : status == -2 ? timed_out : failed)++;
  }
  std::vector<std::pair<std::string, std::string>> fields(const std::string& prefix) const {
    return {{prefix + "ok", std::to_string(ok)}, {prefix + "503", std::to_string(busy)},
            {prefix + "failed", std::to_string(failed)}, {prefix + "timed_out", std::to_string(timed_out)}};
  }
};

void slow_clients_line(int port) {
  slow_clients slow{port, 64};
  std::atomic<bool> polling{true};
  std::vector<double> latencies;
  int poll_failures = 0;
  std::thread poller([&] {
    while (polling) {
      auto start = bench_clock::now();
      auto status = get_health(port);
      latencies.push_back(ms_double(bench_clock::now() - start).count());
      if (status != 200)
        ++poll_failures;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  });
  auto start = bench_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds{2}); // the slow clients settle in
  outcomes shorts;
  std::vector<double> short_ms;
  std::mutex short_mtx;
  std::vector<std::thread> clients;
  for (int t = 0; t < 50; ++t)
    clients.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto begin = bench_clock::now();
        shorts.count(get_health(port));
        std::lock_guard<std::mutex> guard{short_mtx};
        short_ms.push_back(ms_double(bench_clock::now() - begin).count());
      }
    });
  for (auto& c : clients)
    c.join();
  while (bench_clock::now() - start < std::chrono::seconds{10})
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  polling = false;
  poller.join();
  std::vector<std::pair<std::string, std::string>> fields{
    {"slow_clients", "64"},
    {"short_connections", "1000"},
    {"health_polls", std::to_string(latencies.size())},
    {"health_p50_ms", num(percentile(latencies, 0.5))},
    {"health_p99_ms", num(percentile(latencies, 0.99))},
    {"health_max_ms", num(percentile(latencies, 1.0))},
    {"health_failures", std::to_string(poll_failures)},
    {"short_p50_ms", num(percentile(short_ms, 0.5))},
    {"short_p99_ms", num(percentile(short_ms, 0.99))},
    {"slow_reconnects", std::to_string(slow.reconnects())},
  };
  for (auto& f : shorts.fields("short_"))
    fields.push_back(f);
  std::cout << json_line("http.slow_clients", fields) << std::endl;
}

void burst_line(int port) {
  std::vector<int> fds;
  auto start = bench_clock::now();
  outcomes burst;
  for (int i = 0; i < 1000; ++i)
    fds.push_back(connect_to(port));
  for (int fd : fds)
    if (fd >= 0)
      send_all(fd, health_request);
  for (int fd : fds) {
    burst.count(fd >= 0 ? read_status(fd) : -1);
    if (fd >= 0)
      ::close(fd);
  }
  auto fields = burst.fields("");
  fields.insert(fields.begin(), {"connections", "1000"});
  fields.push_back({"wall_ms", num(ms_double(bench_clock::now() - start).count())});
  std::cout << json_line("http.burst", fields) << std::endl;
}

// Sends `head` and then up to `body_bytes` of body until the endpoint stops taking it.
void oversized_line(const node_process& node, const std::string& bench, const std::string& label, const std::string& head,
                    std::size_t body_bytes) {
  auto rss_before = node.rss_kb();
  auto hwm_before = node.hwm_kb();
  int fd = connect_to(node.port);
  auto start = bench_clock::now();
  std::size_t sent = 0;
  bool head_sent = send_all(fd, head);
  std::string chunk(1 << 16, 'x');
  while (head_sent && sent < body_bytes) {
    auto n = ::send(fd, chunk.data(), std::min(chunk.size(), body_bytes - sent), MSG_NOSIGNAL);
    if (n <= 0)
      break;
    sent += static_cast<std::size_t>(n);
  }
  auto status = read_status(fd);
  auto answer_ms = ms_double(bench_clock::now() - start).count();
  ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds{200}); // let the node settle before reading its RSS
  auto rss_after = node.rss_kb();
  std::cout << json_line(bench, {{"request", quoted(label)},
                                 {"status", std::to_string(status)},
                                 {"answer_ms", num(answer_ms)},
                                 {"client_sent_body_bytes", std::to_string(sent)},
                                 {"rss_before_kb", std::to_string(rss_before)},
                                 {"rss_after_kb", std::to_string(rss_after)},
                                 {"rss_growth_kb", std::to_string(rss_after - rss_before)},
                                 {"hwm_growth_kb", std::to_string(node.hwm_kb() - hwm_before)}})
            << std::endl;
}

} // namespace

void bench_http(const options&) {
  node_process node{test::free_loopback_port()};
  slow_clients_line(node.port);
  burst_line(node.port);
  constexpr std::size_t big = 256u << 20;
  for (std::string path : {"/pools/db/probe", "/no/such/route"})
    oversized_line(node, "http.big_body", "POST " + path + " 256 MB",
                   "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(big) + "\r\n\r\n", big);
  std::string many = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 200000; ++i)
    many += "X-H" + std::to_string(i) + ": 1\r\n";
  oversized_line(node, "http.many_headers", "GET /health with 200000 headers", many + "\r\n", 0);
}

} // namespace otpp::bench
