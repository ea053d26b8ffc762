// A pool of another node: `pool::find_pool(sys, "pool@node")`.
//
// One passive actor per (node, pool), the pool's proxy, carries every call:
// it never runs. Its `enqueue` does the work in the thread that sends to it:
// an actor's checkout is forwarded from the caller's own thread straight to
// the node's directory, and the answer, which CAF's middleman hands to the
// proxy on its own thread, goes from there straight to the caller's mailbox
// (or wakes the waiting thread): no hop through a scheduler thread on the
// way out or back. Its tables are guarded by a mutex.
//
// CAF 0.17.6 never fails a request whose target node dies (it ends only by
// its own timeout), so the calls in flight are kept in a table and failed
// with `node_down` when the manager reports the node down. The proxy is the
// holder of the workers at the remote pool (which watches it like any
// caller: when this node is lost, or the proxy ends with the membership, the
// remote pool takes its workers back); the proxy watches its own actor
// callers the same way and checks their workers in when they die. A grant
// that arrives for a call that nobody waits for any more (the caller died,
// its call timed out, the thread gave up) is checked back in.

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <caf/actor_clock.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/send.hpp>

#include "otpp/actors/cluster/membership_state.hpp"

namespace otpp::cluster {

namespace {

using clock_type = caf::actor_clock::clock_type;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

/// A thread waiting for its remote call.
struct thread_call {
  std::mutex mtx;
  std::condition_variable cv;
  bool done = false;
  bool abandoned = false; ///< the thread stopped waiting: a late worker goes back
  caf::actor worker;
  uint64_t loan = 0; ///< the number of the loan of `worker`
  pool::pool_status status;
  caf::error err;
};

using call_ptr = std::shared_ptr<thread_call>;

class remote_pool_proxy final : public caf::blocking_actor {
public:
  remote_pool_proxy(caf::actor_config& cfg, std::shared_ptr<membership_state> st, std::string node, std::string pool)
    : caf::blocking_actor(cfg), st_(std::move(st)), node_(std::move(node)), pool_(std::move(pool)) {}

  void launch(caf::execution_unit*, bool, bool) override {
    initialize();
    sweep_timer_ = home_system().spawn<caf::hidden>(sweep_timer, address());
  }

  const char* name() const override {
    return "otpp_remote_pool";
  }

  void act() override {} // never runs: spawned only to have an address and be watched

  /// A thread's checkout: the answer, the node's loss or the membership's
  /// end completes `call`.
  void checkout(const call_ptr& call, bool block, std::chrono::milliseconds timeout) {
    pending_call p;
    p.kind = call_kind::checkout;
    p.thread = call;
    start(std::move(p), caf::make_message(pool::checkout_atom::value, pool_, block, wire_timeout(timeout)));
  }

  /// A thread's status request, completed like `checkout`.
  void status(const call_ptr& call) {
    pending_call p;
    p.kind = call_kind::status;
    p.thread = call;
    start(std::move(p), caf::make_message(pool::status_atom::value, pool_));
  }

  /// Checks in loan `loan` of `worker` (0: an actor's loan of it, never a thread's),
  /// now, from the calling thread. A loan that ended (its connection was
  /// lost: the remote pool took the worker back and may have lent it again)
  /// is ignored.
  void checkin(const caf::actor& worker, uint64_t loan) {
    if (auto dir = end_loan(worker, loan))
      caf::anon_send(dir, pool::checkin_atom::value, pool_, worker);
  }

  /// Stops the worker of loan `loan` (ignored as for `checkin`); its pool replaces it.
  void fail(const caf::actor& worker, uint64_t loan) {
    if (end_loan(worker, loan))
      caf::anon_send_exit(worker, caf::exit_reason::kill);
  }

