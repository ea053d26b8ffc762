#include "otpp/config/sections.hpp"

#include <fstream>

#include "otpp/actors/cluster/cluster_config.hpp"
#include "otpp/config/http_endpoint.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::config {

namespace {

// An error's own text, without its code's name and without `path: ` (the problem names the path).
std::string message_of(const caf::error& err, const std::string& path) {
  const auto& ctx = err.context();
  auto text = ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0) : supervision::describe(err);
  for (auto prefix : {path + ": ", std::string{"http: "}})
    if (text.compare(0, prefix.size(), prefix) == 0)
      return text.substr(prefix.size());
  return text;
}

// `[http]`: where the endpoint listens, who may reach it, and its bounds.
void read_http(toml_reader& r, const toml::table& t, http_config& h) {
  r.only(t, "http", {"listen", "allow_remote", "token_file", "token_env", "tls", "max_connections", "read_timeout_ms",
                     "write_timeout_ms", "idle_timeout_ms", "max_header_bytes", "max_headers", "max_body_bytes"});
  h.listen = r.text(t, "http", "listen").value_or("");
  auto listen_ok = true;
  if (!h.listen.empty())
    if (auto at = cluster::parse_address(h.listen); !at) {
      r.add(t.get("listen"), "http.listen", message_of(at.error(), "http.listen"));
      listen_ok = false;
    }
  h.allow_remote = r.boolean(t, "http", "allow_remote").value_or(false);
  h.token_file = r.text(t, "http", "token_file").value_or("");
  h.token_env = r.text(t, "http", "token_env").value_or("");
  if (!h.token_file.empty() || !h.token_env.empty())
    if (auto token = read_http_token(h); !token) {
      std::string key = h.token_file.empty() ? "token_env" : "token_file";
      r.add(t.get(key), "http." + key, message_of(token.error(), "http." + key));
    }
  if (auto* tls = r.table(t, "http", "tls")) {
    r.only(*tls, "http.tls", {"certificate", "key"});
    http_tls_config files;
    for (auto [key, field] : {std::pair{"certificate", &http_tls_config::certificate}, std::pair{"key", &http_tls_config::key}}) {
      auto v = r.text(*tls, "http.tls", key);
      if (!v) {
        if (!tls->get(key))
          r.add(tls, "http.tls." + std::string{key}, "missing: certificate and key are both required");
        continue;
      }
      if (!std::ifstream{*v})
        r.add(tls->get(key), "http.tls." + std::string{key}, "cannot read '" + *v + "'");
      files.*field = *v;
    }
    h.tls = files;
  }
  if (auto v = r.integer(t, "http", "max_connections", 1, 4096))
    h.max_connections = static_cast<std::size_t>(*v);
  for (auto [key, field] : {std::pair{"read_timeout_ms", &http_config::read_timeout},
                            std::pair{"write_timeout_ms", &http_config::write_timeout},
                            std::pair{"idle_timeout_ms", &http_config::idle_timeout}})
    if (auto v = r.integer(t, "http", key, 1, 600'000))
      h.*field = std::chrono::milliseconds{*v};
  if (auto v = r.integer(t, "http", "max_header_bytes", 1024, 1 << 20))
    h.max_header_bytes = static_cast<std::size_t>(*v);
  if (auto v = r.integer(t, "http", "max_headers", 1, 1000))
    h.max_headers = static_cast<std::size_t>(*v);
  if (auto v = r.integer(t, "http", "max_body_bytes", 0, 64 << 20))
    h.max_body_bytes = static_cast<std::size_t>(*v);
  if (listen_ok && !h.listen.empty())
    if (auto err = http_exposure_error(h))
      r.add(t.get("listen"), "http.listen", message_of(err, "http.listen"));
}

} // namespace

void read_node(toml_reader& r, const toml::table& root, node_config& c) {
  if (auto* t = r.table(root, "", "node")) {
    r.only(*t, "node", {"name", "scheduler"});
    if (auto v = r.text(*t, "node", "name")) {
      if (auto why = invalid_name(*v); !why.empty())
        r.add(t->get("name"), "node.name", why);
      c.name = *v;
    }
    if (auto* s = r.table(*t, "node", "scheduler")) {
      r.only(*s, "node.scheduler", {"policy", "max-threads"});
      if (auto v = r.choice(*s, "node.scheduler", "policy", {"stealing", "sharing"}))
        c.scheduler.policy = *v;
      if (auto v = r.integer(*s, "node.scheduler", "max-threads", 1, 1024))
        c.scheduler.max_threads = static_cast<std::size_t>(*v);
    }
  }
  if (auto* t = r.table(root, "", "logging")) {
    r.only(*t, "logging", {"level", "format", "file", "burst_limit_enable", "burst_limit_max_count",
                           "burst_limit_window_ms", "drop_mode_qlen"});
    if (auto v = r.choice(*t, "logging", "level", {"trace", "debug", "info", "warn", "error", "critical"}))
      c.logging.level = *v;
    if (auto v = r.choice(*t, "logging", "format", {"text", "json"}))
      c.logging.format = *v;
    if (auto v = r.text(*t, "logging", "file"))
      c.logging.file = *v;
    if (auto v = r.boolean(*t, "logging", "burst_limit_enable"))
      c.logging.burst_limit_enable = *v;
    if (auto v = r.integer(*t, "logging", "burst_limit_max_count", 1, 1'000'000))
      c.logging.burst_limit_max_count = static_cast<std::size_t>(*v);
    if (auto v = r.integer(*t, "logging", "burst_limit_window_ms", 1, 3'600'000))
      c.logging.burst_limit_window = std::chrono::milliseconds{*v};
    if (auto v = r.integer(*t, "logging", "drop_mode_qlen", 1, 1'000'000))
      c.logging.drop_mode_qlen = static_cast<std::size_t>(*v);
  }
  if (auto* t = r.table(root, "", "http"))
    read_http(r, *t, c.http);
  if (auto* t = r.table(root, "", "demo")) {
    r.only(*t, "demo", {"duration_s", "clients", "rate_per_s", "crash_probability", "failure_probability", "keys"});
    demo_config d;
    if (auto v = r.integer(*t, "demo", "duration_s", 1, 86400))
      d.duration = std::chrono::seconds(*v);
    if (auto v = r.integer(*t, "demo", "clients", 1, 256))
      d.clients = static_cast<int>(*v);
    if (auto v = r.number(*t, "demo", "rate_per_s", 0, 10000, true))
      d.rate_per_s = *v;
    if (auto v = r.number(*t, "demo", "crash_probability", 0, 1))
      d.crash_probability = *v;
    if (auto v = r.number(*t, "demo", "failure_probability", 0, 1))
      d.failure_probability = *v;
    if (auto v = r.integer(*t, "demo", "keys", 1, 1'000'000))
      d.keys = static_cast<int>(*v);
    for (auto [section, name] : {std::pair{"rate_limiters", "config_update"}, std::pair{"pools", "database"},
                                 std::pair{"breakers", "config_server"}}) {
      auto* s = root.get(section) ? root.get(section)->as_table() : nullptr;
      if (!s || !s->get(name))
        r.add(t, "demo", std::string{"needs "} + section + "." + name);
    }
    c.demo = d;
  }
}

} // namespace otpp::config
