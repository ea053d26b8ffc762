#include "otpp/actors/cluster/cluster.hpp"

#include <algorithm>
#include <random>

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/typed_broker.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "otpp/actors/cluster/bounded_connect.hpp"
#include "otpp/actors/cluster/membership_state.hpp"
#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/events/printable.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/actors/thread_call.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/registry.hpp"

namespace otpp::cluster {

// -- wire -------------------------------------------------------------------

std::string app_identifier() {
  return "otpp/" + std::to_string(wire_version);
}

std::string to_string(cluster_errc code) {
  switch (code) {
    case cluster_errc::node_down: return "node_down";
    case cluster_errc::no_such_pool: return "no_such_pool";
    case cluster_errc::incompatible: return "incompatible";
    case cluster_errc::no_such_actor: return "no_such_actor";
  }
  return "unknown_cluster_errc";
}

caf::error make_error(cluster_errc code, std::string text) {
  return supervision::make_categorized_error(cluster_errc_category, static_cast<uint8_t>(code), std::move(text));
}

namespace {

const bool cluster_errors_named = [] {
  supervision::add_error_names(cluster_errc_category,
                               [](uint8_t code) { return to_string(static_cast<cluster_errc>(code)); });
  return true;
}();

using connected_atom = caf::atom_constant<caf::atom("connected")>;
using send_ticks_atom = caf::atom_constant<caf::atom("send_ticks")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

void add_wire_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<hello>("otpp_hello");
  cfg.add_message_type<pool::pool_status>("otpp_pool_status");
}

void configure(caf::actor_system_config& cfg, const cluster_config& c) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{c.heartbeat_interval});
  cfg.set("middleman.connection-timeout", caf::timespan{c.connection_timeout});
  cfg.set("middleman.app-identifiers", std::vector<std::string>{app_identifier()});
  if (c.tls) { // with a certificate, CAF requires and verifies the peer's (mutual TLS)
    cfg.load<caf::openssl::manager>();
    cfg.set("openssl.certificate", c.tls->certificate);
    cfg.set("openssl.key", c.tls->key);
    cfg.set("openssl.cafile", c.tls->cafile);
    cfg.set("openssl.passphrase", c.tls->passphrase);
  }
  add_wire_types(cfg);
  // Answers to the threads' remote calls are decoded and delivered on the
  // middleman's own thread: no hand-off to a BASP worker and back.
  cfg.set("middleman.workers", size_t{0});
  // A cluster node's middleman thread needs a core whenever a message comes
  // in. Idle work-stealing workers that spin for long after each job, or
  // nap every 50 us for 25 ms after that (CAF's moderate polling), take it
  // from it: with them a remote call costs more CPU and switches, and an
  // idle node, whose heartbeats wake a worker several times a second, used
  // about a tenth of a core. So workers spin for 2000 polls, then sleep
  // until work comes (measured in docs/cluster.md).
  cfg.set("work-stealing.aggressive-poll-attempts", size_t{2000});
  cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
}

// -- shared state -------------------------------------------------------------

membership_state::membership_state(caf::actor_system& sys, cluster_config config, std::vector<std::string> pools)
  : sys(sys), config(std::move(config)), pools(std::move(pools)) {
  for (auto& p : this->config.peers) {
    auto& e = peers[p.name];
    e.config = p;
    e.dials = this->config.node_name < p.name;
    e.since_unix_ms = unix_ms();
  }
}

std::chrono::milliseconds membership_state::request_slack() const {
  return config.connection_timeout + config.heartbeat_interval + std::chrono::milliseconds{1000};
}

caf::error membership_state::not_up(const std::string& node) const {
  auto i = peers.find(node);
  if (i == peers.end())
    return make_error(cluster_errc::node_down, "'" + node + "' is not a known peer of " + config.node_name);
  auto& p = i->second;
  auto why = "node " + node + " is " + p.state + (p.last_error.empty() ? "" : " (" + p.last_error + ")");
  return make_error(p.state == "incompatible" ? cluster_errc::incompatible : cluster_errc::node_down, why);
}

