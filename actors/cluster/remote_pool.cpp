// A pool of another node: `pool::find_pool(sys, "pool@node")`.
//
// CAF 0.17.6 never fails a request whose target node dies (it ends only by
// its own timeout), so the calls in flight to a (node, pool) are kept in
// tables and failed with `node_down` when the manager reports the node down.
// Actors call through one local agent per (node, pool); plain threads send
// their checkouts and check-ins themselves, straight to the node's
// directory, with a passive actor as the sender whose `enqueue` (run by
// CAF's middleman when the answer arrives) wakes the waiting thread: no hop
// through a scheduler thread on the way out or back. The agent and the
// passive actor are the holders of the workers at the remote pool (which
// watches them like any caller: when this node is lost, the remote pool
// takes its workers back); the agent watches its own actor callers the same
// way and checks their workers in when they die. A grant that arrives for a
// call that already ended (node down, caller dead, thread gave up) is
// checked back in.

#include <algorithm>
#include <functional>
#include <optional>

#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
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
  uint64_t loan = 0; ///< the number of the loan of `worker`
  pool::pool_status status;
  caf::error err;
};

} // namespace detail

} // namespace otpp::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<otpp::cluster::detail::thread_call>)

namespace otpp::cluster {

namespace {

using clock_type = std::chrono::steady_clock;
using call_ptr = std::shared_ptr<detail::thread_call>;
using thread_status_atom = caf::atom_constant<caf::atom("t_status")>;
using fail_atom = caf::atom_constant<caf::atom("fail")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

// The remote calls of plain threads to one pool of one node. A thread sends
// its checkout request from its own thread, with this actor as the sender;
// CAF calls `enqueue` with the answer on the middleman's thread, which wakes
// the thread. The actor never runs; its tables are guarded by a mutex.
class thread_calls final : public caf::blocking_actor {
public:
  thread_calls(caf::actor_config& cfg, std::string node, std::string pool)
    : caf::blocking_actor(cfg), node_(std::move(node)), pool_(std::move(pool)) {}

  const char* name() const override {
    return "otpp_remote_pool_threads";
  }

  void act() override {} // never runs: spawned only to have an address and be watched

  void launch(caf::execution_unit*, bool, bool) override {
    initialize();
  }

  /// Sends a checkout for `call` to `dir` (connection `epoch`); the answer,
  /// the node's loss or the membership's end completes `call`.
  void checkout(const call_ptr& call, const directory_actor& dir, uint64_t epoch, bool block,
                std::chrono::milliseconds timeout) {
    uint64_t id;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (ended_ || epoch <= down_epoch_) {
        complete(*call, make_error(cluster_errc::node_down, "node " + node_ + " went down"));
        return;
      }
      id = next_id_++;
      pending_.emplace(id, pending_call{call, epoch, dir});
    }
    caf::actor_cast<caf::strong_actor_ptr>(dir)->enqueue(
      caf::make_mailbox_element(caf::strong_actor_ptr{ctrl()}, caf::make_message_id(id), {}, pool::checkout_atom::value,
                                pool_, block, static_cast<uint32_t>(timeout.count())),
      nullptr);
  }

  /// Checks in loan `loan` of `worker`, now, from the calling thread. A loan
  /// that ended (its connection was lost: the remote pool took the worker
  /// back and may have lent it again) is ignored.
  void checkin(const caf::actor& worker, uint64_t loan) {
    if (auto dir = end_loan(worker, loan))
      caf::anon_send(dir, pool::checkin_atom::value, pool_, worker);
  }

  /// Stops the worker of loan `loan` (ignored as for `checkin`); its pool replaces it.
  void fail(const caf::actor& worker, uint64_t loan) {
    if (end_loan(worker, loan))
      caf::anon_send_exit(worker, caf::exit_reason::kill);
  }

  /// The connection `epoch` was lost: its calls fail, its workers are void
  /// (the remote pool took them back).
  void node_down(uint64_t epoch) {
    auto err = make_error(cluster_errc::node_down, "node " + node_ + " went down while the call waited");
    std::vector<call_ptr> failed;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      down_epoch_ = std::max(down_epoch_, epoch);
      for (auto i = pending_.begin(); i != pending_.end();) {
        if (i->second.epoch == epoch) {
          failed.push_back(std::move(i->second.call));
          i = pending_.erase(i);
        } else {
          ++i;
        }
      }
      for (auto i = held_.begin(); i != held_.end();)
        i = i->second.epoch == epoch ? held_.erase(i) : std::next(i);
    }
    for (auto& call : failed)
      complete(*call, err);
  }

