#include "otpp/config/http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <nlohmann/json.hpp>

#include "otpp/supervision/errors.hpp"

namespace otpp::config::detail {

namespace {

using clock_type = std::chrono::steady_clock;

// Set on the accept thread while it runs a connection it has no room for.
thread_local bool rejecting = false;

// Connection threads, started as needed up to a bound. A connection that
// finds every thread taken is run on the accept thread in `rejecting` mode,
// which answers 503 and closes it at once.
class bounded_task_queue : public httplib::TaskQueue {
public:
  explicit bounded_task_queue(std::size_t max_threads) : max_(max_threads) {}

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (jobs_.size() + busy_ < max_) {
        jobs_.push_back(std::move(fn));
        if (idle_ < jobs_.size() && threads_.size() < max_)
          threads_.emplace_back([this] { work(); });
        cv_.notify_one();
        return;
      }
    }
    rejecting = true;
    fn();
    rejecting = false;
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      t.join();
  }

private:
  void work() {
    std::unique_lock<std::mutex> lock{mtx_};
    for (;;) {
      ++idle_;
      cv_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
      --idle_;
      if (jobs_.empty())
        return; // stopping, nothing left
      auto fn = std::move(jobs_.front());
      jobs_.pop_front();
      ++busy_;
      lock.unlock();
      fn();
      lock.lock();
      --busy_;
    }
  }

  const std::size_t max_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_; // only the accept thread adds to it
  std::size_t idle_ = 0;
  std::size_t busy_ = 0;
  bool stopping_ = false;
};

const char* reason(int status) {
  switch (status) {
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

std::string bare_response(int status) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason(status)
         + "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0)
    return;
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  } else if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  }
  ip = text;
}

// One accepted connection: a non-blocking socket (and TLS session) that
// httplib reads and writes through, with every wait bounded by a deadline
// and by the server's stop signal. A request's head is counted byte by byte
// as httplib reads it; its body can be read only after the gate allowed it,
// and only as many bytes as its Content-Length.
class connection final : public httplib::Stream {
public:
  connection(int fd, SSL_CTX* tls, const http_limits& limits, int stop_fd)
    : fd_(fd), limits_(limits), stop_fd_(stop_fd) {
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    if (tls) {
      ssl_ = SSL_new(tls);
      if (ssl_)
        SSL_set_fd(ssl_, fd_);
    }
  }

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  ~connection() override { close(); }

  // The TLS handshake (nothing for plain HTTP), within the read timeout.
  bool handshake(bool tls) {
    if (!tls)
      return true;
    if (!ssl_)
      return false;
    auto deadline = clock_type::now() + limits_.read_timeout;
    for (;;) {
      auto rc = SSL_accept(ssl_);
      if (rc == 1)
        return true;
      if (!tls_retry(rc, deadline)) {
        broken_ = true;
        return false;
      }
    }
  }

  // Waits up to `timeout` for the next request's first byte.
  bool next_request(std::chrono::milliseconds timeout) {
    if (closing())
      return false;
    if (pos_ == len_ && !(ssl_ && SSL_pending(ssl_) > 0) && !wait(POLLIN, clock_type::now() + timeout))
      return false;
    read_deadline_ = clock_type::now() + limits_.read_timeout;
    write_deadline_.reset();
    timed_out_ = false;
    in_head_ = true;
    head_bytes_ = 0;
    head_lines_ = 0;
    body_left_ = 0;
    return true;
  }

  // The gate let the request through: its body may be read, `bytes` of it.
  void allow_body(std::size_t bytes) {
    in_head_ = false;
    body_left_ = bytes;
  }

  // The gate answered: the body stays unread and the connection closes.
  void close_after_response() {
    in_head_ = false;
    body_left_ = 0;
    closing_ = true;
  }

  bool closing() const { return closing_ || done_ || broken_; }

  // Drops what is left of the request's allowed body (the handler did not
  // read it), so that the next request starts where it should.
  bool skip_body() {
    char sink[4096];
    while (body_left_ > 0 && !closing()) {
      auto n = read(sink, std::min(sizeof sink, body_left_));
      if (n <= 0)
        return false;
    }
    return !closing();
  }

  bool is_readable() const override { return !broken_ && (pos_ < len_ || (ssl_ && SSL_pending(ssl_) > 0)); }
  bool is_writable() const override { return !broken_; }