void membership_state::transition(peer_entry& p, const std::string& state, const std::string& error) {
  if (p.state != state)
    p.since_unix_ms = unix_ms();
  p.state = state;
  if (!error.empty())
    p.last_error = error;
  changed.notify_all();
}

namespace {

// -- the directory ------------------------------------------------------------

// The directory runs on the middleman's thread, as a broker without
// connections: a request that arrives there is answered there, without a
// hand-off to a scheduler thread and back. Its handlers never block.
template <class>
struct broker_of;

template <class... Sigs>
struct broker_of<caf::typed_actor<Sigs...>> {
  using type = caf::io::typed_broker<Sigs...>;
};

using directory_broker = broker_of<directory_actor>::type;

directory_actor::behavior_type directory(directory_broker* self, std::shared_ptr<membership_state> st) {
  auto pool_error = [st](const std::string& name) {
    if (std::find(st->pools.begin(), st->pools.end(), name) == st->pools.end())
      return make_error(cluster_errc::no_such_pool, "node " + st->config.node_name + " has no pool '" + name + "'");
    return pool::make_error(pool::pool_errc::closed, "pool '" + name + "' of node " + st->config.node_name
                                                       + " is not running (restarting?)");
  };
  // Only this node's own pools: a "pool@node" name is not passed on.
  auto local_pool = [st](const std::string& name) {
    return name.find('@') == std::string::npos ? pool::find_pool(st->sys, name)
                                               : caf::expected<pool::pool_ref>{caf::sec::invalid_argument};
  };
  return {
    [self, st](hello_atom, hello& h) {
      auto rp = self->make_response_promise<hello>();
      return rp.delegate(st->manager, hello_atom::value, std::move(h));
    },
    [st](tick_atom, std::string& from) { caf::anon_send(st->manager, tick_atom::value, std::move(from)); },
    [self, local_pool, pool_error](pool::checkout_atom, std::string& name, bool block,
                           uint32_t timeout_ms) -> caf::result<caf::actor> {
      auto p = local_pool(name);
      if (!p)
        return pool_error(name);
      // An idle worker is taken at once for the requester (the pool watches
      // it); otherwise the pool's checkout actor answers it directly.
      if (auto w = p->try_checkout(caf::actor_cast<caf::actor>(self->current_sender())))
        return *w;
      auto rp = self->make_response_promise<caf::actor>();
      return rp.delegate(p->actor(), pool::checkout_atom::value, block, std::chrono::milliseconds{timeout_ms});
    },
    [local_pool](pool::checkin_atom, std::string& name, caf::actor& worker) {
      if (auto p = local_pool(name))
        p->checkin(worker);
      return caf::ok_atom::value;
    },
    [local_pool, pool_error](pool::status_atom, std::string& name) -> caf::result<pool::pool_status> {
      auto p = local_pool(name);
      if (!p)
        return pool_error(name);
      return p->status();
    },
    [st](whereis_atom, std::string& name) -> caf::result<caf::actor> {
      if (auto a = supervision::whereis(st->sys, name))
        return a;
      return make_error(cluster_errc::no_such_actor,
                        "node " + st->config.node_name + " has no actor registered as '" + name + "'");
    },
  };
}

// -- the manager ----------------------------------------------------------------

// Keeps the peers' states: runs hellos, watches the peers' directories (their
// down message is the node-down event), sends liveness ticks, and relays
// watches of remote actors.
class manager_actor : public caf::event_based_actor {
public:
  manager_actor(caf::actor_config& cfg, std::shared_ptr<membership_state> st)
    : caf::event_based_actor(cfg), st_(std::move(st)) {
    set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
  }

  const char* name() const override {
    return "otpp_cluster_manager";
  }

  // The shared state holds this actor's handle: let go of it, or neither is ever freed.
  void on_exit() override {
    st_.reset();
  }

