#include "otpp/config/http_endpoint.hpp"

#include <cstdlib>

#include <fstream>
#include <sstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "otpp/actors/cluster/cluster.hpp"
#include "otpp/actors/cluster/cluster_config.hpp"
#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/events/printable.hpp"
#include "otpp/actors/health/health.hpp"
#include "otpp/actors/perf/registry.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/config/http_server.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::config {

namespace {

using json = nlohmann::ordered_json;

// The body as JSON text; bytes that are not UTF-8 come out as U+FFFD.
void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

json error_body(const std::string& why) {
  return {{"error", events::printable(why)}};
}

// The health tree as JSON; throws json::exception if it is not valid JSON.
json health_json(const health::node& h) {
  return json::parse(h.to_json());
}

// The cluster's peers as a JSON array, or null on a single node.
json peers_of(caf::actor_system& sys) {
  auto peers = cluster::peers_json(sys);
  return peers.empty() ? json{} : json::parse(peers);
}

// A route's answer, or 500 with the reason when building it failed.
template <class F>
void answer(httplib::Response& res, F build) {
  try {
    build();
  } catch (const std::exception& e) {
    reply(res, 500, error_body(std::string{"cannot build the answer: "} + e.what()));
  }
}

// No pool of that name here, or on the named node.
bool unknown_pool(const caf::error& err) {
  return supervision::is(err, supervision::errc::not_found)
         || (err.category() == cluster::cluster_errc_category
             && err.code() == static_cast<uint8_t>(cluster::cluster_errc::no_such_pool));
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

json source_json(const config_source& s) {
  return {{"path", s.path.empty() ? json{} : json(events::printable(s.path))},
          {"sha256", s.sha256.empty() ? json{} : json(s.sha256)},
          {"last_reload", s.last_reload ? json(events::rfc3339(*s.last_reload)) : json{}}};
}

json texts(const std::vector<std::string>& xs) {
  auto out = json::array();
  for (auto& x : xs)
    out.push_back(events::printable(x));
  return out;
}

json outcome_json(const reload_outcome& o) {
  if (!o.applied)
    return {{"applied", false}, {"errors", texts(o.errors)}};
  auto changes = json::array();
  for (auto& c : o.changes)
    changes.push_back({{"change", to_string(c.change)},
                       {"kind", c.component.kind},
                       {"name", events::printable(c.component.name)},
                       {"details", texts(c.details)}});
  return {{"applied", true},
          {"summary", o.summary},
          {"sha256", o.sha256},
          {"changes", std::move(changes)},
          {"failures", texts(o.failures)}};
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

} // namespace

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
                                                                   caf::actor root, std::string node_name,
                                                                   endpoint_hooks hooks) {
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
    res.set_content(perf::metrics().take_snapshot().to_prometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/health", [&sys, root, node_name](const httplib::Request&, httplib::Response& res) {
    answer(res, [&] {
      auto h = health::check(sys, root, node_name);
      auto body = health_json(h);
      if (auto peers = peers_of(sys); !peers.is_null())
        body["peers"] = std::move(peers);
      reply(res, h.state == health::status::unhealthy ? 503 : 200, body);
    });
  });
  server.Get("/status", [&sys, root, node_name, source = hooks.source](const httplib::Request&, httplib::Response& res) {
    answer(res, [&] {
      json body{{"node", events::printable(node_name)},
                {"health", health_json(health::check(sys, root, node_name))},
                {"metrics", json::parse(perf::metrics().take_snapshot().to_json())}};
      if (auto peers = peers_of(sys); !peers.is_null())
        body["peers"] = std::move(peers);
      if (source)
        body["config"] = source_json(source());
      reply(res, 200, body);
    });
  });
  if (hooks.reload)
    server.Post("/reload", [reload = hooks.reload](const httplib::Request&, httplib::Response& res) {
      answer(res, [&] {
        auto outcome = reload();
        reply(res, outcome.applied ? 200 : 422, outcome_json(outcome));
      });
    });
  // A pool of this node or, as "name@node", of a peer: its status, and a
  // probe that checks a worker out and in again (a cluster's reachability check).
  server.Get(R"(/pools/([^/]+))", [&sys](const httplib::Request& req, httplib::Response& res) {
    auto pool = pool::find_pool(sys, req.matches[1]);
    auto status = pool ? pool->status_or_error() : caf::expected<pool::pool_status>{pool.error()};
    if (!status) {
      reply(res, unknown_pool(status.error()) ? 404 : 503, error_body(supervision::describe(status.error())));
      return;
    }
    reply(res, 200,
          {{"state", pool::to_string(status->state)},
           {"idle", status->idle},
           {"busy", status->busy},
           {"overflow", status->overflow},
           {"waiting", status->waiting},
           {"size", status->size},
           {"max_overflow", status->max_overflow}});
  });
  server.Post(R"(/pools/([^/]+)/probe)", [&sys](const httplib::Request& req, httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    auto pool = pool::find_pool(sys, req.matches[1]);
    auto lease = pool ? pool->checkout(true, std::chrono::milliseconds{1000}) : caf::expected<pool::lease>{pool.error()};
    if (!lease) {
      reply(res, unknown_pool(lease.error()) ? 404 : 503,
            {{"ok", false}, {"error", events::printable(supervision::describe(lease.error()))}});
      return;
    }
    auto worker = caf::to_string(lease->worker().address());
    lease->release();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    reply(res, 200, {{"ok", true}, {"worker", worker}, {"checkout_checkin_us", us}});
  });
  auto port = server.bind(at->host, at->port);
  if (port < 0)
    return supervision::make_error(supervision::errc::invalid_spec, "http.listen: cannot listen on '" + c.listen + "'");
  e->port_ = port;
  e->thread_ = std::thread([&server] { server.listen_after_bind(); });
  events::emit(events::http_listening{at->host, static_cast<uint64_t>(port), c.tls.has_value()});
  return e;
}

void http_endpoint::stop_listening() { server_->shutdown(); }

http_endpoint::~http_endpoint() {
  server_->shutdown();
  if (thread_.joinable())
    thread_.join();
}

} // namespace otpp::config
