#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace otpp::pool {

/// Where checked-in workers go in the idle list (checkout always takes the head).
enum class pool_strategy { lifo, fifo };

/// poolboy's state names.
enum class pool_state { ready, overflow, full };

std::string to_string(pool_state x);

/// What `status()` reports: poolboy's (state, idle, overflow, busy) plus extras.
struct pool_status {
  pool_state state = pool_state::ready;
  std::size_t idle = 0;
  std::size_t overflow = 0;
  std::size_t busy = 0;    ///< checked-out workers
  std::size_t waiting = 0; ///< queued blocking callers
  std::size_t size = 0;
  std::size_t max_overflow = 0;
};

/// Who holds or waits for a worker: an actor caller's id, or 0 for a thread.
using holder_id = uint64_t;

/// A queued caller, unique per checkout that had to wait.
using ticket = uint64_t;

/// Why the owner must start a worker; decides where it goes once running.
enum class start_purpose {
  for_pool,        ///< a start for the size (a larger size, an initial worker's retry): handled like a check-in
  for_idle_head,   ///< a crashed worker's replacement: the oldest waiter, else the head of the idle list
  for_replacement, ///< the new worker of a rolling replacement: placed as `for_idle_head`; once it runs, the next may go
  for_overflow,    ///< a reserved overflow worker (a blocking `start` checkout's retry, `resize`'s for waiters): as `for_pool`
};

/// Why the book dismisses a free worker.
enum class dismissal {
  overflow, ///< poolboy's: a worker came free while overflow workers exist and nobody waits
  resized,  ///< the pool has more workers than its (new) size or overflow workers than its max_overflow
};

/// A liveness test that knows of no death: the owner hears of every one by message.
struct always_alive {
  template <class Worker>
  bool operator()(const Worker&) const {
    return true;
  }
};

/// poolboy's bookkeeping, without actors, threads or clocks: the idle list,
/// the checked-out workers and their holders, the overflow count and the FIFO
/// of waiting callers. Every operation returns what the owner must do.
/// A running pool changes size, max_overflow and strategy with `resize` and
/// `set_strategy`, and replaces its workers one at a time after `retire_all`.
/// `Worker` is any hashable handle. `Alive` tells whether a worker still
/// runs before the owner heard of its end: a dead worker is never handed
/// out, but set aside until `worker_down` replaces it.
template <class Worker, class Alive = always_alive>
class pool_book {
public:
  /// What a checkout got: a worker, the go-ahead to start an overflow worker
  /// for the caller (then `adopt` it, or `queue` the caller if the start
  /// fails), a place in the queue, or `full`.
  struct checkout_result {
    enum kind_t { got, start, wait, full } kind;
    Worker worker{}; ///< with `got`
  };

  /// What the owner must do with a worker that became free (check-in, a
  /// started worker, or a waiter that went away holding one). `replaced`:
  /// stop it and start its successor for `start_purpose::for_replacement`.
  struct free_result {
    enum kind_t { ignored, handed, dismissed, idled, replaced } kind;
    ticket waiter = 0;                    ///< with `handed`: who gets the worker now
    dismissal why = dismissal::overflow; ///< with `dismissed`
  };

  /// What the owner must do after `resize`: stop the idle workers in
  /// `dismiss` now, start `starts` workers for `start_purpose::for_pool`
  /// and `overflow_starts` for `start_purpose::for_overflow`.
  struct resize_result {
    std::vector<Worker> dismiss;
    std::size_t starts = 0;
    std::size_t overflow_starts = 0;
  };

  pool_book(std::size_t size, std::size_t max_overflow, pool_strategy strategy, Alive alive = {})
    : size_(size), max_overflow_(max_overflow), strategy_(strategy), alive_(std::move(alive)) {}

  /// A worker of the initial `size` is running: it becomes idle.
  void add_initial(const Worker& w) {
    idle_.push_back(w);
  }

  /// The owner retries a start of its own (an initial worker that failed to
  /// start) for `start_purpose::for_pool`: counted as under way, like the
  /// starts the book asks for, so that a shrink can cancel it.
  void expect_start() {
    ++starting_;
  }