  /// The membership ended: every call fails, no new one starts, and this
  /// actor ends, so that the remote pools take back what it held.
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
      complete(*p.call, err);
    cleanup(caf::exit_reason::user_shutdown, nullptr);
  }

  // An answer to one of the threads' checkouts (nothing else is sent here).
  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override {
    if (!what || !what->mid.is_response())
      return;
    auto& answer = what->content();
    auto id = what->mid.request_id().integer_value(); // also the number of the loan
    pending_call p;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = pending_.find(id);
      if (i == pending_.end())
        return; // its connection was lost: the remote pool took the worker back
      p = std::move(i->second);
      pending_.erase(i);
      if (answer.match_elements<caf::actor>())
        held_[answer.get_as<caf::actor>(0).address()] = {p.epoch, p.directory, id};
    }
    if (!answer.match_elements<caf::actor>()) {
      complete(*p.call, answer.match_elements<caf::error>()
                          ? answer.get_as<caf::error>(0)
                          : make_error(cluster_errc::node_down,
                                       "node " + node_ + " answered a checkout with " + answer.stringify()));
      return;
    }
    auto& worker = answer.get_as<caf::actor>(0);
    if (!complete(*p.call, worker, id)) // the thread stopped waiting
      checkin(worker, id);
  }

private:
  struct pending_call {
    call_ptr call;
    uint64_t epoch = 0;
    directory_actor directory;
  };

  struct held_worker {
    uint64_t epoch = 0;
    directory_actor directory;
    uint64_t loan = 0;
  };

  // Ends loan `loan` of `worker`: its directory, or null if that loan had already ended.
  directory_actor end_loan(const caf::actor& worker, uint64_t loan) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = held_.find(worker.address());
    if (i == held_.end() || i->second.loan != loan)
      return {};
    auto dir = i->second.directory;
    held_.erase(i);
    return dir;
  }

  // Answers the waiting thread (a worker and its loan, or an error); false
  // if it stopped waiting.
  static bool complete(detail::thread_call& call, caf::expected<caf::actor> answer, uint64_t loan = 0) {
    std::lock_guard<std::mutex> guard{call.mtx};
    if (call.abandoned)
      return false;
    if (answer) {
      call.worker = std::move(*answer);
      call.loan = loan;
    } else {
      call.err = std::move(answer.error());
    }
    call.done = true;
    call.cv.notify_one();
    return true;
  }

  const std::string node_;
  const std::string pool_;
  std::mutex mtx_;
  bool ended_ = false;
  uint64_t down_epoch_ = 0; ///< the latest connection lost: calls on it fail at once
  uint64_t next_id_ = 1;
  std::map<uint64_t, pending_call> pending_;
  std::map<caf::actor_addr, held_worker> held_;
};

thread_calls& calls_of(const caf::actor& a) {
  return *static_cast<thread_calls*>(caf::actor_cast<caf::abstract_actor*>(a));
}

class agent_actor : public caf::event_based_actor {
public:
  agent_actor(caf::actor_config& cfg, std::shared_ptr<membership_state> st, std::string node, std::string pool,
              caf::actor threads)
    : caf::event_based_actor(cfg),
      st_(std::move(st)),
      node_(std::move(node)),
      pool_(std::move(pool)),
      threads_(std::move(threads)) {
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
    calls_of(threads_).end();
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
      [this](sweep_atom, uint64_t generation) {
        if (generation == sweep_generation_) // else re-armed since
          sweep();
      },
    };
  }