  /// The membership ended: every call fails, no new one starts, and this
  /// actor ends, so that the remote pool takes back what it held.
  void end() {
    std::map<uint64_t, pending_call> failed;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (ended_)
        return;
      ended_ = true;
      failed.swap(pending_);
      held_.clear();
    }
    auto err = make_error(cluster_errc::node_down, "the cluster membership of this node has ended");
    for (auto& [id, p] : failed)
      answer(p, err, nullptr);
    caf::anon_send_exit(sweep_timer_, caf::exit_reason::user_shutdown);
    cleanup(caf::exit_reason::user_shutdown, nullptr);
  }

  // Runs in the sender's thread: actors' requests, the node's answers (on
  // the middleman's thread), the manager's node-down, the callers' down
  // messages and the sweep (on CAF's clock thread, which must not be asked
  // to schedule anything: its queue is bounded and only it drains it).
  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* eu) override {
    if (!what)
      return;
    auto& msg = what->content();
    if (what->mid.is_response())
      answered(*what, eu);
    else if (msg.match_elements<pool::checkout_atom, bool, std::chrono::milliseconds>())
      actor_call(*what, call_kind::checkout,
                 caf::make_message(pool::checkout_atom::value, pool_, msg.get_as<bool>(1),
                                   wire_timeout(msg.get_as<std::chrono::milliseconds>(2))),
                 msg.get_as<std::chrono::milliseconds>(2), eu);
    else if (msg.match_elements<pool::status_atom>())
      actor_call(*what, call_kind::status, caf::make_message(pool::status_atom::value, pool_),
                 std::chrono::milliseconds{0}, eu);
    else if (msg.match_elements<pool::checkin_atom, caf::actor>()) {
      checkin(msg.get_as<caf::actor>(1), 0);
      reply(*what, caf::make_message(caf::ok_atom::value), eu);
    } else if (msg.match_elements<peer_down_atom, uint64_t>())
      node_down(msg.get_as<uint64_t>(1));
    else if (msg.match_elements<caf::down_msg>())
      caller_down(msg.get_as<caf::down_msg>(0).source);
    else if (msg.match_elements<sweep_atom, uint64_t>())
      sweep(msg.get_as<uint64_t>(1));
    else // an exit message too: the proxy ends with the membership only (`end`)
      reply(*what, caf::make_message(caf::make_error(caf::sec::unexpected_message)), eu);
  }

private:
  enum class call_kind { checkout, status };

  struct pending_call {
    call_kind kind = call_kind::checkout;
    uint64_t epoch = 0;
    directory_actor directory;
    call_ptr thread;              ///< a thread's call, or else
    caf::strong_actor_ptr caller; ///< an actor's, answered with
    caf::message_id reply_id;     ///< this id
    clock_type::time_point deadline = clock_type::time_point::max(); ///< an actor's call times out after it
    bool abandoned = false; ///< nobody waits any more (the actor died or timed out): a late worker goes back
  };

  struct held_worker {
    caf::actor worker;
    uint64_t epoch = 0;
    directory_actor directory;
    uint64_t loan = 0;
    caf::actor_addr caller; ///< an actor's worker; empty for a thread's
  };

  static uint32_t wire_timeout(std::chrono::milliseconds timeout) {
    return static_cast<uint32_t>(std::clamp<int64_t>(timeout.count(), 0, UINT32_MAX));
  }

  // The node's directory and connection number, or why it cannot be called
  // now (`needs_pool`: also when its hello named no such pool). A node that
  // is down answers at once, without a message.
  caf::expected<std::pair<directory_actor, uint64_t>> target(bool needs_pool) const {
    std::lock_guard<std::mutex> guard{st_->mtx};
    if (st_->stopping)
      return make_error(cluster_errc::node_down, "the cluster membership of this node has ended");
    auto i = st_->peers.find(node_);
    if (i == st_->peers.end() || i->second.epoch == 0)
      return st_->not_up(node_);
    auto& pools = i->second.pools;
    if (needs_pool && std::find(pools.begin(), pools.end(), pool_) == pools.end())
      return make_error(cluster_errc::no_such_pool, "node " + node_ + " has no pool '" + pool_ + "'");
    return std::make_pair(i->second.directory, i->second.epoch);
  }