  ssize_t read(char* ptr, size_t size) override {
    if (broken_ || done_ || size == 0)
      return -1;
    if (in_head_)
      return read_head_byte(ptr);
    if (body_left_ == 0)
      return 0; // the body ends here, whatever else the client sends
    auto n = take(ptr, std::min(size, body_left_));
    if (n > 0)
      body_left_ -= static_cast<std::size_t>(n);
    return n;
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (broken_ || done_)
      return -1;
    if (!write_deadline_)
      write_deadline_ = clock_type::now() + limits_.write_timeout;
    return send_some(ptr, size, *write_deadline_);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address_of(fd_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address_of(fd_, false, ip, port); }
  int socket() const override { return fd_; }

  // Ends the connection: the answer already written reaches the client, and
  // what it still sends (an unread body) is dropped for a moment so that the
  // close does not reset the connection under the answer.
  void close() {
    if (fd_ < 0)
      return;
    if (ssl_) {
      if (!broken_)
        SSL_shutdown(ssl_);
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    ::shutdown(fd_, SHUT_WR);
    if (!broken_ && (closing_ || done_)) // stopped reading mid-request
      drain(clock_type::now() + std::chrono::milliseconds{100}, 1 << 20);
    ::close(fd_);
    fd_ = -1;
  }

private:
  // One byte of the head at a time (httplib reads it so), counted.
  ssize_t read_head_byte(char* ptr) {
    auto n = take(ptr, 1);
    if (n <= 0)
      return n;
    ++head_bytes_;
    if (*ptr == '\n')
      ++head_lines_;
    // The request line is not a header; the blank line that ends the head is not either.
    if (head_bytes_ > limits_.max_header_bytes || head_lines_ > limits_.max_headers + 2)
      return refuse(431);
    return n;
  }

  // From the buffer, else from the socket within the request's deadline.
  ssize_t take(char* ptr, std::size_t size) {
    if (pos_ == len_) {
      auto n = receive(buf_, sizeof buf_, read_deadline_);
      if (n <= 0)
        return n;
      pos_ = 0;
      len_ = static_cast<std::size_t>(n);
    }
    auto n = std::min(size, len_ - pos_);
    std::copy_n(buf_ + pos_, n, ptr);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t receive(char* out, std::size_t size, clock_type::time_point deadline) {
    for (;;) {
      if (ssl_) {
        auto n = SSL_read(ssl_, out, static_cast<int>(size));
        if (n > 0)
          return n;
        if (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN)
          return 0;
        if (tls_retry(n, deadline))
          continue;
      } else {
        auto n = ::recv(fd_, out, size, 0);
        if (n >= 0)
          return n;
        if (errno == EINTR || ((errno == EAGAIN || errno == EWOULDBLOCK) && wait(POLLIN, deadline)))
          continue;
      }
      return timed_out_ ? refuse(408) : fail();
    }
  }

  ssize_t send_some(const char* data, std::size_t size, clock_type::time_point deadline) {
    for (;;) {
      if (ssl_) {
        auto n = SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
        if (n > 0)
          return n;
        if (tls_retry(n, deadline))
          continue;
      } else {
        auto n = ::send(fd_, data, size, MSG_NOSIGNAL);
        if (n >= 0)
          return n;
        if (errno == EINTR || ((errno == EAGAIN || errno == EWOULDBLOCK) && wait(POLLOUT, deadline)))
          continue;
      }
      return fail();
    }
  }

  // Answers `status` itself and ends the exchange: httplib's own answer to
  // the failed read is not sent.
  ssize_t refuse(int status) {
    auto text = bare_response(status);
    write_deadline_ = clock_type::now() + limits_.write_timeout;
    for (std::size_t sent = 0; sent < text.size() && !broken_;) {
      auto n = send_some(text.data() + sent, text.size() - sent, *write_deadline_);
      if (n <= 0)
        break;
      sent += static_cast<std::size_t>(n);
    }
    closing_ = true;
    done_ = true;
    return -1;
  }

  ssize_t fail() {
    broken_ = true;
    return -1;
  }

  // After a TLS call returned `rc`: waits for what TLS needs to go on;
  // false when it cannot (an error, the deadline, the server's stop).
  bool tls_retry(int rc, clock_type::time_point deadline) {
    switch (SSL_get_error(ssl_, rc)) {
      case SSL_ERROR_WANT_READ: return wait(POLLIN, deadline);
      case SSL_ERROR_WANT_WRITE: return wait(POLLOUT, deadline);
      default: ERR_clear_error(); return false;
    }
  }

  // Waits for `events` on the socket until `deadline` or the server's stop.
  bool wait(short events, clock_type::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
      if (left <= 0) {
        timed_out_ = true;
        return false;
      }
      pollfd fds[2] = {{fd_, events, 0}, {stop_fd_, POLLIN, 0}};
      auto rc = ::poll(fds, 2, static_cast<int>(std::min<long long>(left, 60'000)));
      if (rc < 0 && errno == EINTR)
        continue;
      if (rc < 0 || fds[1].revents != 0)
        return false;
      if (fds[0].revents != 0)
        return true;
    }
  }

  void drain(clock_type::time_point deadline, std::size_t at_most) {
    char sink[4096];
    for (std::size_t dropped = 0; dropped < at_most;) {
      auto n = ::recv(fd_, sink, sizeof sink, 0);
      if (n > 0) {
        dropped += static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0 || !(errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) || !wait(POLLIN, deadline))
        return;
    }
  }

  int fd_;
  SSL* ssl_ = nullptr;
  const http_limits& limits_;
  int stop_fd_;
  char buf_[4096];
  std::size_t pos_ = 0;
  std::size_t len_ = 0;
  clock_type::time_point read_deadline_;
  std::optional<clock_type::time_point> write_deadline_;
  bool in_head_ = true;
  std::size_t head_bytes_ = 0;
  std::size_t head_lines_ = 0;
  std::size_t body_left_ = 0;
  bool closing_ = false;
  bool done_ = false;   ///< answered by refuse(): nothing more is read or written
  bool broken_ = false; ///< an I/O error, or the server stops
  bool timed_out_ = false;
};

thread_local connection* current = nullptr;

// Answers 503 without waiting for anything: what the client sent so far is
// dropped first, so that the close does not reset the connection under the answer.
void reject(int fd) {
  static const std::string busy = bare_response(503);
  ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(fd, SHUT_WR);
  char sink[4096];
  while (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
  }
  ::close(fd);
}

// The Content-Length of `req` (0 without one), or -1 if it is not a plain number or appears twice.
long long content_length(const httplib::Request& req) {
  auto count = req.get_header_value_count("Content-Length");
  if (count == 0)
    return 0;
  auto text = req.get_header_value("Content-Length");
  if (count > 1 || text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stoll(text);
}

} // namespace

bounded_http_server::bounded_http_server(http_limits limits) : limits_(limits) {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  new_task_queue = [this] { return new bounded_task_queue(limits_.max_connections); };
  set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) { return admit(req, res); });
  set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    return admit(req, res) == HandlerResponse::Handled ? res.status : 100;
  });
  set_keep_alive_max_count(100);
}

caf::expected<std::unique_ptr<bounded_http_server>> bounded_http_server::with_tls(http_limits limits,
                                                                                const std::string& certificate,
                                                                                const std::string& key) {
  auto fail = [](const std::string& what) {
    char detail[256] = {};
    ERR_error_string_n(ERR_get_error(), detail, sizeof detail);
    ERR_clear_error();
    return supervision::make_error(supervision::errc::invalid_spec, what + " (" + detail + ")");
  };
  std::unique_ptr<bounded_http_server> s{new bounded_http_server(limits)};
  auto* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx)
    return fail("http.tls: cannot create a TLS context");
  s->tls_ = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx, certificate.c_str()) != 1)
    return fail("http.tls.certificate: cannot use '" + certificate + "'");
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("http.tls.key: cannot use '" + key + "'");
  if (SSL_CTX_check_private_key(ctx) != 1)
    return fail("http.tls.key: '" + key + "' does not match the certificate '" + certificate + "'");
  return s;
}

