#include "otpp/actors/cluster/bounded_connect.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

namespace otpp::cluster {

namespace {

using clock = std::chrono::steady_clock;

caf::error cannot_connect(const std::string& host, uint16_t port, const std::string& why) {
  return caf::make_error(caf::sec::cannot_connect_to_node, host + ":" + std::to_string(port) + ": " + why);
}

std::chrono::milliseconds left_until(clock::time_point deadline) {
  return std::max(std::chrono::milliseconds{0},
                  std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()));
}

// One non-blocking connect() to `addr`, waited for until `deadline`: the
// connected socket, or -1 with `why` set.
int connect_one(const addrinfo& addr, clock::time_point deadline, std::string& why) {
  int fd = ::socket(addr.ai_family, addr.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, addr.ai_protocol);
  if (fd < 0) {
    why = std::strerror(errno);
    return -1;
  }
  if (::connect(fd, addr.ai_addr, addr.ai_addrlen) != 0 && errno != EINPROGRESS) {
    why = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  for (;;) {
    pollfd p{fd, POLLOUT, 0};
    auto left = left_until(deadline);
    int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0) {
      why = "no connection within the connect timeout";
      ::close(fd);
      return -1;
    }
    break;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    why = std::strerror(err != 0 ? err : errno);
    ::close(fd);
    return -1;
  }
  tune_socket(fd);
  return fd;
}

using address_list = std::unique_ptr<addrinfo, void (*)(addrinfo*)>;

// The TCP addresses of `host:port` (`passive`: to listen on), or getaddrinfo's
// reason why not in `why`.
address_list resolve(const std::string& host, uint16_t port, bool passive, std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    why = ::gai_strerror(rc);
    found = nullptr;
  }
  return {found, ::freeaddrinfo};
}

// A connected socket to `host:port`, made on this thread by `deadline`.
caf::expected<int> connect_socket(const std::string& host, uint16_t port, clock::time_point deadline) {
  std::string why;
  auto addresses = resolve(host, port, false, why);
  if (!addresses)
    return cannot_connect(host, port, why);
  int fd = -1;
  why = "no address";
  for (auto* a = addresses.get(); a != nullptr && fd < 0; a = a->ai_next)
    fd = connect_one(*a, deadline, why);
  if (fd < 0)
    return cannot_connect(host, port, why);
  return fd;
}

} // namespace

void tune_socket(int fd) {
  int on = 1; // BASP's messages are small: no Nagle delay
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  constexpr int tcp_rto_min_us = 45; // Linux 6.15; not in Debian 12's headers
  int rto_min_us = 10000;
  ::setsockopt(fd, IPPROTO_TCP, tcp_rto_min_us, &rto_min_us, sizeof rto_min_us); // refused by older kernels: fine
}

caf::expected<uint16_t> publish_tuned(caf::actor_system& sys, const caf::strong_actor_ptr& whom,
                                      std::set<std::string> interface, const std::string& host, uint16_t port) {
  if (!sys.has_middleman())
    return caf::make_error(caf::sec::feature_disabled, "publish_tuned needs caf::io::middleman loaded");
  auto cannot = [&](const std::string& why) {
    return caf::make_error(caf::sec::cannot_open_port, host + ":" + std::to_string(port) + ": " + why);
  };
  std::string why;
  auto addresses = resolve(host, port, true, why);
  if (!addresses)
    return cannot(why);
  auto* found = addresses.get();
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, found->ai_protocol);
  if (fd < 0)
    return cannot(std::strerror(errno));
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  tune_socket(fd);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    auto why = std::string{std::strerror(errno)};
    ::close(fd);
    return cannot(why);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  auto actual = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                                  : reinterpret_cast<sockaddr_in&>(bound).sin_port);
  // As CAF's middleman actor does after opening its own listener.
  auto& mm = sys.middleman();
  auto basp = mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  caf::anon_send(basp, caf::publish_atom::value, mm.backend().new_doorman(fd), actual, whom, std::move(interface));
  return actual;
}

caf::error probe_tcp(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  auto fd = connect_socket(host, port, clock::now() + timeout);
  if (!fd)
    return fd.error();
  ::close(*fd);
  return {};
}

caf::expected<remote_endpoint> bounded_connect(caf::actor_system& sys, const std::string& host, uint16_t port,
                                               std::chrono::milliseconds timeout) {
  if (!sys.has_middleman())
    return caf::make_error(caf::sec::feature_disabled, "bounded_connect needs caf::io::middleman loaded");
  auto deadline = clock::now() + timeout;
  // 1. The TCP connection, on this thread, bounded by the deadline.
  auto connected = connect_socket(host, port, deadline);
  if (!connected)
    return connected.error();
  int fd = *connected;
  // 2. The handshake, by CAF's BASP broker, as after its own connect. We
  // keep a second descriptor of the socket to shut it down if the handshake
  // does not finish in time (the broker then drops the connection); closing
  // CAF's descriptor ourselves could hit a reused number.
  int watch = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  auto& mm = sys.middleman();
  auto scribe = mm.backend().new_scribe(fd);
  auto basp = mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  caf::expected<remote_endpoint> result = cannot_connect(host, port, "no handshake within the connect timeout");
  {
    caf::scoped_actor self{sys};
    self->request(basp, left_until(deadline), caf::connect_atom::value, std::move(scribe), port)
      .receive(
        [&](caf::node_id& node, caf::strong_actor_ptr& published, std::set<std::string>& interface) {
          if (!node || !published)
            result = cannot_connect(host, port, "the node publishes no actor on this port");
          else
            result = remote_endpoint{std::move(node), std::move(published), std::move(interface)};
        },
        [&](caf::error& err) {
          if (err == caf::sec::incompatible_application_ids || err == caf::sec::incompatible_versions)
            result = caf::make_error(static_cast<caf::sec>(err.code()),
                                     host + ":" + std::to_string(port) + ": handshake refused: " + caf::to_string(err));
          else if (err != caf::sec::request_timeout)
            result = cannot_connect(host, port, "handshake failed: " + caf::to_string(err));
        });
  }
  if (!result && watch >= 0)
    ::shutdown(watch, SHUT_RDWR);
  if (watch >= 0)
    ::close(watch);
  return result;
}

} // namespace otpp::cluster