  // An actor's checkout (bounded by `timeout` + the request slack) or
  // status request (by the slack).
  void actor_call(caf::mailbox_element& request, call_kind kind, caf::message msg, std::chrono::milliseconds timeout,
                  caf::execution_unit* eu) {
    if (!request.sender)
      return; // nobody to answer: nothing to take
    pending_call p;
    p.kind = kind;
    p.caller = request.sender;
    p.reply_id = request.mid.response_id();
    p.deadline = clock_type::now() + std::chrono::milliseconds{wire_timeout(timeout)} + st_->request_slack();
    start(std::move(p), std::move(msg), eu);
  }

  // Sends `msg` to the node's directory as call `p`; a node that is down
  // and a membership that ended answer at once.
  void start(pending_call p, caf::message msg, caf::execution_unit* eu = nullptr) {
    auto t = target(p.kind == call_kind::checkout); // the node answers no_such_pool to a status itself
    if (!t)
      return answer(p, t.error(), eu);
    p.directory = t->first;
    p.epoch = t->second;
    auto dir = p.directory;
    auto caller = p.caller;
    uint64_t id = 0;
    bool watch = false;
    std::optional<uint64_t> arm;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!ended_ && p.epoch > down_epoch_) {
        id = next_id_++;
        if (caller)
          watch = watched_callers_.insert(caller->address()).second;
        if (p.deadline < sweep_at_) {
          sweep_at_ = p.deadline;
          arm = ++sweep_generation_;
        }
        pending_.emplace(id, std::move(p));
      }
    }
    if (id == 0) // the node went down since `target`, or the membership ended
      return answer(p, make_error(cluster_errc::node_down, "node " + node_ + " went down"), eu);
    if (watch)
      monitor(caller);
    if (arm)
      schedule_sweep(*arm);
    caf::actor_cast<caf::strong_actor_ptr>(dir)->enqueue(
      caf::make_mailbox_element(caf::strong_actor_ptr{ctrl()}, caf::make_message_id(id), {}, std::move(msg)), eu);
  }

  // The node's answer to one of the calls.
  void answered(caf::mailbox_element& answer_element, caf::execution_unit* eu) {
    auto id = answer_element.mid.request_id().integer_value();
    auto& msg = answer_element.content();
    pending_call p;
    bool granted = msg.match_elements<caf::actor>();
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = pending_.find(id);
      if (i == pending_.end())
        return; // its connection was lost: the remote pool took the worker back
      p = std::move(i->second);
      pending_.erase(i);
      if (p.kind == call_kind::checkout && granted && !p.abandoned)
        held_[msg.get_as<caf::actor>(0).address()] = {msg.get_as<caf::actor>(0), p.epoch, p.directory, id,
                                                       p.caller ? p.caller->address() : caf::actor_addr{}};
    }
    if (p.kind == call_kind::checkout && granted) {
      auto& worker = msg.get_as<caf::actor>(0);
      if (p.abandoned)
        caf::anon_send(p.directory, pool::checkin_atom::value, pool_, worker);
      else if (p.thread && !complete(*p.thread, [&](thread_call& c) {
                 c.worker = worker;
                 c.loan = id;
               }))
        checkin(worker, id); // the thread stopped waiting
      else if (p.caller) // if it died meanwhile, its down message checks the worker in
        respond(p.caller, p.reply_id, answer_element.move_content_to_message(), eu);
    } else if (p.kind == call_kind::status && msg.match_elements<pool::pool_status>()) {
      if (p.thread)
        complete(*p.thread, [&](thread_call& c) { c.status = msg.get_as<pool::pool_status>(0); });
      else if (!p.abandoned)
        respond(p.caller, p.reply_id, answer_element.move_content_to_message(), eu);
    } else {
      answer(p,
             msg.match_elements<caf::error>()
               ? msg.get_as<caf::error>(0)
               : make_error(cluster_errc::node_down, "node " + node_ + " answered with " + msg.stringify()),
             eu);
    }
  }

  // Ends call `p` with `err`.
  void answer(pending_call& p, const caf::error& err, caf::execution_unit* eu) {
    if (p.thread)
      complete(*p.thread, [&](thread_call& c) { c.err = err; });
    else if (p.caller && !p.abandoned)
      respond(p.caller, p.reply_id, caf::make_message(err), eu);
  }

  // Answers a request with `msg` (nothing for a plain message).
  void reply(caf::mailbox_element& request, caf::message msg, caf::execution_unit* eu) {
    if (request.mid.is_request() && request.sender)
      respond(request.sender, request.mid.response_id(), std::move(msg), eu);
  }

  // Puts `msg`, from this proxy, with id `id`, into `to`'s mailbox.
  void respond(const caf::strong_actor_ptr& to, caf::message_id id, caf::message msg, caf::execution_unit* eu) {
    to->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{ctrl()}, id, {}, std::move(msg)), eu);
  }

  // Fills the waiting thread's call and wakes it; false if it stopped waiting.
  template <class Fill>
  static bool complete(thread_call& call, Fill fill) {
    std::lock_guard<std::mutex> guard{call.mtx};
    if (call.abandoned)
      return false;
    fill(call);
    call.done = true;
    call.cv.notify_one();
    return true;
  }

  // Ends loan `loan` of `worker` (0: an actor's loan of it): its directory,
  // or null if that loan had already ended.
  directory_actor end_loan(const caf::actor& worker, uint64_t loan) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = held_.find(worker.address());
    if (i == held_.end() || (loan != 0 ? i->second.loan != loan : i->second.caller == caf::actor_addr{}))
      return {};
    auto dir = i->second.directory;
    held_.erase(i);
    return dir;
  }

  // The connection `epoch` was lost: its calls fail, its workers are void
  // (the remote pool took them back).
  void node_down(uint64_t epoch) {
    std::vector<pending_call> failed;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      down_epoch_ = std::max(down_epoch_, epoch);
      for (auto i = pending_.begin(); i != pending_.end();) {
        if (i->second.epoch == epoch) {
          failed.push_back(std::move(i->second));
          i = pending_.erase(i);
        } else {
          ++i;
        }
      }
      for (auto i = held_.begin(); i != held_.end();)
        i = i->second.epoch == epoch ? held_.erase(i) : std::next(i);
    }
    auto err = make_error(cluster_errc::node_down, "node " + node_ + " went down while the call waited");
    for (auto& p : failed)
      answer(p, err, nullptr);
  }

  // An actor caller died: its calls are abandoned, its workers go back.
  void caller_down(const caf::actor_addr& caller) {
    std::vector<std::pair<directory_actor, caf::actor>> workers;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      watched_callers_.erase(caller);
      for (auto& [id, p] : pending_)
        if (p.caller && p.caller->address() == caller)
          p.abandoned = true;
      for (auto i = held_.begin(); i != held_.end();) {
        if (i->second.caller == caller) {
          workers.emplace_back(i->second.directory, i->second.worker);
          i = held_.erase(i);
        } else {
          ++i;
        }
      }
    }
    for (auto& [dir, worker] : workers)
      caf::anon_send(dir, pool::checkin_atom::value, pool_, worker);
  }

  // Requests carry no CAF timeout; one sweep, armed for the earliest
  // deadline, answers the actors' calls that outlived theirs with
  // request_timeout (a worker that still comes goes back).
  void schedule_sweep(uint64_t generation) {
    clock_type::time_point at;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (generation != sweep_generation_)
        return; // re-armed since
      at = sweep_at_;
    }
    auto in = std::max(at - clock_type::now(), clock_type::duration::zero());
    caf::anon_send(sweep_timer_, sweep_atom::value, std::chrono::duration_cast<caf::timespan>(in), generation);
  }

  // Sends the proxy its sweeps from a scheduler thread.
  static caf::behavior sweep_timer(caf::event_based_actor* self, caf::actor_addr proxy) {
    return {[self, proxy](sweep_atom, caf::timespan in, uint64_t generation) {
      if (auto p = caf::actor_cast<caf::actor>(proxy))
        self->delayed_send(p, in, sweep_atom::value, generation);
    }};
  }

  void sweep(uint64_t generation) {
    std::vector<pending_call> overdue;
    std::optional<uint64_t> arm;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (generation != sweep_generation_)
        return; // re-armed since
      auto now = clock_type::now();
      sweep_at_ = clock_type::time_point::max();
      for (auto& [id, p] : pending_) {
        if (p.deadline <= now) {
          overdue.push_back(p);
          p.abandoned = true;
          p.deadline = clock_type::time_point::max();
        } else {
          sweep_at_ = std::min(sweep_at_, p.deadline);
        }
      }
      if (sweep_at_ != clock_type::time_point::max())
        arm = ++sweep_generation_;
    }
    if (arm)
      schedule_sweep(*arm);
    auto err = caf::make_error(caf::sec::request_timeout);
    for (auto& p : overdue)
      answer(p, err, nullptr);
  }

  const std::shared_ptr<membership_state> st_;
  const std::string node_;
  const std::string pool_;
  std::mutex mtx_; ///< guards everything below; never held while sending or taking st_->mtx
  bool ended_ = false;
  uint64_t down_epoch_ = 0; ///< the latest connection lost: calls on it fail at once
  uint64_t next_id_ = 1;    ///< of the next call, which is also the number of its loan
  std::map<uint64_t, pending_call> pending_;
  std::map<caf::actor_addr, held_worker> held_;
  std::set<caf::actor_addr> watched_callers_;
  clock_type::time_point sweep_at_ = clock_type::time_point::max(); ///< when the armed sweep runs
  uint64_t sweep_generation_ = 0;                                   ///< of the armed sweep; older ones do nothing
  caf::actor sweep_timer_; ///< arms the sweep from a scheduler thread (`sweep_timer`)
};

