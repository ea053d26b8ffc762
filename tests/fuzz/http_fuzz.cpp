// Fuzz target: the node's HTTP endpoint, as a client reaches it.
//
// One node with an HTTP endpoint on a loopback port runs for the whole
// process. Each input is written as it is to a fresh TCP connection, whose
// sending side is then shut; the answer is read until the endpoint closes
// (or for a few seconds at most). The endpoint must never crash, hang or
// leak, anything it answers must be an HTTP response, and after an exchange
// that timed out it must still answer GET /health. With the environment
// variable OTPP_FUZZ_SHOW_ANSWERS set, each answer's first line goes to stderr.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "otpp/config/loader.hpp"
#include "otpp/config/node.hpp"
#include "otpp/supervision/errors.hpp"

namespace {

// Every route has something to show: pools of both kinds, a limiter, a breaker.
const char* node_toml = R"(
[node]
name = "fuzz-node"
[logging]
level = "critical"
[rate_limiters.api]
algorithm = "fixed_window"
scale_ms = 1000
limit = 10
[breakers.svc]
window_size = 10
[pools.db]
size = 2
max_overflow = 1
worker = "echo"
[pools.slow]
size = 1
max_overflow = 0
worker = "sleep"
[pools.slow.worker_args]
delay_ms = 1
[http]
listen = "127.0.0.1:0"
)";

constexpr auto exchange_timeout = std::chrono::seconds{3};
constexpr std::size_t max_answer = 4 << 20;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "http_fuzz: %s\n", what.c_str());
  std::abort();
}

std::unique_ptr<otpp::config::node> start_node() {
  auto loaded = otpp::config::load_string(node_toml, "http_fuzz.toml");
  if (!loaded.config)
    fail("the node's configuration: " + loaded.problems.front().to_string());
  auto started = otpp::config::node::start(*loaded.config);
  if (!started)
    fail("the node does not start: " + otpp::supervision::describe(started.error()));
  if ((*started)->http_port() <= 0)
    fail("the node has no HTTP port");
  return std::move(*started);
}

// The node, started and stopped by a thread of its own, so that no CAF code
// runs on the main thread: a node started there and destroyed by its exit
// handlers (a function-local static) corrupted the heap in ~actor_system,
// most likely because that thread's thread-local state is gone by then.
class node_owner {
public:
  node_owner() : thread_([this] { run(); }) {
    std::unique_lock<std::mutex> lock{mutex_};
    changed_.wait(lock, [this] { return port_ > 0; });
  }

  ~node_owner() {
    {
      std::lock_guard<std::mutex> lock{mutex_};
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  int port() const { return port_; }

private:
  void run() {
    auto node = start_node();
    std::unique_lock<std::mutex> lock{mutex_};
    port_ = node->http_port();
    changed_.notify_all();
    changed_.wait(lock, [this] { return stop_; });
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  int port_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// The endpoint's port; the node starts on first use and stops at exit.
int endpoint_port() {
  static node_owner owner;
  return owner.port();
}

struct answer {
  std::string bytes;
  bool timed_out = false;
};

void set_timeouts(int fd) {
  timeval tv{};
  tv.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(exchange_timeout).count();
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// After connect() was interrupted by a signal (libFuzzer's timer): the
// connection goes on; waits until it is made or refused (errno then says why).
bool finish_connect(int fd) {
  if (errno != EINTR)
    return false;
  pollfd p{fd, POLLOUT, 0};
  int ready;
  while ((ready = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds{exchange_timeout}.count()))) < 0
         && errno == EINTR) {
  }
  if (ready <= 0) {
    errno = ready == 0 ? ETIMEDOUT : errno;
    return false;
  }
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  errno = error;
  return error == 0;
}

int connect_to_endpoint() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail("socket: " + std::string{std::strerror(errno)});
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(endpoint_port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && !finish_connect(fd))
    fail("cannot connect to the endpoint: " + std::string{std::strerror(errno)});
  set_timeouts(fd);
  return fd;
}

// Sends what it can: the endpoint may answer and close before reading it all.
void send_request(int fd, const char* data, std::size_t size, answer& a) {
  while (size > 0) {
    auto n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      a.timed_out = errno == EAGAIN || errno == EWOULDBLOCK;
      return;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void read_answer(int fd, answer& a) {
  auto deadline = std::chrono::steady_clock::now() + exchange_timeout;
  char buf[16384];
  while (a.bytes.size() < max_answer) {
    if (std::chrono::steady_clock::now() > deadline) {
      a.timed_out = true;
      return;
    }
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0)
      a.bytes.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno == ECONNRESET)
      return;
    else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      a.timed_out = true;
      return;
    } else if (errno != EINTR)
      return;
  }
}

answer exchange(const char* data, std::size_t size) {
  answer a;
  int fd = connect_to_endpoint();
  send_request(fd, data, size, a);
  ::shutdown(fd, SHUT_WR);
  if (!a.timed_out)
    read_answer(fd, a);
  ::close(fd);
  return a;
}

void require_health_answers() {
  static const std::string health = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  auto a = exchange(health.data(), health.size());
  if (a.bytes.rfind("HTTP/1.1 200", 0) != 0)
    fail("after an exchange that timed out, GET /health does not answer 200 within "
         + std::to_string(exchange_timeout.count()) + " s; it answered '" + a.bytes.substr(0, 80) + "'");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto a = exchange(reinterpret_cast<const char*>(data), size);
  static const bool show = std::getenv("OTPP_FUZZ_SHOW_ANSWERS") != nullptr;
  if (show)
    std::fprintf(stderr, "  answer: %zu bytes%s: %s\n", a.bytes.size(), a.timed_out ? " (timed out)" : "",
                 a.bytes.substr(0, a.bytes.find('\r')).c_str());
  if (!a.bytes.empty() && a.bytes.rfind("HTTP/1.", 0) != 0)
    fail("an answer that is not an HTTP response: '" + a.bytes.substr(0, 80) + "'");
  if (a.timed_out)
    require_health_answers();
  return 0;
}
