#include "otpp/actors/redis/client.hpp"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <thread>

#include <hiredis/hiredis.h>

#include "otpp/actors/redis/sentinel.hpp"

namespace otpp::redis {

namespace {

using steady = std::chrono::steady_clock;

constexpr std::size_t max_batch = 256;

std::chrono::milliseconds left(steady::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
}

bool error_reply(const reply& r, const char* code) {
  auto n = std::strlen(code);
  return r && r->type == REDIS_REPLY_ERROR && r->len >= n && std::memcmp(r->str, code, n) == 0;
}

std::vector<caf::expected<reply>> failed(std::size_t n, const caf::error& err) {
  std::vector<caf::expected<reply>> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.emplace_back(err);
  return out;
}

} // namespace

// A caller's command, from the moment it is queued until its reply is handed over.
struct client::waiter {
  enum class state { queued, in_flight, leading, done };
  std::vector<std::string> args;
  std::optional<caf::expected<reply>> result; // set with `done`
  state at = state::queued;
  std::condition_variable wake;
};

// One connection and the callers waiting for it.
struct client::slot {
  std::mutex mutex;
  bool busy = false;              // a caller leads: it alone uses `connection`
  std::deque<waiter*> queue;      // commands not sent yet
  std::vector<waiter*> in_flight; // the leader's batch after its own command; null: the caller gave up
  std::atomic<int> load{0};       // callers here, read without the lock by pick()
  std::unique_ptr<redis::connection> connection;
  std::string sha;
};

client::client(client_options options) : options_(std::move(options)) {
  for (int i = 0; i < std::max(1, options_.connections); ++i)
    slots_.push_back(std::make_unique<slot>());
  if (options_.sentinels.empty())
    master_ = options_.server;
}

client::~client() = default;

steady::time_point client::retry_at() const {
  return steady::time_point{steady::duration{retry_at_.load()}};
}

caf::expected<reply> client::call(std::vector<std::string> args) {
  auto deadline = steady::now() + options_.timeout;
  if (steady::now() < retry_at())
    return make_error(redis_errc::unavailable, "Redis unreachable at " + where() + " (recently failed)");
  auto& s = pick();
  s.load.fetch_add(1, std::memory_order_relaxed);
  struct leave {
    slot& s;
    ~leave() { s.load.fetch_sub(1, std::memory_order_relaxed); }
  } leaving{s};
  waiter w;
  w.args = std::move(args);
  std::unique_lock<std::mutex> lock{s.mutex};
  if (!s.busy) {
    s.busy = true;
    return lead(s, lock, w, deadline);
  }
  s.queue.push_back(&w);
  w.wake.wait_until(lock, deadline,
                    [&] { return w.at == waiter::state::done || w.at == waiter::state::leading; });
  if (w.at == waiter::state::done)
    return std::move(*w.result);
  if (w.at == waiter::state::leading)
    return lead(s, lock, w, deadline);
  if (w.at == waiter::state::queued)
    s.queue.erase(std::find(s.queue.begin(), s.queue.end(), &w));
  else
    std::replace(s.in_flight.begin(), s.in_flight.end(), &w, static_cast<waiter*>(nullptr));
  lock.unlock();
  return make_error(redis_errc::unavailable, "Redis timeout: no reply within "
                                               + std::to_string(options_.timeout.count()) + " ms from " + where());
}

client::slot& client::pick() {
  thread_local const std::size_t start = std::hash<std::thread::id>{}(std::this_thread::get_id());
  slot* best = nullptr;
  int least = INT_MAX;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    auto& s = *slots_[(start + i) % slots_.size()];
    auto load = s.load.load(std::memory_order_relaxed);
    if (load == 0)
      return s;
    if (load < least) {
      least = load;
      best = &s;
    }
  }
  return *best;
}

// Sends the caller's command with every queued one, hands out the replies,
// then passes the lead to the newest waiter: its deadline is the latest, so
// bounding the I/O by the leader's deadline never cuts a waiter short.
caf::expected<reply> client::lead(slot& s, std::unique_lock<std::mutex>& lock, waiter& own,
                                  steady::time_point deadline) {
  std::vector<std::vector<std::string>> commands;
  commands.push_back(std::move(own.args));
  while (!s.queue.empty() && commands.size() < max_batch) {
    auto* w = s.queue.front();
    s.queue.pop_front();
    w->at = waiter::state::in_flight;
    commands.push_back(std::move(w->args));
    s.in_flight.push_back(w);
  }
  lock.unlock();
  auto answers = execute(s, commands, deadline);
  lock.lock();
  for (std::size_t i = 0; i < s.in_flight.size(); ++i)
    if (auto* w = s.in_flight[i]) {
      w->result.emplace(std::move(answers[i + 1]));
      w->at = waiter::state::done;
      w->wake.notify_one();
    }
  s.in_flight.clear();
  if (s.queue.empty()) {
    s.busy = false;
  } else {
    auto* next = s.queue.back();
    s.queue.pop_back();
    next->at = waiter::state::leading;
    next->wake.notify_one();
  }
  return std::move(answers[0]);
}

