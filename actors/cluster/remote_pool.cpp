// A pool of another node: `pool::find_pool(sys, "pool@node")`.
//
// CAF 0.17.6 never fails a request whose target node dies (it ends only by
// its own timeout), so every remote call goes through one local agent per
// (node, pool) that keeps the calls in flight in a table, and fails them all
// with `node_down` when the manager reports the node down. The agent is the
// holder of the workers at the remote pool (which watches it like any
// caller: when this node is lost, the remote pool takes its workers back);
// the agent watches its own actor callers the same way and checks their
// workers in when they die. A grant that arrives for a call that already
// ended (node down, caller dead, thread gave up) is checked back in.

#include <algorithm>
#include <functional>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "otpp/actors/cluster/membership_state.hpp"

namespace otpp::cluster {

namespace detail {

/// A thread waiting for its remote call.
struct thread_call {
  std::mutex mtx;
  std::condition_variable cv;
  bool done = false;
  bool abandoned = false; ///< the thread stopped waiting: a late worker goes back
  caf::actor worker;
  pool::pool_status status;
  caf::error err;
};

} // namespace detail

} // namespace otpp::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<otpp::cluster::detail::thread_call>)

namespace otpp::cluster {

namespace {

using call_ptr = std::shared_ptr<detail::thread_call>;
using thread_checkout_atom = caf::atom_constant<caf::atom("t_checkout")>;
using thread_status_atom = caf::atom_constant<caf::atom("t_status")>;
using fail_atom = caf::atom_constant<caf::atom("fail")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;

class agent_actor : public caf::event_based_actor {
public:
  agent_actor(caf::actor_config& cfg, std::shared_ptr<membership_state> st, std::string node, std::string pool)
    : caf::event_based_actor(cfg), st_(std::move(st)), node_(std::move(node)), pool_(std::move(pool)) {
    set_down_handler([this](caf::down_msg& msg) { caller_down(msg.source); });
  }

  const char* name() const override {
    return "otpp_remote_pool";
  }

  // Calls still waiting are answered (CAF 0.17 would leave them hanging), and
  // the shared state, which holds this actor's handle, is let go.
  void on_exit() override {
    auto err = make_error(cluster_errc::node_down, "the cluster membership of this node has ended");
    for (auto& [id, call] : pending_)
      call.fail(err);
    pending_.clear();
    st_.reset();
  }

  caf::behavior make_behavior() override {
    return {
      [this](pool::checkout_atom, bool block, std::chrono::milliseconds timeout) -> caf::result<caf::actor> {
        auto caller = caf::actor_cast<caf::actor>(current_sender());
        auto rp = make_response_promise<caf::actor>();
        checkout(block, timeout, caller, [rp](caf::expected<caf::actor> w) mutable {
          if (w)
            rp.deliver(*w);
          else
            rp.deliver(w.error());
          return true;
        });
        return rp;
      },
      [this](thread_checkout_atom, call_ptr& call, bool block, std::chrono::milliseconds timeout) {
        checkout(block, timeout, nullptr, [call](caf::expected<caf::actor> w) {
          std::lock_guard<std::mutex> guard{call->mtx};
          if (call->abandoned)
            return false;
          if (w)
            call->worker = std::move(*w);
          else
            call->err = w.error();
          call->done = true;
          call->cv.notify_one();
          return true;
        });
      },
      [this](pool::checkin_atom, caf::actor& worker) {
        checkin(worker);
        return caf::ok_atom::value;
      },
      [this](fail_atom, caf::actor& worker) {
        if (held_.erase(worker.address()) > 0)
          send_exit(worker, caf::exit_reason::kill); // its pool replaces it
      },
      [this](pool::status_atom) -> caf::result<pool::pool_status> {
        auto rp = make_response_promise<pool::pool_status>();
        status([rp](caf::expected<pool::pool_status> s) mutable {
          if (s)
            rp.deliver(*s);
          else
            rp.deliver(s.error());
        });
        return rp;
      },
      [this](thread_status_atom, call_ptr& call) {
        status([call](caf::expected<pool::pool_status> s) {
          std::lock_guard<std::mutex> guard{call->mtx};
          if (s)
            call->status = *s;
          else
            call->err = s.error();
          call->done = true;
          call->cv.notify_one();
        });
      },
      [this](peer_down_atom, uint64_t epoch) { node_down(epoch); },
      [this](flush_atom) { flush_checkins(); },
    };
  }

private:
  struct pending_call {
    uint64_t epoch;
    caf::actor_addr caller; ///< empty for a thread
    std::function<void(const caf::error&)> fail;
  };