  /// poolboy's checkout: the head of the idle list; else, unless callers
  /// already wait (they come first), an overflow worker (reserved until it
  /// runs, even for a non-blocking call); else `full` for a non-blocking
  /// caller, or a place at the back of the queue. A pool of size 0 without
  /// overflow answers `full` to every caller.
  checkout_result checkout(holder_id holder, bool block, ticket t) {
    if (auto w = take_idle(holder))
      return {checkout_result::got, std::move(*w)};
    if (waiters_.empty() && overflow_ + reserved_ < max_overflow_) {
      ++reserved_;
      return {checkout_result::start, Worker{}};
    }
    if (!block || (size_ == 0 && max_overflow_ == 0))
      return {checkout_result::full, Worker{}};
    waiters_.push_back({t, holder});
    return {checkout_result::wait, Worker{}};
  }

  /// The head of the idle list, checked out to `holder`; dead heads are set
  /// aside on the way. None when no live worker is idle.
  std::optional<Worker> take_idle(holder_id holder) {
    while (!idle_.empty()) {
      Worker w = std::move(idle_.front());
      idle_.pop_front();
      if (!alive_(w)) {
        dead_.emplace(std::move(w), start_purpose::for_idle_head);
        continue;
      }
      hold(w, lease_of{holder, 0});
      return w;
    }
    return std::nullopt;
  }

  /// The overflow worker started after a `start` checkout: checked out to
  /// `holder`, and its reservation becomes an overflow worker.
  void adopt(const Worker& w, holder_id holder) {
    if (reserved_ > 0)
      --reserved_;
    ++overflow_;
    hold(w, lease_of{holder, 0});
  }

  /// The start after a `start` checkout failed (or its worker is not
  /// wanted): the reservation is given back and the caller gets nothing.
  void unreserve() {
    if (reserved_ > 0)
      --reserved_;
  }

  /// The start after a `start` checkout failed: the caller queues instead
  /// (at the back), the reservation stays, and the owner retries the start
  /// for `start_purpose::for_overflow`; the next worker goes to the oldest waiter.
  void queue(ticket t, holder_id holder) {
    waiters_.push_back({t, holder});
  }

  /// poolboy's checkin: the oldest waiter gets the worker; else an overflow
  /// worker is dismissed; else it becomes idle (head for lifo, tail for fifo).
  /// Before all that, a worker the pool has too many of since a `resize` is
  /// dismissed, and a retired one is `replaced` unless a replacement is under way.
  /// Unknown, idle or dead workers are ignored (a dead one stays checked
  /// out until `worker_down`, which handles it as a crashed busy worker).
  free_result checkin(const Worker& w) {
    auto i = busy_.find(w);
    if (i == busy_.end() || !alive_(w))
      return {free_result::ignored, 0};
    return place(release(i), strategy_ == pool_strategy::lifo);
  }

  /// Checks `w` in only if it is still out under the hand-over to waiter `t`
  /// (that waiter went away before receiving it); otherwise it was already
  /// taken back and perhaps checked out again, and nothing happens.
  free_result checkin_handed(const Worker& w, ticket t) {
    auto i = busy_.find(w);
    if (i == busy_.end() || i->second.handed_to != t)
      return {free_result::ignored, 0};
    return checkin(w);
  }

  /// A worker started for `purpose` is running.
  /// A start a shrink cancelled meanwhile is dismissed (ignored if it ended).
  /// Else placed like a check-in (an overflow worker started meanwhile is
  /// made up for by dismissing this one), idle at the head for a crashed
  /// worker's replacement or a rolling one; a `for_overflow` one fills its reservation.
  /// One that already ended is set aside: `worker_down` starts another for `purpose`.
  free_result started(const Worker& w, start_purpose purpose) {
    bool overflow = purpose == start_purpose::for_overflow;
    if (!overflow && start_arrived()) {
      if (purpose == start_purpose::for_replacement)
        replacing_ = false;
      if (!alive_(w))
        return {free_result::ignored, 0};
      return {free_result::dismissed, 0, dismissal::resized};
    }
    if (!alive_(w)) {
      dead_.emplace(w, purpose); // a reservation stays for the restart
      return {free_result::ignored, 0};
    }
    if (purpose == start_purpose::for_replacement)
      replacing_ = false;
    if (overflow && reserved_ > 0) {
      --reserved_;
      ++overflow_;
    }
    bool as_checkin = overflow || purpose == start_purpose::for_pool;
    return place(w, !as_checkin || strategy_ == pool_strategy::lifo);
  }

