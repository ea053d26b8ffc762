#include "otpp/config/http_endpoint.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include <fstream>
#include <sstream>

#include <httplib.h>

#include "otpp/actors/cluster/cluster.hpp"
#include "otpp/actors/cluster/cluster_config.hpp"
#include "otpp/config/http_server.hpp"
#include "otpp/actors/health/health.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/reports.hpp"

namespace otpp::config {

namespace {

// A name may end in labels (`cluster.peer_up{peer="node-b"}`): kept as they are.
std::string metric_name(const std::string& name) {
  std::string out = "otpp_";
  auto labels = name.find('{');
  for (char c : name.substr(0, labels))
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
  return labels == std::string::npos ? out : out + name.substr(labels);
}

// `"peers":[...]` of the cluster, or "" on a single node.
std::string peers_field(caf::actor_system& sys) {
  auto peers = cluster::peers_json(sys);
  return peers.empty() ? peers : "\"peers\":" + peers;
}

// The health tree's JSON object with the cluster's peers added, if any.
std::string with_peers(caf::actor_system& sys, std::string health_json) {
  if (auto peers = peers_field(sys); !peers.empty() && health_json.size() > 1)
    health_json.insert(1, peers + ",");
  return health_json;
}

caf::error invalid(const std::string& what) {
  return supervision::make_error(supervision::errc::invalid_spec, what);
}

std::string trimmed(const std::string& s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// Equal, in a time that depends on the expected token's length only.
bool same_token(const std::string& given, const std::string& expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>((i < given.size() ? given[i] : 0) ^ expected[i]);
  return diff == 0;
}

// Every route but /health needs the token, when there is one.
detail::http_gate bearer_gate(std::string token) {
  return [token = std::move(token)](const httplib::Request& req, httplib::Response& res) {
    if (token.empty() || req.path == "/health")
      return false;
    static const std::string scheme = "Bearer ";
    auto given = req.get_header_value("Authorization");
    if (given.compare(0, scheme.size(), scheme) == 0 && same_token(given.substr(scheme.size()), token))
      return false;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer");
    res.set_content("{\"error\":\"this route needs Authorization: Bearer <token>\"}", "application/json");
    return true;
  };
}

detail::http_limits limits_of(const http_config& c) {
  detail::http_limits l;
  l.max_connections = c.max_connections;
  l.read_timeout = c.read_timeout;
  l.write_timeout = c.write_timeout;
  l.idle_timeout = c.idle_timeout;
  l.max_header_bytes = c.max_header_bytes;
  l.max_headers = c.max_headers;
  l.max_body_bytes = c.max_body_bytes;
  return l;
}

std::string number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

} // namespace

std::string prometheus_text(const perf::snapshot& s) {
  std::string out;
  std::string typed; // one TYPE line per family, before its first sample (maps keep a family together)
  auto type_line = [&](const std::string& m, const char* type) {
    auto family = m.substr(0, m.find('{'));
    if (family != typed)
      out += "# TYPE " + family + " " + type + "\n";
    typed = family;
  };
  for (auto& [name, value] : s.counters) {
    auto m = metric_name(name);
    type_line(m, "counter");
    out += m + " " + std::to_string(value) + "\n";
  }
  for (auto& [name, value] : s.gauges) {
    auto m = metric_name(name);
    type_line(m, "gauge");
    out += m + " " + number(value) + "\n";
  }
  for (auto& [name, h] : s.histograms) {
    auto m = metric_name(name) + "_ns";
    out += "# TYPE " + m + " summary\n";
    out += m + "{quantile=\"0.5\"} " + std::to_string(h.p50_ns) + "\n";
    out += m + "{quantile=\"0.9\"} " + std::to_string(h.p90_ns) + "\n";
    out += m + "{quantile=\"0.99\"} " + std::to_string(h.p99_ns) + "\n";
    out += m + "_sum " + number(h.mean_ns * static_cast<double>(h.count)) + "\n";
    out += m + "_count " + std::to_string(h.count) + "\n";
  }
  return out;
}

caf::expected<std::string> read_http_token(const http_config& c) {
  if (!c.token_file.empty() && !c.token_env.empty())
    return invalid("http: set token_file or token_env, not both");
  if (!c.token_file.empty()) {
    std::ifstream in{c.token_file};
    if (!in)
      return invalid("http.token_file: cannot read '" + c.token_file + "'");
    std::ostringstream text;
    text << in.rdbuf();
    auto token = trimmed(text.str());
    if (token.empty())
      return invalid("http.token_file: '" + c.token_file + "' holds no token");
    return token;
  }
  if (!c.token_env.empty()) {
    const char* value = std::getenv(c.token_env.c_str());
    auto token = trimmed(value ? value : "");
    if (token.empty())
      return invalid("http.token_env: the environment variable " + c.token_env + (value ? " is empty" : " is not set"));
    return token;
  }
  return std::string{};
}

caf::error http_exposure_error(const http_config& c) {
  auto at = cluster::parse_address(c.listen);
  if (!at)
    return invalid("http.listen: " + supervision::describe(at.error()));
  if (cluster::is_loopback(at->host))
    return {};
  if (!c.allow_remote)
    return invalid("http.listen: '" + c.listen + "' is not a loopback address: every host that reaches it could read "
                   "the node's state and probe its pools; set allow_remote = true and a token (token_file or "
                   "token_env) to allow it");
  if (c.token_file.empty() && c.token_env.empty())
    return invalid("http.listen: '" + c.listen + "' is not a loopback address: allow_remote needs a token "
                   "(token_file or token_env)");
  return {};
}

caf::expected<std::unique_ptr<http_endpoint>> http_endpoint::start(const http_config& c, caf::actor_system& sys,
                                                                   caf::actor root, std::string node_name) {
  if (auto err = http_exposure_error(c))
    return err;
  auto at = cluster::parse_address(c.listen);
  auto token = read_http_token(c);
  if (!token)
    return token.error();
  std::unique_ptr<http_endpoint> e{new http_endpoint};
  if (c.tls) {
    auto server = detail::bounded_http_server::with_tls(limits_of(c), c.tls->certificate, c.tls->key);
    if (!server)
      return server.error();
    e->server_ = std::move(*server);
  } else {
    e->server_ = std::make_unique<detail::bounded_http_server>(limits_of(c));
  }
  auto& server = *e->server_;
  server.set_gate(bearer_gate(std::move(*token)));
  server.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(prometheus_text(perf::metrics().take_snapshot()), "text/plain; version=0.0.4");
  });
  server.Get("/health", [&sys, root, node_name](const httplib::Request&, httplib::Response& res) {
    auto h = health::check(sys, root, node_name);
    res.status = h.state == health::status::unhealthy ? 503 : 200;
    res.set_content(with_peers(sys, h.to_json()), "application/json");
  });
  server.Get("/status", [&sys, root, node_name](const httplib::Request&, httplib::Response& res) {
    auto h = health::check(sys, root, node_name);
    auto peers = peers_field(sys);
    res.set_content("{\"node\":" + supervision::json_quote(node_name) + ",\"health\":" + h.to_json()
                      + ",\"metrics\":" + perf::metrics().take_snapshot().to_json()
                      + (peers.empty() ? "" : "," + peers) + "}",
                    "application/json");
  });
  // A pool of this node or, as "name@node", of a peer: its status, and a
  // probe that checks a worker out and in again (a cluster's reachability check).
  server.Get(R"(/pools/([^/]+))", [&sys](const httplib::Request& req, httplib::Response& res) {
    auto pool = pool::find_pool(sys, req.matches[1]);
    auto status = pool ? pool->status_or_error() : caf::expected<pool::pool_status>{pool.error()};
    if (!status) {
      res.status = 503;
      res.set_content("{\"error\":" + supervision::json_quote(supervision::describe(status.error())) + "}",
                      "application/json");
      return;
    }
    res.set_content("{\"state\":\"" + pool::to_string(status->state) + "\",\"idle\":" + std::to_string(status->idle)
                      + ",\"busy\":" + std::to_string(status->busy) + ",\"overflow\":" + std::to_string(status->overflow)
                      + ",\"waiting\":" + std::to_string(status->waiting) + "}",
                    "application/json");
  });
  server.Post(R"(/pools/([^/]+)/probe)", [&sys](const httplib::Request& req, httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    auto pool = pool::find_pool(sys, req.matches[1]);
    auto lease = pool ? pool->checkout(true, std::chrono::milliseconds{1000}) : caf::expected<pool::lease>{pool.error()};
    if (!lease) {
      res.status = 503;
      res.set_content("{\"ok\":false,\"error\":" + supervision::json_quote(supervision::describe(lease.error())) + "}",
                      "application/json");
      return;
    }
    auto worker = caf::to_string(lease->worker().address());
    lease->release();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    res.set_content("{\"ok\":true,\"worker\":" + supervision::json_quote(worker)
                      + ",\"checkout_checkin_us\":" + std::to_string(us) + "}",
                    "application/json");
  });
  auto port = server.bind(at->host, at->port);
  if (port < 0)
    return supervision::make_error(supervision::errc::invalid_spec, "http.listen: cannot listen on '" + c.listen + "'");
  e->port_ = port;
  e->thread_ = std::thread([&server] { server.listen_after_bind(); });
  return e;
}

http_endpoint::~http_endpoint() {
  server_->shutdown();
  if (thread_.joinable())
    thread_.join();
}

} // namespace otpp::config