remote_pool_proxy& proxy_of(const caf::actor& a) {
  return *static_cast<remote_pool_proxy*>(caf::actor_cast<caf::abstract_actor*>(a));
}

class remote_pool_backend : public pool::remote_backend {
public:
  remote_pool_backend(std::shared_ptr<membership_state> st, std::string node, std::string pool)
    : st_(std::move(st)), node_(std::move(node)) {
    caf::actor_config cfg;
    proxy_ = st_->sys.spawn_impl<remote_pool_proxy, caf::hidden>(cfg, st_, node_, std::move(pool));
  }

  // The remote pool sees the proxy end and takes back what it still lent.
  ~remote_pool_backend() override {
    proxy_of(proxy_).end();
  }

  caf::expected<grant> checkout(bool block, std::chrono::milliseconds timeout) override {
    auto call = std::make_shared<thread_call>();
    proxy_of(proxy_).checkout(call, block, timeout);
    if (auto err = wait(*call, timeout))
      return err;
    return grant{call->worker, call->loan};
  }

  void checkin(const caf::actor& worker, uint64_t loan) override {
    proxy_of(proxy_).checkin(worker, loan);
  }

  void fail(const caf::actor& worker, uint64_t loan) override {
    proxy_of(proxy_).fail(worker, loan);
  }

  caf::expected<pool::pool_status> status() override {
    auto call = std::make_shared<thread_call>();
    proxy_of(proxy_).status(call);
    if (auto err = wait(*call, std::chrono::milliseconds{0}))
      return err;
    return call->status;
  }

  const caf::actor& proxy() const override {
    return proxy_;
  }

private:
  // A call is answered within `timeout` + the request slack (the node
  // answers, or is declared down); the extra second only guards against a
  // stalled system.
  caf::error wait(thread_call& call, std::chrono::milliseconds timeout) {
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
  caf::actor proxy_; ///< remote_pool_proxy
};

} // namespace

void end_remote_pool(pool::remote_backend& remote) {
  proxy_of(remote.proxy()).end();
}

std::shared_ptr<pool::remote_backend> make_remote_pool(const std::shared_ptr<membership_state>& st,
                                                       const std::string& node, const std::string& pool) {
  return std::make_shared<remote_pool_backend>(st, node, pool);
}

} // namespace otpp::cluster