  /// The worker handed to waiter `t` (of `holder`) ended before it reached
  /// the waiter: the waiter gets a live idle worker if there is one, else it
  /// goes back to the head of the queue. The dead worker stays checked out
  /// (to nobody) until `worker_down` replaces it, for the oldest waiter.
  std::optional<Worker> unhand(const Worker& w, ticket t, holder_id holder) {
    if (auto i = busy_.find(w); i != busy_.end() && i->second.handed_to == t)
      i->second = lease_of{0, 0};
    if (auto other = take_idle(holder))
      return other;
    waiters_.push_front({t, holder});
    return std::nullopt;
  }

  /// Whether `w` still runs, as far as the book can tell.
  bool alive(const Worker& w) const {
    return alive_(w);
  }

  /// Who holds `w` now (after `handed`, the waiter's holder).
  holder_id holder_of(const Worker& w) const {
    auto i = busy_.find(w);
    return i == busy_.end() ? 0 : i->second.holder;
  }

  /// A worker died (crash or kill). Returns how many workers to start and
  /// for what: none for an unknown worker or a busy overflow worker, nor
  /// while the pool has more workers than its size or max_overflow allow.
  std::vector<start_purpose> worker_down(const Worker& w) {
    if (!stale_.empty())
      stale_.erase(w);
    if (auto i = dead_.find(w); i != dead_.end()) {
      auto purpose = i->second;
      dead_.erase(i);
      return purpose == start_purpose::for_overflow ? overflow_needed() : needed(purpose);
    }
    if (auto i = std::find(idle_.begin(), idle_.end(), w); i != idle_.end()) {
      idle_.erase(i);
      return needed(start_purpose::for_idle_head);
    }
    auto i = busy_.find(w);
    if (i == busy_.end())
      return {};
    busy_.erase(i);
    if (waiters_.empty() && overflow_ > 0) {
      --overflow_;
      return {};
    }
    return needed(start_purpose::for_idle_head); // poolboy 1.5.2: the oldest waiter, else the head of the idle list
  }

  /// A new size and max_overflow, at once. A larger size starts workers
  /// (as many as it adds, less the starts a shrink cancelled and the
  /// dismissals it still owed); a larger max_overflow starts overflow
  /// workers for the callers that wait beyond them. A smaller size cancels
  /// starts under way first (restarts, retries, a replacement's successor:
  /// each is dismissed when it runs), then dismisses idle workers now (those
  /// to be replaced first) and busy ones as they come free; overflow workers
  /// beyond a smaller max_overflow go as they come free. Nobody's checkout
  /// fails: a waiter keeps waiting for the next free worker.
  resize_result resize(std::size_t size, std::size_t max_overflow) {
    resize_result r;
    if (size >= size_) {
      auto added = size - size_;
      auto revived = std::min(cancelled_, added);
      cancelled_ -= revived;
      auto owed = std::min(excess_, added - revived);
      excess_ -= owed;
      r.starts = added - revived - owed;
      starting_ += r.starts;
    } else {
      excess_ += size_ - size;
    }
    size_ = size;
    max_overflow_ = max_overflow;
    auto in_flight = std::min(excess_, starting_ - cancelled_);
    cancelled_ += in_flight;
    excess_ -= in_flight;
    for (; excess_ > 0 && !idle_.empty(); --excess_)
      r.dismiss.push_back(take_idle_to_dismiss());
    for (; excess_ == 0 && r.starts + r.overflow_starts < waiters_.size() && overflow_ + reserved_ < max_overflow_;
         ++reserved_)
      ++r.overflow_starts;
    return r;
  }

  /// Check-ins go to the head (lifo) or the tail (fifo) of the idle list from now on.
  void set_strategy(pool_strategy strategy) {
    strategy_ = strategy;
  }

  /// Every worker the book holds (idle or checked out) is to be replaced,
  /// one at a time: ask `next_replacement` for an idle one; a checked-out one
  /// is `replaced` when it comes free while no replacement is under way.
  void retire_all() {
    stale_.insert(idle_.begin(), idle_.end());
    for (const auto& [w, out] : busy_)
      stale_.insert(w);
  }

