#include "otpp/config/http_endpoint.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include <httplib.h>

#include "otpp/actors/cluster/cluster.hpp"
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

caf::expected<std::unique_ptr<http_endpoint>> http_endpoint::start(const std::string& listen, caf::actor_system& sys,
                                                                   caf::actor root, std::string node_name) {
  auto colon = listen.rfind(':');
  auto host = listen.substr(0, colon);
  int port = colon == std::string::npos ? -1 : std::atoi(listen.c_str() + colon + 1);
  if (host.empty() || port < 0 || port > 65535)
    return supervision::make_error(supervision::errc::invalid_spec, "http.listen: expected host:port, got '" + listen + "'");
  std::unique_ptr<http_endpoint> e{new http_endpoint};
  e->server_ = std::make_unique<httplib::Server>();
  auto& server = *e->server_;
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
  if (port == 0)
    port = server.bind_to_any_port(host);
  else if (!server.bind_to_port(host, port))
    port = -1;
  if (port < 0)
    return supervision::make_error(supervision::errc::invalid_spec, "http.listen: cannot listen on '" + listen + "'");
  e->port_ = port;
  e->thread_ = std::thread([&server] { server.listen_after_bind(); });
  return e;
}

http_endpoint::~http_endpoint() {
  server_->stop();
  if (thread_.joinable())
    thread_.join();
}

} // namespace otpp::config