  caf::behavior make_behavior() override {
    send(this, send_ticks_atom::value);
    return {
      [this](connected_atom, const std::string& peer, caf::strong_actor_ptr& dir) { greet(peer, std::move(dir)); },
      [this](hello_atom, hello& h) -> caf::result<hello> { return welcome(h); },
      [this](tick_atom, const std::string& from) {
        std::lock_guard<std::mutex> guard{st_->mtx};
        if (auto i = st_->peers.find(from); i != st_->peers.end())
          i->second.last_seen = std::chrono::steady_clock::now();
      },
      [this](send_ticks_atom) {
        std::vector<directory_actor> up;
        {
          std::lock_guard<std::mutex> guard{st_->mtx};
          for (auto& [name, p] : st_->peers)
            if (p.epoch != 0)
              up.push_back(p.directory);
        }
        for (auto& d : up)
          send(d, tick_atom::value, st_->config.node_name);
        delayed_send(this, st_->config.heartbeat_interval, send_ticks_atom::value);
      },
      [this](watch_atom, const std::string& name, const std::string& node, caf::actor& watcher,
             std::chrono::milliseconds timeout) -> caf::result<caf::actor_addr> {
        return start_watch(name, node, watcher, timeout);
      },
    };
  }

private:
  hello own_hello() const {
    return {st_->config.node_name, wire_version, static_cast<uint32_t>(st_->config.heartbeat_interval.count()),
            static_cast<uint32_t>(st_->config.connection_timeout.count()), st_->pools,
            caf::actor_cast<caf::strong_actor_ptr>(st_->directory)};
  }

  // Why `h` cannot join this node, or empty.
  std::string mismatch(const hello& h) const {
    auto mine = own_hello();
    if (h.version != mine.version)
      return "wire version " + std::to_string(h.version) + " at " + h.node + ", " + std::to_string(mine.version)
             + " at " + mine.node;
    if (h.heartbeat_interval_ms != mine.heartbeat_interval_ms)
      return "heartbeat_interval_ms " + std::to_string(h.heartbeat_interval_ms) + " at " + h.node + ", "
             + std::to_string(mine.heartbeat_interval_ms) + " at " + mine.node;
    if (h.connection_timeout_ms != mine.connection_timeout_ms)
      return "connection_timeout_ms " + std::to_string(h.connection_timeout_ms) + " at " + h.node + ", "
             + std::to_string(mine.connection_timeout_ms) + " at " + mine.node;
    if (h.node == mine.node)
      return "duplicate node name '" + h.node + "': the peer has this node's own name";
    return {};
  }

  // A connector reached `peer`'s directory: say hello.
  void greet(const std::string& peer, caf::strong_actor_ptr dir) {
    auto d = caf::actor_cast<directory_actor>(std::move(dir));
    request(d, st_->config.connect_timeout, hello_atom::value, own_hello())
      .then(
        [this, peer, d](hello& h) {
          std::unique_lock<std::mutex> guard{st_->mtx};
          auto& p = st_->peers[peer];
          p.hello_pending = false;
          auto why = mismatch(h);
          if (why.empty() && h.node != peer)
            why = "expected node " + peer + " at " + p.config.at.to_string() + ", found node " + h.node;
          if (!why.empty())
            return refused(peer, p, why);
          up(peer, p, d, h);
        },
        [this, peer](caf::error& err) {
          std::lock_guard<std::mutex> guard{st_->mtx};
          auto& p = st_->peers[peer];
          p.hello_pending = false;
          if (err.category() == cluster_errc_category)
            return refused(peer, p, supervision::describe(err));
          st_->transition(p, p.state == "up" ? p.state : "down", "hello failed: " + supervision::describe(err));
        });
  }

