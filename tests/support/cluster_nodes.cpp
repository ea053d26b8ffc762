#include "tests/support/cluster_nodes.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <caf/send.hpp>

#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/system_setup.hpp"
#include "tests/support/eventually.hpp"

namespace otpp::test {

cluster::cluster_config test_cluster(const std::string& name, int port, std::vector<std::string> peers) {
  cluster::cluster_config c;
  c.node_name = name;
  c.listen = {"127.0.0.1", static_cast<uint16_t>(port)};
  for (auto& p : peers)
    c.peers.push_back(*cluster::parse_peer(p));
  c.heartbeat_interval = std::chrono::milliseconds{100};
  c.connection_timeout = std::chrono::milliseconds{500};
  c.connect_timeout = std::chrono::milliseconds{500};
  c.reconnect_backoff_min = std::chrono::milliseconds{50};
  c.reconnect_backoff_max = std::chrono::milliseconds{1000};
  return c;
}

test_pki::test_pki() {
  char name[] = "/tmp/otpp-pki-XXXXXX";
  if (!::mkdtemp(name))
    throw std::runtime_error("mkdtemp failed");
  dir_ = name;
  for (auto ca : {"ca", "stranger-ca"}) {
    auto r = run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", dir_ + "/" + ca + ".key", "-out", dir_ + "/" + ca + ".pem", "-days", "2", "-subj",
                  std::string{"/CN=otpp-test-"} + ca});
    if (r.code != 0)
      throw std::runtime_error("openssl req -x509: " + r.output);
  }
}

test_pki::~test_pki() {
  run({"rm", "-rf", dir_});
}

cluster::tls_config test_pki::issue(const std::string& ca, const std::string& node) const {
  auto base = dir_ + "/" + ca + "-" + node;
  auto r = run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                base + ".key", "-out", base + ".csr", "-subj", "/CN=" + node});
  if (r.code == 0)
    r = run({"openssl", "x509", "-req", "-in", base + ".csr", "-CA", dir_ + "/" + ca + ".pem", "-CAkey",
             dir_ + "/" + ca + ".key", "-CAcreateserial", "-out", base + ".pem", "-days", "2"});
  if (r.code != 0)
    throw std::runtime_error("openssl: " + r.output);
  return {base + ".pem", base + ".key", dir_ + "/" + ca + ".pem", ""};
}

cluster::tls_config test_pki::member(const std::string& node) const {
  return issue("ca", node);
}

cluster::tls_config test_pki::stranger(const std::string& node) const {
  return issue("stranger-ca", node);
}

local_node::config::config(const cluster::cluster_config& c) {
  set("logger.console", caf::atom("none"));
  add_otpp_types(*this);
  cluster::configure(*this, c);
}

local_node::local_node(cluster::cluster_config c, std::vector<pool::pool_config> pools) : cfg_(c) {
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  std::vector<std::string> names;
  for (auto& p : pools) {
    names.push_back(p.name);
    auto started = pool::start_pool(*sys_, p);
    if (!started)
      throw std::runtime_error("pool: " + supervision::describe(started.error()));
    pools_.push_back(*started);
  }
  auto m = cluster::membership::start(*sys_, c, names);
  if (!m)
    throw std::runtime_error("membership: " + supervision::describe(m.error()));
  membership_ = std::move(*m);
}

local_node::~local_node() {
  membership_.reset();
  for (auto& p : pools_)
    caf::anon_send_exit(p.actor(), caf::exit_reason::user_shutdown);
  pools_.clear();
}

std::string local_node::state_of(const std::string& peer) const {
  if (!membership_)
    return "";
  for (auto& p : membership_->peers())
    if (p.name == peer)
      return p.state;
  return "";
}

bool local_node::wait_state(const std::string& peer, const std::string& state, std::chrono::milliseconds bound) const {
  return eventually([&] { return state_of(peer) == state; }, bound);
}

std::string node_process::toml(const cluster::cluster_config& c, int pool_size, int max_overflow) {
  std::string peers;
  for (auto& p : c.peers)
    peers += (peers.empty() ? "\"" : ", \"") + p.name + "@" + p.at.to_string() + "\"";
  std::ostringstream out;
  out << "[node]\nname = \"" << c.node_name << "\"\n"
      << "[logging]\nlevel = \"info\"\n"
      << "[pools.database]\nsize = " << pool_size << "\nmax_overflow = " << max_overflow << "\nworker = \"echo\"\n"
      << "[cluster]\nnode_name = \"" << c.node_name << "\"\nlisten = \"" << c.listen.to_string() << "\"\npeers = ["
      << peers << "]\n"
      << "heartbeat_interval_ms = " << c.heartbeat_interval.count() << "\n"
      << "connection_timeout_ms = " << c.connection_timeout.count() << "\n"
      << "connect_timeout_ms = " << c.connect_timeout.count() << "\n"
      << "reconnect_backoff_ms = [" << c.reconnect_backoff_min.count() << ", " << c.reconnect_backoff_max.count()
      << "]\n";
  if (c.tls)
    out << "[cluster.tls]\ncertificate = \"" << c.tls->certificate << "\"\nkey = \"" << c.tls->key
        << "\"\ncafile = \"" << c.tls->cafile << "\"\n";
  return out.str();
}

node_process::node_process(const cluster::cluster_config& c, int pool_size, const std::string& extra_toml,
                           int max_overflow) {
  char name[] = "/tmp/otpp-cluster-node-XXXXXX";
  int fd = ::mkstemp(name);
  if (fd < 0)
    throw std::runtime_error("mkstemp failed");
  ::close(fd);
  file_ = name;
  std::ofstream{file_} << toml(c, pool_size, max_overflow) << extra_toml;
  restart();
}

node_process::~node_process() {
  proc_.reset();
  std::remove(file_.c_str());
}

void node_process::restart() {
  proc_.reset();
  proc_ = std::make_unique<child_process>(std::vector<std::string>{OTPP_NODE_PATH, file_}, child_process::output::err);
  if (!proc_->wait_for("cluster_started"))
    throw std::runtime_error("otpp-node did not start its cluster: " + proc_->seen());
}

} // namespace otpp::test