  /// `w` (idle or checked out; started from an older configuration) is to be replaced too.
  void retire(const Worker& w) {
    if (busy_.count(w) > 0 || std::find(idle_.begin(), idle_.end(), w) != idle_.end())
      stale_.insert(w);
  }

  /// Unless a replacement is under way: an idle worker to replace, taken
  /// out of the idle list (stop it and start its successor for
  /// `start_purpose::for_replacement`). The next one comes once that
  /// successor runs (`started`), so one worker at most is out of service.
  std::optional<Worker> next_replacement() {
    if (replacing_ || stale_.empty())
      return std::nullopt;
    for (auto i = idle_.rbegin(); i != idle_.rend(); ++i) {
      if (stale_.count(*i) == 0 || !alive_(*i))
        continue;
      Worker w = std::move(*i);
      idle_.erase(std::next(i).base());
      stale_.erase(w);
      replacing_ = true;
      ++starting_;
      return w;
    }
    return std::nullopt;
  }

  /// Workers still to be replaced (after `retire_all`).
  std::size_t retired() const {
    return stale_.size();
  }

  /// Whether a replacement's successor is being started.
  bool replacing() const {
    return replacing_;
  }

  /// A waiter gave up (timeout) or died. False if it is no longer queued:
  /// a worker was handed to it meanwhile and it must give that one back.
  bool cancel(ticket t) {
    auto i = std::find_if(waiters_.begin(), waiters_.end(), [&](const waiter& x) { return x.t == t; });
    if (i == waiters_.end())
      return false;
    waiters_.erase(i);
    return true;
  }

  /// The workers `holder` still has checked out (to give back when it dies).
  std::vector<Worker> held_by(holder_id holder) const {
    std::vector<Worker> result;
    for (const auto& [w, out] : busy_)
      if (out.holder == holder)
        result.push_back(w);
    return result;
  }

  /// The queued tickets of `holder` (to cancel when it dies).
  std::vector<ticket> tickets_of(holder_id holder) const {
    std::vector<ticket> result;
    for (const auto& x : waiters_)
      if (x.holder == holder)
        result.push_back(x.t);
    return result;
  }

  /// Workers the book knows: idle, checked out, and ended but not yet replaced.
  std::vector<Worker> workers() const {
    std::vector<Worker> result{idle_.begin(), idle_.end()};
    for (const auto& [w, out] : busy_)
      result.push_back(w);
    for (const auto& [w, purpose] : dead_)
      result.push_back(w);
    return result;
  }

  /// The idle workers, the next one to be checked out first.
  std::vector<Worker> idle() const {
    return {idle_.begin(), idle_.end()};
  }

  /// True for a worker that is idle, checked out, or set aside as ended.
  bool knows(const Worker& w) const {
    return busy_.count(w) > 0 || dead_.count(w) > 0 || std::find(idle_.begin(), idle_.end(), w) != idle_.end();
  }

  /// Queued callers (what `status().waiting` says, without the rest).
  std::size_t waiting() const {
    return waiters_.size();
  }

  /// poolboy's view: `overflow` counts overflow workers and those still starting.
  pool_status status() const {
    pool_status s;
    s.idle = idle_.size();
    s.overflow = overflow_ + reserved_;
    s.busy = busy_.size();
    s.waiting = waiters_.size();
    s.size = size_;
    s.max_overflow = max_overflow_;
    if (s.overflow < 1)
      s.state = !idle_.empty() ? pool_state::ready : (max_overflow_ < 1 ? pool_state::full : pool_state::overflow);
    else
      s.state = s.overflow >= max_overflow_ ? pool_state::full : pool_state::overflow;
    return s;
  }

private:
  struct waiter {
    ticket t;
    holder_id holder;
  };

  /// Who has a checked-out worker, and the waiter's ticket if it was handed over.
  struct lease_of {
    holder_id holder;
    ticket handed_to;
  };