  // A peer dialed us and says hello.
  caf::result<hello> welcome(const hello& h) {
    auto d = caf::actor_cast<directory_actor>(h.directory);
    std::lock_guard<std::mutex> guard{st_->mtx};
    auto why = mismatch(h);
    auto& p = st_->peers[h.node];
    if (p.since_unix_ms == 0)
      p.since_unix_ms = unix_ms();
    if (why.empty() && !d)
      why = "the hello of " + h.node + " names no directory";
    if (why.empty() && p.epoch != 0 && p.directory && p.directory.node() != d.node()) {
      // The connected peer of that name stays up; a restarted node is let in
      // once its old connection is seen to be gone.
      why = "duplicate node name '" + h.node + "': already connected to a node of that name";
      events::emit(events::node_refused{h.node, why});
      return make_error(cluster_errc::incompatible, "refused by " + st_->config.node_name + ": " + why);
    }
    if (!why.empty()) {
      refused(h.node, p, why);
      return make_error(cluster_errc::incompatible, "refused by " + st_->config.node_name + ": " + why);
    }
    up(h.node, p, d, h);
    return own_hello();
  }

  // Under the lock.
  void refused(const std::string& peer, peer_entry& p, const std::string& why) {
    if (p.state != "incompatible" || p.last_error != why) // once, not at every retry
      events::emit(events::node_refused{peer, why});
    st_->transition(p, "incompatible", why);
  }

  // Under the lock.
  void up(const std::string& peer, peer_entry& p, const directory_actor& d, const hello& h) {
    if (p.epoch != 0 && p.directory == d)
      return;
    p.epoch = st_->next_epoch++;
    p.directory = d;
    p.node = d.node();
    p.pools = h.pools;
    p.last_seen = std::chrono::steady_clock::now();
    monitor(d);
    st_->transition(p, "up", "");
    if (!gauged_.count(peer)) {
      gauged_.insert(peer);
      st_->gauges.push_back(perf::metrics().gauge_of(perf::families::cluster_peer_up, {peer}, [st = st_, peer] {
        std::lock_guard<std::mutex> guard{st->mtx};
        auto i = st->peers.find(peer);
        return i != st->peers.end() && i->second.epoch != 0 ? 1.0 : 0.0;
      }));
    }
    events::emit(events::node_up{peer, h.pools.size()});
  }

  void on_down(caf::down_msg& msg) {
    if (relay_watch(msg))
      return;
    std::lock_guard<std::mutex> guard{st_->mtx};
    auto i = std::find_if(st_->peers.begin(), st_->peers.end(),
                          [&](auto& kv) { return kv.second.epoch != 0 && kv.second.directory.address() == msg.source; });
    if (i == st_->peers.end())
      return;
    auto& [peer, p] = *i;
    auto silence = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - p.last_seen);
    bool timed_out = silence >= st_->config.connection_timeout - st_->config.heartbeat_interval;
    auto cause = timed_out ? "timeout" : "closed";
    auto why = timed_out ? "connection lost after " + std::to_string(silence.count()) + " ms of silence"
                         : "connection closed (" + supervision::describe(msg.reason) + ")";
    events::emit(events::node_down{peer, cause, why});
    auto& downs = st_->downs[{peer, cause}];
    if (!downs)
      downs = perf::metrics().counter_of(perf::families::cluster_node_downs, {peer, cause});
    downs->add();
    for (auto& [key, remote] : st_->remotes)
      if (key.first == peer) // handled at once, in this thread (the proxy is passive)
        send(remote->proxy(), peer_down_atom::value, p.epoch);
    p.epoch = 0;
    p.directory = nullptr;
    st_->transition(p, "down", why);
  }

  // The lookup is bounded by `timeout`: a watch that is not answered in time is never installed.
  caf::result<caf::actor_addr> start_watch(const std::string& name, const std::string& node, caf::actor& watcher,
                                           std::chrono::milliseconds timeout) {
    directory_actor d;
    {
      std::lock_guard<std::mutex> guard{st_->mtx};
      auto i = st_->peers.find(node);
      if (i == st_->peers.end() || i->second.epoch == 0)
        return st_->not_up(node);
      d = i->second.directory;
    }
    auto rp = make_response_promise<caf::actor_addr>();
    request(d, timeout, whereis_atom::value, name)
      .then(
        [this, rp, watcher](caf::actor& target) mutable {
          watchers_[target.address()].push_back(watcher);
          monitor(target);
          rp.deliver(target.address());
        },
        [rp](caf::error& err) mutable { rp.deliver(err); });
    return rp;
  }

