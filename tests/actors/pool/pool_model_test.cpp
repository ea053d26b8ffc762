// A seeded, model-based test in the style of poolboy's QuickCheck model
// (poolboy_eqc.erl): random operations against the pool and against a small
// model of poolboy's rules; after every step the status, what every caller
// holds, and the live workers must agree.
#include <doctest/doctest.h>

#include <deque>
#include <random>
#include <sstream>

#include "otpp/supervision/exceptions.hpp"
#include "otpp/actors/events/log_sink.hpp"
#include "tests/actors/pool/pool_helpers.hpp"

using namespace otpp;
using namespace otpp::pool;
using namespace otpp::test;
using namespace std::chrono_literals;

namespace {

// poolboy's rules in counts only: no handles, no queues of workers.
struct pool_model {
  std::size_t size, max_overflow;
  std::size_t idle, overflow = 0;
  std::deque<int> waiting;
  std::vector<std::size_t> held;

  pool_model(std::size_t size, std::size_t max_overflow, std::size_t callers)
    : size(size), max_overflow(max_overflow), idle(size), held(callers, 0) {}

  void checkout(int c, bool block) {
    if (idle > 0) {
      --idle;
      ++held[c];
    } else if (overflow < max_overflow) {
      ++overflow;
      ++held[c];
    } else if (block) {
      waiting.push_back(c);
    }
  }

  void free_one() {
    if (!waiting.empty()) {
      ++held[waiting.front()];
      waiting.pop_front();
    } else if (overflow > 0) {
      --overflow;
    } else {
      ++idle;
    }
  }

  void checkin(int c) {
    --held[c];
    free_one();
  }

  void busy_worker_killed(int c) {
    checkin(c); // same counts: the oldest waiter, else less overflow, else a new idle worker
  }

  void caller_died(int c) {
    waiting.erase(std::remove(waiting.begin(), waiting.end(), c), waiting.end());
    for (; held[c] > 0; --held[c])
      free_one();
  }

  std::size_t busy() const {
    std::size_t n = 0;
    for (auto h : held)
      n += h;
    return n;
  }

  std::string status() const {
    std::string state;
    if (overflow < 1)
      state = idle > 0 ? "ready" : (max_overflow < 1 ? "full" : "overflow");
    else
      state = overflow == max_overflow ? "full" : "overflow";
    return state + " idle=" + std::to_string(idle) + " overflow=" + std::to_string(overflow)
           + " busy=" + std::to_string(busy()) + " waiting=" + std::to_string(waiting.size());
  }
};

struct model_fx : deterministic {
  std::vector<caf::actor> owned;
  ~model_fx() {
    for (auto& a : owned)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    sched.run();
  }
};

constexpr int callers = 3;
constexpr auto wait_limit = 1000ms;

// Runs one seeded sequence; returns the log of steps taken (for the failure message).
void run_sequence(unsigned seed, int steps) {
  std::mt19937 rng{seed};
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  model_fx fx;
  auto size = static_cast<std::size_t>(pick(3) + 1);
  auto max_overflow = static_cast<std::size_t>(pick(3));
  auto strategy = pick(2) == 0 ? pool_strategy::lifo : pool_strategy::fifo;
  auto p = test::start_pool(fx, counted_pool(size, max_overflow, strategy));
  fx.owned.push_back(p.actor());
  std::vector<client> clients;
  for (int i = 0; i < callers; ++i) {
    clients.push_back(spawn_client(fx, p.actor()));
    fx.owned.push_back(clients.back().actor);
  }
  auto stranger = supervision::spawn_keeping_exceptions(
    fx.sys, [](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; });
  fx.owned.push_back(stranger);
  pool_model model{size, max_overflow, callers};
  std::ostringstream history;
  history << "seed " << seed << ": size " << size << " max_overflow " << max_overflow << " "
          << (strategy == pool_strategy::lifo ? "lifo" : "fifo") << "\n";
  for (int step = 0; step < steps; ++step) {
    auto c = pick(callers);
    auto& who = clients[static_cast<std::size_t>(c)];
    switch (pick(8)) {
      case 0:
      case 1: {
        bool block = pick(3) != 0;
        history << "checkout caller " << c << (block ? " blocking\n" : " non-blocking\n");
        ask_checkout(fx, who, block, wait_limit);
        model.checkout(c, block);
        break;
      }
      case 2:
        if (who.rec->held.empty())
          continue;
        history << "checkin by caller " << c << "\n";
        give_back(fx, who, who.rec->held[static_cast<std::size_t>(pick(static_cast<int>(who.rec->held.size())))]);
        model.checkin(c);
        break;
      case 3: {
        history << "checkin of a wrong handle\n";
        caf::anon_send(p.actor(), checkin_atom::value, stranger);
        if (p.status().idle > 0) { // an idle worker, checked in twice
          auto idle = p.checkout(false);
          auto w = idle->worker();
          idle->release();
          caf::anon_send(p.actor(), checkin_atom::value, w);
        }
        fx.run();
        break;
      }
      case 4: {
        if (who.rec->held.empty())
          continue;
        history << "kill a busy worker of caller " << c << "\n";
        auto i = who.rec->held.begin() + pick(static_cast<int>(who.rec->held.size()));
        caf::anon_send_exit(*i, caf::exit_reason::kill);
        who.rec->held.erase(i);
        fx.run();
        model.busy_worker_killed(c);
        break;
      }
      case 5: {
        if (p.status().idle == 0) // a non-blocking checkout could start an overflow worker and wait
          continue;
        auto idle = p.checkout(false);
        history << "kill an idle worker\n";
        auto w = idle->worker();
        idle->release();
        caf::anon_send_exit(w, caf::exit_reason::kill);
        fx.run();
        break;
      }
      case 6:
        history << "caller " << c << " dies\n";
        caf::anon_send_exit(who.actor, caf::exit_reason::kill);
        fx.run();
        model.caller_died(c);
        who = spawn_client(fx, p.actor());
        fx.owned.push_back(who.actor);
        break;
      case 7:
        if (pick(2) == 0) {
          history << "waiters time out\n";
          fx.advance(wait_limit + 1ms);
          model.waiting.clear();
        } else {
          history << "spurious exit and down messages\n";
          caf::anon_send_exit(p.actor(), caf::exit_reason::normal);
          fx.run();
        }
        break;
    }
    auto status = fx.ask<pool_status>(p.actor(), status_atom::value);
    REQUIRE(status);
    INFO(history.str());
    REQUIRE(status_line(*status) == model.status());
    for (int i = 0; i < callers; ++i)
      REQUIRE(clients[static_cast<std::size_t>(i)].rec->held.size() == model.held[static_cast<std::size_t>(i)]);
    REQUIRE(counted_live == static_cast<int>(model.idle + model.busy()));
  }
}

} // namespace

TEST_SUITE("pool.model") {

TEST_CASE("random operations keep the pool equal to poolboy's model and leak no worker") {
  events::disable_log(); // thousands of events would only slow the run
  auto seeds = 300u;
  if (auto* env = std::getenv("OTPP_POOL_MODEL_SEEDS"))
    seeds = static_cast<unsigned>(std::stoul(env));
  for (unsigned seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    run_sequence(seed, 40);
  }
  events::configure_log({}); // the default log again
}

}