  struct held_worker {
    caf::actor worker;
    uint64_t epoch;
    caf::actor_addr caller; ///< empty for a thread
  };

  // The node's directory and connection number, or why the node cannot be
  // called (`needs_pool`: also when its hello named no such pool).
  caf::expected<std::pair<directory_actor, uint64_t>> target(bool needs_pool = true) {
    std::lock_guard<std::mutex> guard{st_->mtx};
    auto i = st_->peers.find(node_);
    if (i == st_->peers.end() || i->second.epoch == 0)
      return st_->not_up(node_);
    auto& pools = i->second.pools;
    if (needs_pool && std::find(pools.begin(), pools.end(), pool_) == pools.end())
      return make_error(cluster_errc::no_such_pool, "node " + node_ + " has no pool '" + pool_ + "'");
    return std::make_pair(i->second.directory, i->second.epoch);
  }

  bool current(uint64_t epoch) {
    std::lock_guard<std::mutex> guard{st_->mtx};
    auto i = st_->peers.find(node_);
    return i != st_->peers.end() && i->second.epoch == epoch;
  }

  // `deliver` answers the caller; it returns false if nobody took the worker.
  void checkout(bool block, std::chrono::milliseconds timeout, const caf::actor& caller,
                std::function<bool(caf::expected<caf::actor>)> deliver) {
    auto t = target();
    if (!t) {
      deliver(t.error());
      return;
    }
    auto dir = t->first; // not a structured binding: clang 14 cannot capture those in a lambda
    auto epoch = t->second;
    auto id = next_id_++;
    auto caller_addr = caller ? caller.address() : caf::actor_addr{};
    if (caller && watched_callers_.insert(caller_addr).second)
      monitor(caller);
    pending_.emplace(id, pending_call{epoch, caller_addr, [deliver](const caf::error& err) { deliver(err); }});
    auto pool = pool_;
    flush_checkins(); // a check-in made before this checkout arrives before it
    request(dir, timeout + st_->request_slack(), pool::checkout_atom::value, pool_, block,
            static_cast<uint32_t>(timeout.count()))
      .then(
        [this, id, epoch, dir, pool, caller_addr, deliver](caf::actor& worker) {
          if (pending_.erase(id) > 0) {
            held_[worker.address()] = {worker, epoch, caller_addr};
            if (deliver(worker))
              return;
            held_.erase(worker.address());
          }
          if (current(epoch)) // nobody waits for it any more
            caf::anon_send(dir, pool::checkin_atom::value, pool, worker);
        },
        [this, id, deliver](caf::error& err) {
          if (pending_.erase(id) > 0)
            deliver(err);
        });
  }

  void checkin(const caf::actor& worker) {
    auto i = held_.find(worker.address());
    if (i == held_.end())
      return; // void: its node went down and its pool took it back
    auto epoch = i->second.epoch;
    held_.erase(i);
    // Check-ins go out in one message per pass over the mailbox: the flush
    // runs after the messages already queued.
    if (checkins_.empty() || checkins_epoch_ != epoch) {
      flush_checkins();
      checkins_epoch_ = epoch;
      send(this, flush_atom::value);
    }
    checkins_.push_back(worker);
  }

  void flush_checkins() {
    if (checkins_.empty())
      return;
    std::vector<caf::actor> batch;
    batch.swap(checkins_);
    std::lock_guard<std::mutex> guard{st_->mtx};
    auto p = st_->peers.find(node_);
    if (p == st_->peers.end() || p->second.epoch != checkins_epoch_)
      return; // void: the pool took them back when the connection was lost
    if (batch.size() == 1)
      caf::anon_send(p->second.directory, pool::checkin_atom::value, pool_, batch.front());
    else
      caf::anon_send(p->second.directory, pool::checkin_atom::value, pool_, std::move(batch));
  }