  bool relay_watch(const caf::down_msg& msg) {
    auto i = watchers_.find(msg.source);
    if (i == watchers_.end())
      return false;
    auto reason = msg.reason == caf::exit_reason::remote_link_unreachable
                    ? make_error(cluster_errc::node_down, "the node of the watched actor was lost")
                    : msg.reason;
    for (auto& w : i->second)
      caf::anon_send(w, caf::down_msg{msg.source, reason});
    watchers_.erase(i);
    return true;
  }

  std::shared_ptr<membership_state> st_;
  std::set<std::string> gauged_;
  std::map<caf::actor_addr, std::vector<caf::actor>> watchers_;
};

// -- connectors -----------------------------------------------------------------

// A TLS connection to `address`. CAF's openssl module connects with a
// blocking connect() of its own and offers no hand-over of a socket, so a
// bounded plain TCP probe goes first: an address that drops packets fails
// within the connect timeout instead of the kernel's SYN timeout.
caf::expected<remote_endpoint> tls_connect(membership_state& st, const address& at) {
  if (auto err = probe_tcp(at.host, at.port, st.config.connect_timeout))
    return err;
  auto dir = caf::openssl::remote_actor<directory_actor>(st.sys, at.host, at.port);
  if (!dir)
    return caf::make_error(caf::sec::cannot_connect_to_node,
                           at.to_string() + ": TLS connection failed: " + supervision::describe(dir.error()));
  return remote_endpoint{dir->node(), caf::actor_cast<caf::strong_actor_ptr>(*dir),
                         st.sys.message_types<directory_actor>()};
}

// Dials `peer` in the background until the membership stops: one bounded
// attempt, then exponential backoff with jitter; while the peer is up, waits
// for it to go down.
void run_connector(std::shared_ptr<membership_state> st, std::string peer) {
  auto& c = st->config;
  std::minstd_rand rng{std::random_device{}()};
  auto delay = c.reconnect_backoff_min;
  auto expected = st->sys.message_types<directory_actor>();
  std::unique_lock<std::mutex> lock{st->mtx};
  while (!st->stopping) {
    auto address = st->peers[peer].config.at;
    lock.unlock();
    auto attempt_started = std::chrono::steady_clock::now();
    auto reached = c.tls ? tls_connect(*st, address) : bounded_connect(st->sys, address.host, address.port, c.connect_timeout);
    lock.lock();
    if (st->stopping)
      break;
    auto& p = st->peers[peer];
    bool was_up = false;
    if (!reached) {
      auto& err = reached.error();
      auto why = supervision::describe(err);
      bool other_build = err == caf::sec::incompatible_application_ids || err == caf::sec::incompatible_versions;
      auto state = other_build ? "incompatible" : "down";
      if (p.state != state || p.last_error != why) { // once, not at every retry
        if (other_build)
          events::emit(events::node_refused{peer, why});
        else
          events::emit(events::node_unreachable{peer, why});
      }
      st->transition(p, state, why);
    } else if (reached->interface != expected) {
      st->transition(p, "incompatible", "the node at " + address.to_string()
                                          + " is not an otpp node of wire version " + std::to_string(wire_version));
      events::emit(events::node_refused{peer, p.last_error});
    } else {
      p.hello_pending = true;
      caf::anon_send(st->manager, connected_atom::value, peer, reached->published);
      st->changed.wait(lock, [&] { return st->stopping || !p.hello_pending; });
      if (p.epoch != 0) {
        st->changed.wait(lock, [&] { return st->stopping || p.epoch == 0; });
        delay = c.reconnect_backoff_min;
        was_up = true;
      }
    }
    // Attempts start one backoff delay apart (an attempt's own time counts),
    // and jitter only shortens: a healed peer is retried within the maximum.
    auto jittered = std::chrono::milliseconds{static_cast<int64_t>(
      delay.count() * std::uniform_real_distribution<double>{0.8, 1.0}(rng))};
    auto next = was_up ? std::chrono::steady_clock::now() + jittered : attempt_started + jittered;
    st->changed.wait_until(lock, next, [&] { return st->stopping; });
    delay = std::min(delay * 2, c.reconnect_backoff_max);
  }
}

