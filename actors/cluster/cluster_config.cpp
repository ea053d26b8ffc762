#include "otpp/actors/cluster/cluster_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "otpp/supervision/errors.hpp"

namespace otpp::cluster {

namespace {

caf::error invalid(const std::string& what) {
  return supervision::make_error(supervision::errc::invalid_spec, what);
}

} // namespace

bool valid_node_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
}

caf::expected<address> parse_address(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return invalid("expected host:port, got '" + text + "'");
  auto host = text.substr(0, colon);
  auto port = text.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return invalid("an IPv6 host goes in brackets ([::1]:4370), got '" + text + "'");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos
      || std::stoi(port) > 65535)
    return invalid("expected host:port with a port in [0, 65535], got '" + text + "'");
  return address{host, static_cast<uint16_t>(std::stoi(port))};
}

caf::expected<peer_config> parse_peer(const std::string& text) {
  auto at = text.find('@');
  if (at == std::string::npos)
    return invalid("expected name@host:port, got '" + text + "'");
  auto name = text.substr(0, at);
  if (!valid_node_name(name))
    return invalid("the node name '" + name + "' must match [A-Za-z0-9_-]{1,64} (in '" + text + "')");
  auto addr = parse_address(text.substr(at + 1));
  if (!addr)
    return invalid("expected name@host:port, got '" + text + "'");
  if (addr->port == 0)
    return invalid("a peer's port must not be 0 (in '" + text + "')");
  return peer_config{name, *addr};
}

bool is_loopback(const std::string& host) {
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

} // namespace otpp::cluster