bounded_http_server::~bounded_http_server() {
  shutdown();
  if (tls_)
    SSL_CTX_free(static_cast<SSL_CTX*>(tls_));
  if (stop_fd_ >= 0)
    ::close(stop_fd_);
}

int bounded_http_server::bind(const std::string& host, int port) {
  if (port == 0)
    port = bind_to_any_port(host);
  else if (!bind_to_port(host, port))
    port = -1;
  if (port > 0)
    ::listen(svr_sock_, 1024); // httplib listens with a backlog of 5
  return port;
}

void bounded_http_server::shutdown() {
  if (stop_fd_ >= 0)
    ::eventfd_write(stop_fd_, 1);
  // Not Server::stop(), which does nothing before the accept loop has started.
  auto sock = svr_sock_.exchange(INVALID_SOCKET);
  if (sock != INVALID_SOCKET) {
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  }
}

bool bounded_http_server::process_and_close_socket(int sock) {
  if (rejecting) {
    reject(sock);
    return false;
  }
  ++active_;
  {
    connection conn{sock, static_cast<SSL_CTX*>(tls_), limits_, stop_fd_};
    current = &conn;
    if (conn.handshake(tls_ != nullptr)) {
      for (std::size_t served = 0; served < keep_alive_max_count_ && svr_sock_ != INVALID_SOCKET; ++served) {
        if (!conn.next_request(served == 0 ? limits_.read_timeout : limits_.idle_timeout))
          break;
        bool closed = false;
        if (!process_request(conn, served + 1 == keep_alive_max_count_, closed, nullptr) || closed || !conn.skip_body())
          break;
      }
    }
    current = nullptr;
  }
  --active_;
  return true;
}

httplib::Server::HandlerResponse bounded_http_server::admit(const httplib::Request& req, httplib::Response& res) {
  auto answer = [&](int status, const std::string& why) {
    res.status = status;
    res.set_header("Connection", "close");
    if (!why.empty())
      res.set_content(nlohmann::json{{"error", why}}.dump(), "application/json");
    if (current)
      current->close_after_response();
    return HandlerResponse::Handled;
  };
  if (gate_ && gate_(req, res))
    return answer(res.status, "");
  if (req.has_header("Transfer-Encoding"))
    return answer(411, "a body needs a Content-Length (no chunked bodies)");
  auto length = content_length(req);
  if (length < 0)
    return answer(400, "bad Content-Length");
  if (static_cast<unsigned long long>(length) > limits_.max_body_bytes)
    return answer(413, "the body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes (http.max_body_bytes)");
  if (current)
    current->allow_body(static_cast<std::size_t>(length));
  return HandlerResponse::Unhandled;
}

} // namespace otpp::config::detail