std::map<caf::actor_system*, membership*>& memberships() {
  static std::map<caf::actor_system*, membership*> all;
  return all;
}

std::mutex memberships_mtx;

// thread_call's liveness check: a call to an actor of a peer that is down fails.
caf::error peer_down(caf::actor_system& sys, const caf::node_id& node) {
  std::lock_guard<std::mutex> guard{memberships_mtx};
  auto i = memberships().find(&sys);
  return i == memberships().end() ? caf::error{} : i->second->node_error(node);
}

} // namespace

// -- membership -----------------------------------------------------------------

membership::membership(std::shared_ptr<membership_state> state) : state_(std::move(state)) {}

caf::expected<std::unique_ptr<membership>> membership::start(caf::actor_system& sys, cluster_config c,
                                                            std::vector<std::string> pools) {
  if (!sys.has_middleman())
    return caf::make_error(caf::sec::feature_disabled, "the cluster needs cluster::configure on the system's config");
  auto st = std::make_shared<membership_state>(sys, std::move(c), std::move(pools));
  st->manager = sys.spawn<manager_actor>(st);
  st->directory = sys.middleman().spawn_broker(directory, st);
  auto& at = st->config.listen;
  auto port = st->config.tls ? caf::openssl::publish(st->directory, at.port, at.host.c_str(), true)
                             : publish_tuned(sys, caf::actor_cast<caf::strong_actor_ptr>(st->directory),
                                             sys.message_types(st->directory), at.host, at.port);
  if (!port) {
    caf::anon_send_exit(st->manager, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(st->directory, caf::exit_reason::user_shutdown);
    return caf::make_error(caf::sec::cannot_open_port, "cluster.listen " + st->config.listen.to_string() + ": "
                                                             + supervision::describe(port.error()));
  }
  st->port = *port;
  std::unique_ptr<membership> m{new membership(st)};
  for (auto& [name, p] : st->peers)
    if (p.dials)
      st->connectors.emplace_back(run_connector, st, name);
  std::weak_ptr<membership_state> weak = st;
  pool::set_remote_resolver(sys, [weak](const std::string& pool, const std::string& node)
                                   -> caf::expected<std::shared_ptr<pool::remote_backend>> {
    auto st = weak.lock();
    if (!st)
      return make_error(cluster_errc::node_down, "the cluster membership has ended");
    std::lock_guard<std::mutex> guard{st->mtx};
    if (st->stopping)
      return make_error(cluster_errc::node_down, "the cluster membership has ended");
    auto peer = st->peers.find(node);
    if (peer == st->peers.end()) // no proxy for a node nobody knows
      return st->not_up(node);
    if (auto known = st->remotes.find({node, pool}); known != st->remotes.end())
      return known->second;
    // Only pools the peer announced in its hello get a proxy (the latest
    // hello, kept while the peer is down): any other name costs nothing.
    auto& announced = peer->second.pools;
    if (std::find(announced.begin(), announced.end(), pool) == announced.end())
      return peer->second.epoch == 0 ? st->not_up(node)
                                     : make_error(cluster_errc::no_such_pool, "node " + node + " has no pool '" + pool + "'");
    return st->remotes[{node, pool}] = make_remote_pool(st, node, pool);
  });
  {
    std::lock_guard<std::mutex> guard{memberships_mtx};
    memberships()[&sys] = m.get();
  }
  otpp::detail::node_liveness_check().store(&peer_down, std::memory_order_release);
  events::emit(events::cluster_started{address{st->config.listen.host, st->port}.to_string(), st->config.peers.size(),
                                       st->config.tls ? "tls" : "tcp"});
  return m;
}

membership::~membership() {
  {
    std::lock_guard<std::mutex> guard{memberships_mtx};
    memberships().erase(&state_->sys);
  }
  pool::set_remote_resolver(state_->sys, nullptr);
  {
    std::lock_guard<std::mutex> guard{state_->mtx};
    state_->stopping = true;
    state_->changed.notify_all();
  }
  for (auto& t : state_->connectors)
    t.join();
  // caf::openssl::unpublish does not compile in 0.17.6: a TLS port stays
  // open until the actor system ends, with no actor behind it.
  if (!state_->config.tls)
    state_->sys.middleman().unpublish(state_->directory, state_->port);
  decltype(state_->remotes) remotes; // ended below, without the lock
  {
    std::lock_guard<std::mutex> guard{state_->mtx};
    remotes.swap(state_->remotes);
    for (auto& [name, p] : state_->peers) {
      p.directory = nullptr;
      p.epoch = 0;
      p.state = "down";
    }
    state_->gauges.clear();
    state_->downs.clear();
  }
  for (auto& [key, remote] : remotes)
    end_remote_pool(*remote);
  for (auto& a : {state_->manager, caf::actor_cast<caf::actor>(state_->directory)})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

uint16_t membership::port() const {
  return state_->port;
}

std::vector<peer_status> membership::peers() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  std::vector<peer_status> out;
  for (auto& [name, p] : state_->peers)
    out.push_back({name, p.state, p.since_unix_ms, p.last_error});
  return out;
}

std::string membership::peers_json() const {
  auto out = nlohmann::ordered_json::array(); // keys in this order
  for (auto& p : peers())
    out.push_back({{"name", events::printable(p.name)},
                   {"state", p.state},
                   {"since_unix_ms", p.since_unix_ms},
                   {"last_error", events::printable(p.last_error)}});
  return out.dump();
}

caf::error membership::node_error(const caf::node_id& node) const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  for (auto& [name, p] : state_->peers)
    if (p.node == node && p.epoch == 0)
      return make_error(cluster_errc::node_down, "node " + name + " is " + p.state);
  return {};
}

