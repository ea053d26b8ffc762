#include "otpp/config/sections.hpp"

namespace otpp::config {

void read_node(toml_reader& r, const toml::table& root, node_config& c) {
  if (auto* t = r.table(root, "", "node")) {
    r.only(*t, "node", {"name", "scheduler"});
    if (auto v = r.text(*t, "node", "name")) {
      if (v->empty())
        r.add(t->get("name"), "node.name", "must not be empty");
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
    r.only(*t, "logging", {"level", "format", "file"});
    if (auto v = r.choice(*t, "logging", "level", {"trace", "debug", "info", "warn", "error", "critical"}))
      c.logging.level = *v;
    if (auto v = r.choice(*t, "logging", "format", {"text", "json"}))
      c.logging.format = *v;
    if (auto v = r.text(*t, "logging", "file"))
      c.logging.file = *v;
  }
  if (auto* t = r.table(root, "", "http")) {
    r.only(*t, "http", {"listen"});
    c.http.listen = r.text(*t, "http", "listen").value_or("");
    auto colon = c.http.listen.rfind(':');
    auto port = colon == std::string::npos ? std::string{} : c.http.listen.substr(colon + 1);
    if (!c.http.listen.empty()
        && (colon == 0 || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos
            || std::stoi(port) > 65535))
      r.add(t->get("listen"), "http.listen", "expected host:port (port 0-65535), got '" + c.http.listen + "'");
  }
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