// A connection that broke while idle (a restarted server) is replaced once
// when none of the batch was answered, so no command runs twice.
client::results client::execute(slot& s, std::vector<std::vector<std::string>>& commands,
                                steady::time_point deadline) {
  for (bool reused = s.connection != nullptr;; reused = false) {
    if (!s.connection) {
      if (steady::now() < retry_at())
        return failed(commands.size(),
                      make_error(redis_errc::unavailable, "Redis unreachable at " + where() + " (recently failed)"));
      if (auto err = connect(s, deadline))
        return failed(commands.size(), unreachable(std::move(err)));
    }
    s.connection->set_timeout(left(deadline));
    auto answered = commands.size();
    auto answers = send(s, commands, answered, deadline);
    if (!s.connection->broken())
      return answers;
    auto err = s.connection->failure();
    s.connection.reset();
    forget_master();
    if (!reused || answered > 0 || left(deadline).count() < 1) {
      unreachable(std::move(err));
      return answers;
    }
  }
}

client::results client::send(slot& s, std::vector<std::vector<std::string>>& commands, std::size_t& answered,
                             steady::time_point deadline) {
  for (auto& args : commands)
    if (args.size() > 1 && args[1].empty() && args[0] == "EVALSHA")
      args[1] = s.sha;
  auto replies = s.connection->pipeline(commands);
  answered = replies.size();
  // NOSCRIPT: sent once more as EVAL, which loads the script again (and
  // cannot meet NOSCRIPT, whatever flushes the cache meanwhile).
  std::vector<std::size_t> again;
  std::vector<std::vector<std::string>> retry;
  for (std::size_t i = 0; i < replies.size(); ++i)
    if (error_reply(replies[i], "NOSCRIPT") && !options_.script.empty()) {
      again.push_back(i);
      retry.push_back(commands[i]);
      retry.back()[0] = "EVAL";
      retry.back()[1] = options_.script;
    }
  if (!again.empty()) {
    // hiredis bounds each read, not the call: what is left of the deadline, at least 1 ms.
    s.connection->set_timeout(std::max(left(deadline), std::chrono::milliseconds{1}));
    auto second = s.connection->pipeline(retry);
    for (std::size_t k = 0; k < again.size(); ++k)
      replies[again[k]] = k < second.size() ? std::move(second[k]) : reply{};
  }
  bool readonly = false;
  results answers;
  answers.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (i < replies.size() && replies[i]) {
      readonly = readonly || error_reply(replies[i], "READONLY");
      answers.push_back(connection::checked(std::move(replies[i])));
    } else {
      answers.push_back(s.connection->failure());
    }
  }
  if (readonly && !s.connection->broken()) { // a master demoted by a failover
    s.connection.reset();
    forget_master();
  }
  return answers;
}

caf::error client::connect(slot& s, steady::time_point deadline) {
  auto where = master(deadline);
  if (!where)
    return where.error();
  if (left(deadline).count() < 1)
    return make_error(redis_errc::unavailable, "Redis timeout while connecting");
  auto c = connection::open(*where, left(deadline));
  if (!c) {
    forget_master();
    return c.error();
  }
  (*c)->set_timeout(left(deadline));
  if (!options_.sentinels.empty())
    if (auto err = check_master(**c)) {
      forget_master();
      return err;
    }
  if (!options_.script.empty()) {
    (*c)->set_timeout(std::max(left(deadline), std::chrono::milliseconds{1}));
    auto r = (*c)->command({"SCRIPT", "LOAD", options_.script});
    if (!r)
      return r.error();
    if ((*r)->type != REDIS_REPLY_STRING)
      return make_error(redis_errc::server_error, "unexpected reply to SCRIPT LOAD");
    s.sha.assign((*r)->str, (*r)->len);
  }
  s.connection = std::move(*c);
  return {};
}

caf::expected<endpoint> client::master(steady::time_point deadline) {
  {
    std::lock_guard<std::mutex> guard{master_mutex_};
    if (master_)
      return *master_;
  }
  auto found = ask_sentinels(options_.sentinels, options_.master_name, deadline);
  if (found) {
    std::lock_guard<std::mutex> guard{master_mutex_};
    master_ = *found;
  }
  return found;
}

void client::forget_master() {
  if (options_.sentinels.empty())
    return;
  std::lock_guard<std::mutex> guard{master_mutex_};
  master_.reset();
}

caf::error client::unreachable(caf::error err) {
  retry_at_ = (steady::now() + options_.timeout).time_since_epoch().count();
  return err;
}

std::string client::where() {
  std::lock_guard<std::mutex> guard{master_mutex_};
  if (master_)
    return master_->host + ":" + std::to_string(master_->port);
  return "master '" + options_.master_name + "' (through Sentinel)";
}

} // namespace otpp::redis