private:
  struct pending_call {
    uint64_t epoch;
    caf::actor_addr caller; ///< empty for a thread
    std::function<void(const caf::error&)> fail;
    clock_type::time_point deadline; ///< failed with request_timeout by the sweep after it
    caf::message_id response_id = {}; ///< of the request, to end CAF's wait for its answer
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
    add_pending(id, pending_call{epoch, caller_addr, [deliver](const caf::error& err) { deliver(err); },
                                 clock_type::now() + timeout + st_->request_slack()});
    auto pool = pool_;
    flush_checkins(); // a check-in made before this checkout arrives before it
    auto answer =
      request(dir, caf::infinite, pool::checkout_atom::value, pool_, block, static_cast<uint32_t>(timeout.count()));
    pending_.at(id).response_id = answer.id();
    answer.then(
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
    add_pending(id, pending_call{epoch, {}, [deliver](const caf::error& err) { deliver(err); },
                                 clock_type::now() + st_->request_slack()});
    flush_checkins();
    auto answer = request(dir, caf::infinite, pool::status_atom::value, pool_);
    pending_.at(id).response_id = answer.id();
    answer.then(
        [this, id, deliver](pool::pool_status& s) {
          if (pending_.erase(id) > 0)
            deliver(s);
        },
        [this, id, deliver](caf::error& err) {
          if (pending_.erase(id) > 0)
            deliver(err);
        });
  }

  // Requests carry no CAF timeout (CAF 0.17 never cancels one: each would
  // wake its clock thread twice); one sweep, armed for the earliest
  // deadline, answers the calls that outlived theirs with request_timeout.
  // A call that ends otherwise (node down) gets the same kind of answer, so
  // that CAF forgets the response it waited for.
  void add_pending(uint64_t id, pending_call call) {
    auto deadline = call.deadline;
    pending_.emplace(id, std::move(call));
    if (!sweep_at_ || deadline < *sweep_at_)
      arm_sweep(deadline);
  }

  void arm_sweep(clock_type::time_point at) {
    sweep_at_ = at;
    auto in = std::max(at - clock_type::now(), clock_type::duration::zero());
    delayed_send(this, std::chrono::duration_cast<caf::timespan>(in), sweep_atom::value, ++sweep_generation_);
  }

  void sweep() {
    auto now = clock_type::now();
    sweep_at_.reset();
    std::optional<clock_type::time_point> next;
    for (auto& [id, call] : pending_) {
      if (call.deadline <= now) {
        call.deadline = clock_type::time_point::max(); // answered below, once
        answer_self(call.response_id, caf::make_error(caf::sec::request_timeout));
      } else if (!next || call.deadline < *next) {
        next = call.deadline;
      }
    }
    if (next)
      arm_sweep(*next);
  }

  // Answers this actor's own request `response_id` with `err` (its error
  // handler runs next, as for an answer from the node).
  void answer_self(caf::message_id response_id, caf::error err) {
    eq_impl(response_id, nullptr, context(), std::move(err));
  }

  void node_down(uint64_t epoch) {
    calls_of(threads_).node_down(epoch);
    auto err = make_error(cluster_errc::node_down, "node " + node_ + " went down while the call waited");
    for (auto i = pending_.begin(); i != pending_.end();) {
      if (i->second.epoch != epoch) {
        ++i;
        continue;
      }
      auto fail = std::move(i->second.fail);
      answer_self(i->second.response_id, err); // finds the call gone: only ends CAF's wait
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
  caf::actor threads_; ///< the threads' calls (thread_calls), told of down nodes and the end
  uint64_t next_id_ = 1;
  std::optional<clock_type::time_point> sweep_at_; ///< when the armed sweep runs
  uint64_t sweep_generation_ = 0;                  ///< of the armed sweep; older ones do nothing
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
    caf::actor_config cfg;
    threads_ = st_->sys.spawn_impl<thread_calls, caf::hidden>(cfg, node_, pool_);
    agent_ = st_->sys.spawn<agent_actor>(st_, node_, pool_, threads_);
  }

  // The remote pool sees the threads' holder end and takes back what it still lent.
  ~remote_pool_backend() override {
    calls_of(threads_).end();
  }

  caf::expected<grant> checkout(bool block, std::chrono::milliseconds timeout) override {
    auto call = std::make_shared<detail::thread_call>();
    {
      auto t = target();
      if (!t)
        return t.error();
      calls_of(threads_).checkout(call, t->first, t->second, block, timeout);
    }
    if (auto err = wait(*call, timeout))
      return err;
    return grant{call->worker, call->loan};
  }

  void checkin(const caf::actor& worker, uint64_t loan) override {
    if (loan != 0)
      calls_of(threads_).checkin(worker, loan);
    else // an actor caller's, through the agent
      caf::anon_send(agent_, pool::checkin_atom::value, worker);
  }

  void fail(const caf::actor& worker, uint64_t loan) override {
    if (loan != 0)
      calls_of(threads_).fail(worker, loan);
    else
      caf::anon_send(agent_, fail_atom::value, worker);
  }

  caf::expected<pool::pool_status> status() override {
    if (auto t = target(false); !t) // the node answers no_such_pool itself
      return t.error();
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
  // The node's directory and connection number, or why it cannot be called
  // now (`needs_pool`: also when its hello named no such pool). A node that
  // is down answers at once, without a message.
  caf::expected<std::pair<directory_actor, uint64_t>> target(bool needs_pool = true) const {
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

  // A call is answered within `timeout` + the request slack (the node
  // answers, or is declared down); the extra second only guards against a
  // stalled system.
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
  caf::actor threads_; ///< thread_calls
  caf::actor agent_;
};

} // namespace

std::shared_ptr<pool::remote_backend> make_remote_pool(const std::shared_ptr<membership_state>& st,
                                                       const std::string& node, const std::string& pool) {
  return std::make_shared<remote_pool_backend>(st, node, pool);
}

} // namespace otpp::cluster
