#pragma once

#include <cstdint>
#include <optional>

namespace otpp::test {

/// A TCP socket bound to a free loopback port, closed on destruction. With a
/// backlog it listens and never accepts (once `backlog + 1` connections wait
/// in its queue, the kernel drops further SYNs, as a host that drops packets
/// would); without one it only holds the port, and connections are refused.
class loopback_socket {
public:
  explicit loopback_socket(std::optional<int> backlog = std::nullopt);
  ~loopback_socket();
  loopback_socket(const loopback_socket&) = delete;
  loopback_socket& operator=(const loopback_socket&) = delete;

  uint16_t port() const { return port_; }

private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

/// A loopback TCP port that nothing listens on right now.
int free_loopback_port();

} // namespace otpp::test