  // Dismissals a shrink owes come first, then poolboy's overflow rule, then a
  // rolling replacement; only then does a waiter get the worker.
  free_result place(Worker w, bool at_head) {
    bool stale = !stale_.empty() && stale_.erase(w) > 0;
    if (excess_ > 0) {
      --excess_;
      return {free_result::dismissed, 0, dismissal::resized};
    }
    if (overflow_ > max_overflow_) {
      --overflow_;
      return {free_result::dismissed, 0, dismissal::resized};
    }
    if (waiters_.empty() && overflow_ > 0) {
      --overflow_;
      return {free_result::dismissed, 0, dismissal::overflow};
    }
    if (stale && !replacing_) {
      replacing_ = true;
      ++starting_;
      return {free_result::replaced, 0};
    }
    if (stale)
      stale_.insert(w);
    if (!waiters_.empty()) {
      auto next = waiters_.front();
      waiters_.pop_front();
      hold(w, lease_of{next.holder, next.t});
      return {free_result::handed, next.t};
    }
    if (at_head)
      idle_.push_front(std::move(w));
    else
      idle_.push_back(std::move(w));
    return {free_result::idled, 0};
  }

  // A start the pool needs after a worker ended, unless a shrink owes a
  // dismissal: then the ended worker settles it.
  std::vector<start_purpose> needed(start_purpose purpose) {
    if (excess_ > 0) {
      --excess_;
    } else if (overflow_ > max_overflow_) {
      --overflow_;
    } else {
      ++starting_;
      return {purpose};
    }
    if (purpose == start_purpose::for_replacement)
      replacing_ = false;
    return {};
  }

  // A reserved overflow worker ended before it ran: started again, unless
  // max_overflow no longer leaves room for it (then the reservation goes).
  std::vector<start_purpose> overflow_needed() {
    if (overflow_ + reserved_ <= max_overflow_)
      return {start_purpose::for_overflow};
    unreserve();
    return {};
  }

  // A start the book counted as under way has run: true if a shrink
  // cancelled it (a start nobody counted, with none under way, is not).
  bool start_arrived() {
    if (starting_ == 0)
      return false;
    --starting_;
    if (cancelled_ == 0)
      return false;
    --cancelled_;
    return true;
  }

  // The idle worker a shrink dismisses: one to be replaced if any, else the
  // one that would be checked out last.
  Worker take_idle_to_dismiss() {
    auto i = std::find_if(idle_.begin(), idle_.end(), [&](const Worker& w) { return stale_.count(w) > 0; });
    if (i == idle_.end())
      i = std::prev(idle_.end());
    Worker w = std::move(*i);
    idle_.erase(i);
    stale_.erase(w);
    return w;
  }

  // Records `w` as checked out, in the node the last check-in freed if
  // there is one: a checkout and check-in pair allocates nothing.
  void hold(const Worker& w, lease_of out) {
    if (spare_.empty()) {
      busy_.emplace(w, out);
      return;
    }
    spare_.key() = w;
    spare_.mapped() = out;
    busy_.insert(std::move(spare_));
  }

  // Takes the entry at `i` out of the checked-out workers; its node is kept for `hold`.
  Worker release(typename std::unordered_map<Worker, lease_of>::iterator i) {
    auto node = busy_.extract(i);
    Worker w = std::move(node.key());
    spare_ = std::move(node);
    return w;
  }

  std::size_t size_;
  std::size_t max_overflow_;
  pool_strategy strategy_;
  Alive alive_;
  std::size_t overflow_ = 0;  ///< running overflow workers
  std::size_t reserved_ = 0;  ///< overflow workers still starting (after `start` checkouts and `resize`)
  std::size_t starting_ = 0;  ///< other starts asked for (or `expect_start`) and not yet `started`
  std::size_t cancelled_ = 0; ///< of those, how many a shrink cancelled (dismissed when they run)
  std::deque<Worker> idle_;
  std::unordered_map<Worker, lease_of> busy_;
  typename std::unordered_map<Worker, lease_of>::node_type spare_; ///< a freed node of busy_, for reuse
  std::deque<waiter> waiters_;
  std::unordered_map<Worker, start_purpose> dead_; ///< seen ended before `worker_down`: the start it needs
  std::size_t excess_ = 0;          ///< workers a shrink still has to dismiss as they come free
  std::unordered_set<Worker> stale_; ///< idle or checked-out workers still to be replaced
  bool replacing_ = false;          ///< a replacement's successor is being started
};

} // namespace otpp::pool