  void status(std::function<void(caf::expected<pool::pool_status>)> deliver) {
    auto t = target(false); // the node answers no_such_pool itself
    if (!t)
      return deliver(t.error());
    auto [dir, epoch] = *t;
    auto id = next_id_++;
    pending_.emplace(id, pending_call{epoch, {}, [deliver](const caf::error& err) { deliver(err); }});
    flush_checkins();
    request(dir, st_->request_slack(), pool::status_atom::value, pool_)
      .then(
        [this, id, deliver](pool::pool_status& s) {
          if (pending_.erase(id) > 0)
            deliver(s);
        },
        [this, id, deliver](caf::error& err) {
          if (pending_.erase(id) > 0)
            deliver(err);
        });
  }

  void node_down(uint64_t epoch) {
    auto err = make_error(cluster_errc::node_down, "node " + node_ + " went down while the call waited");
    for (auto i = pending_.begin(); i != pending_.end();) {
      if (i->second.epoch != epoch) {
        ++i;
        continue;
      }
      auto fail = std::move(i->second.fail);
      i = pending_.erase(i);
      fail(err);
    }
    for (auto i = held_.begin(); i != held_.end();)
      i = i->second.epoch == epoch ? held_.erase(i) : std::next(i);
  }

  void caller_down(const caf::actor_addr& caller) {
    watched_callers_.erase(caller);
    for (auto i = pending_.begin(); i != pending_.end();)
      i = i->second.caller == caller ? pending_.erase(i) : std::next(i);
    std::vector<caf::actor> workers;
    for (auto& [addr, h] : held_)
      if (h.caller == caller)
        workers.push_back(h.worker);
    for (auto& w : workers)
      checkin(w);
  }

  std::shared_ptr<membership_state> st_;
  std::string node_;
  std::string pool_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, pending_call> pending_;
  std::map<caf::actor_addr, held_worker> held_;
  std::vector<caf::actor> checkins_; ///< to send at the next flush
  uint64_t checkins_epoch_ = 0;
  std::set<caf::actor_addr> watched_callers_;
};

class remote_pool_backend : public pool::remote_backend {
public:
  remote_pool_backend(std::shared_ptr<membership_state> st, std::string node, std::string pool)
    : st_(std::move(st)), node_(std::move(node)), pool_(std::move(pool)) {
    agent_ = st_->sys.spawn<agent_actor>(st_, node_, pool_);
  }

  caf::expected<caf::actor> checkout(bool block, std::chrono::milliseconds timeout) override {
    if (auto err = fast_failure())
      return err;
    auto call = std::make_shared<detail::thread_call>();
    caf::anon_send(agent_, thread_checkout_atom::value, call, block, timeout);
    if (auto err = wait(*call, timeout))
      return err;
    return call->worker;
  }

  void checkin(const caf::actor& worker) override {
    caf::anon_send(agent_, pool::checkin_atom::value, worker);
  }

  void fail(const caf::actor& worker) override {
    caf::anon_send(agent_, fail_atom::value, worker);
  }

  caf::expected<pool::pool_status> status() override {
    if (auto err = fast_failure())
      return err;
    auto call = std::make_shared<detail::thread_call>();
    caf::anon_send(agent_, thread_status_atom::value, call);
    if (auto err = wait(*call, std::chrono::milliseconds{0}))
      return err;
    return call->status;
  }

  const caf::actor& agent() const override {
    return agent_;
  }

private:
  // A node that is down answers at once, without a message.
  caf::error fast_failure() const {
    std::lock_guard<std::mutex> guard{st_->mtx};
    if (st_->stopping)
      return make_error(cluster_errc::node_down, "the cluster membership of this node has ended");
    auto i = st_->peers.find(node_);
    if (i == st_->peers.end() || i->second.epoch == 0)
      return st_->not_up(node_);
    return {};
  }

  // The agent always answers within `timeout` + the request slack; the
  // extra second only guards against a stalled system.
  caf::error wait(detail::thread_call& call, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout + st_->request_slack() + std::chrono::seconds{1};
    std::unique_lock<std::mutex> lock{call.mtx};
    if (!call.cv.wait_until(lock, deadline, [&] { return call.done; })) {
      call.abandoned = true;
      return make_error(cluster_errc::node_down, "node " + node_ + " did not answer in time");
    }
    return call.err;
  }

  std::shared_ptr<membership_state> st_;
  std::string node_;
  std::string pool_;
  caf::actor agent_;
};

} // namespace

std::shared_ptr<pool::remote_backend> make_remote_pool(const std::shared_ptr<membership_state>& st,
                                                       const std::string& node, const std::string& pool) {
  return std::make_shared<remote_pool_backend>(st, node, pool);
}

} // namespace otpp::cluster
