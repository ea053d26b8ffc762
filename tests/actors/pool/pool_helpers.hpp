#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "otpp/actors/pool/pool.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/deterministic.hpp"
#include "tests/support/pool_kinds.hpp"

namespace otpp::test {

/// What a client actor received from the pool.
struct client_record {
  std::vector<caf::actor> held;
  std::vector<caf::error> errors;
};

/// A caller actor: on (checkout_atom, block, timeout) it requests a worker
/// from `pool`; on (checkin_atom, worker) it checks that worker in.
inline caf::behavior pool_client(caf::event_based_actor* self, caf::actor pool, std::shared_ptr<client_record> rec) {
  return {
    [=](pool::checkout_atom, bool block, std::chrono::milliseconds timeout) {
      self->request(pool, caf::infinite, pool::checkout_atom::value, block, timeout)
        .then([=](caf::actor& w) { rec->held.push_back(w); }, [=](caf::error& e) { rec->errors.push_back(e); });
    },
    [=](pool::checkin_atom, caf::actor& w) {
      self->request(pool, caf::infinite, pool::checkin_atom::value, w).then([](caf::ok_atom) {});
      rec->held.erase(std::find(rec->held.begin(), rec->held.end(), w));
    },
  };
}

struct client {
  caf::actor actor;
  std::shared_ptr<client_record> rec;
};

inline client spawn_client(deterministic& fx, const caf::actor& pool) {
  auto rec = std::make_shared<client_record>();
  return {fx.sys.spawn(pool_client, pool, rec), rec};
}

inline void ask_checkout(deterministic& fx, const client& c, bool block = true,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds{1000}) {
  caf::anon_send(c.actor, pool::checkout_atom::value, block, timeout);
  fx.run();
}

inline void give_back(deterministic& fx, const client& c, const caf::actor& w) {
  caf::anon_send(c.actor, pool::checkin_atom::value, w);
  fx.run();
}

inline pool::pool_config counted_pool(std::size_t size, std::size_t max_overflow,
                                      pool::pool_strategy strategy = pool::pool_strategy::lifo) {
  register_counted_kind();
  pool::pool_config config;
  config.name = "test.pool";
  config.size = size;
  config.max_overflow = max_overflow;
  config.strategy = strategy;
  config.worker = "test.counted";
  return config;
}

inline pool::pool_ref start_pool(deterministic& fx, pool::pool_config config) {
  auto ref = pool::start_pool(fx.sys, std::move(config));
  REQUIRE_MESSAGE(ref, supervision::describe(ref.error()));
  fx.run();
  return *ref;
}

/// The deterministic fixture, plus the pools and callers a test spawns, all stopped at the end.
struct pool_fx : deterministic {
  ~pool_fx() {
    for (auto& a : owned)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    sched.run();
  }
  pool::pool_ref pool(pool::pool_config config) {
    auto ref = test::start_pool(*this, std::move(config));
    owned.push_back(ref.actor());
    return ref;
  }
  client caller(const pool::pool_ref& p) {
    auto c = spawn_client(*this, p.actor());
    owned.push_back(c.actor);
    return c;
  }
  pool::pool_status status(const pool::pool_ref& p) {
    auto s = ask<pool::pool_status>(p.actor(), pool::status_atom::value);
    REQUIRE(s);
    return *s;
  }
  std::vector<caf::actor> owned;
};

/// (state, idle, overflow, busy, waiting) as one comparable string.
inline std::string status_line(const pool::pool_status& s) {
  return pool::to_string(s.state) + " idle=" + std::to_string(s.idle) + " overflow=" + std::to_string(s.overflow)
         + " busy=" + std::to_string(s.busy) + " waiting=" + std::to_string(s.waiting);
}

} // namespace otpp::test
