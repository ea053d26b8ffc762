#include "tests/support/loopback_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace otpp::test {

loopback_socket::loopback_socket(std::optional<int> backlog) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || (backlog && ::listen(fd_, *backlog) != 0)) {
    if (fd_ >= 0)
      ::close(fd_);
    throw std::runtime_error("cannot bind a loopback socket");
  }
  port_ = ntohs(addr.sin_port);
}

loopback_socket::~loopback_socket() {
  ::close(fd_);
}

int free_loopback_port() {
  return loopback_socket{}.port();
}

} // namespace otpp::test