membership* find_membership(caf::actor_system& sys) {
  std::lock_guard<std::mutex> guard{memberships_mtx};
  auto i = memberships().find(&sys);
  return i == memberships().end() ? nullptr : i->second;
}

std::string peers_json(caf::actor_system& sys) {
  std::lock_guard<std::mutex> guard{memberships_mtx};
  auto i = memberships().find(&sys);
  return i == memberships().end() ? std::string{} : i->second->peers_json();
}

caf::expected<caf::actor_addr> watch(caf::actor_system& sys, const std::string& target, const caf::actor& watcher,
                                     std::chrono::milliseconds timeout) {
  auto at = target.find('@');
  if (at == std::string::npos)
    return supervision::make_error(supervision::errc::invalid_spec, "expected name@node, got '" + target + "'");
  caf::actor manager;
  {
    std::lock_guard<std::mutex> guard{memberships_mtx};
    auto i = memberships().find(&sys);
    if (i == memberships().end())
      return make_error(cluster_errc::node_down, "this node is not part of a cluster");
    manager = i->second->state_->manager;
  }
  caf::expected<caf::actor_addr> result{caf::sec::request_timeout};
  caf::scoped_actor self{sys};
  // The manager answers within `timeout` (its lookup's own bound).
  self->request(manager, caf::infinite, watch_atom::value, target.substr(0, at), target.substr(at + 1), watcher, timeout)
    .receive([&](caf::actor_addr& addr) { result = std::move(addr); }, [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace otpp::cluster
