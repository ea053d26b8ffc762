#include <fstream>
#include <set>

#include "otpp/config/sections.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::config {

void read_cluster(toml_reader& r, const toml::table& root, node_config& c) {
  auto* t = r.table(root, "", "cluster");
  if (!t)
    return;
  const std::string path = "cluster";
  r.only(*t, path, {"node_name", "listen", "peers", "heartbeat_interval_ms", "connection_timeout_ms",
                    "connect_timeout_ms", "reconnect_backoff_ms", "insecure_plaintext", "tls"});
  cluster::cluster_config k;
  if (auto v = r.text(*t, path, "node_name")) {
    if (!cluster::valid_node_name(*v))
      r.add(t->get("node_name"), "cluster.node_name", "must match [A-Za-z0-9_-]{1,64}, got '" + *v + "'");
    k.node_name = *v;
  } else if (!t->get("node_name")) {
    r.add(t, "cluster.node_name", "missing");
  }
  if (auto v = r.text(*t, path, "listen")) {
    if (auto a = cluster::parse_address(*v))
      k.listen = *a;
    else
      r.add(t->get("listen"), "cluster.listen", supervision::describe(a.error()));
  }
  if (auto* n = t->get("peers")) {
    auto* list = n->as_array();
    if (!list)
      r.add(n, "cluster.peers", "must be an array of \"name@host:port\" strings");
    std::set<std::string> names;
    for (std::size_t i = 0; list && i < list->size(); ++i) {
      auto* item = list->get(i);
      auto at = "cluster.peers[" + std::to_string(i) + "]";
      auto text = item->value_exact<std::string>();
      if (!text) {
        r.add(item, at, "must be a string \"name@host:port\"");
        continue;
      }
      auto peer = cluster::parse_peer(*text);
      if (!peer)
        r.add(item, at, supervision::describe(peer.error()));
      else if (peer->name == k.node_name)
        r.add(item, at, "is this node itself ('" + k.node_name + "'); list only the other nodes");
      else if (!names.insert(peer->name).second)
        r.add(item, at, "a second peer named '" + peer->name + "'");
      else
        k.peers.push_back(*peer);
    }
  }
  if (auto v = r.integer(*t, path, "heartbeat_interval_ms", 1, 3'600'000))
    k.heartbeat_interval = ms(*v);
  if (auto v = r.integer(*t, path, "connection_timeout_ms", 1, 3'600'000))
    k.connection_timeout = ms(*v);
  if (k.connection_timeout < 3 * k.heartbeat_interval)
    r.add(t->get("connection_timeout_ms") ? t->get("connection_timeout_ms") : t, "cluster.connection_timeout_ms",
          "must be >= 3 x heartbeat_interval_ms (" + std::to_string(3 * k.heartbeat_interval.count()) + "), got "
            + std::to_string(k.connection_timeout.count()));
  if (auto v = r.integer(*t, path, "connect_timeout_ms", 1, 3'600'000))
    k.connect_timeout = ms(*v);
  if (auto* n = t->get("reconnect_backoff_ms")) {
    auto* pair = n->as_array();
    auto low = pair && pair->size() == 2 ? pair->get(0)->value_exact<int64_t>() : std::nullopt;
    auto high = pair && pair->size() == 2 ? pair->get(1)->value_exact<int64_t>() : std::nullopt;
    if (!low || !high || *low < 1 || *high < *low || *high > 3'600'000)
      r.add(n, "cluster.reconnect_backoff_ms", "must be [min, max] in ms with 1 <= min <= max <= 3600000");
    else {
      k.reconnect_backoff_min = ms(*low);
      k.reconnect_backoff_max = ms(*high);
    }
  }
  if (auto v = r.boolean(*t, path, "insecure_plaintext"))
    k.insecure_plaintext = *v;
  if (auto* tls = r.table(*t, path, "tls")) {
    r.only(*tls, "cluster.tls", {"certificate", "key", "cafile", "passphrase"});
    cluster::tls_config files;
    for (auto [key, field] : {std::pair{"certificate", &cluster::tls_config::certificate},
                              std::pair{"key", &cluster::tls_config::key}, std::pair{"cafile", &cluster::tls_config::cafile}}) {
      auto v = r.text(*tls, "cluster.tls", key);
      if (!v) {
        if (!tls->get(key))
          r.add(tls, "cluster.tls." + std::string{key},
                "missing: certificate, key and cafile are all required (CAF would otherwise fall back to "
                "unauthenticated encryption)");
        continue;
      }
      if (!std::ifstream{*v})
        r.add(tls->get(key), "cluster.tls." + std::string{key}, "cannot read '" + *v + "'");
      files.*field = *v;
    }
    files.passphrase = r.text(*tls, "cluster.tls", "passphrase").value_or("");
    k.tls = files;
  }
  if (!k.tls && !k.insecure_plaintext && !cluster::is_loopback(k.listen.host))
    r.add(t->get("listen"), "cluster.listen",
          "'" + k.listen.to_string() + "' is not a loopback address: configure [cluster.tls], or set "
          "insecure_plaintext = true to send node traffic unencrypted");
  c.cluster = k;
}

} // namespace otpp::config
