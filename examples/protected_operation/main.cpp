// One operation guarded by a rate limiter, a pooled worker and a circuit
// breaker, all under one supervisor: two calls are admitted, the third is
// rate limited.
#include <chrono>
#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <otpp/breaker.hpp>
#include <otpp/guards.hpp>
#include <otpp/pool.hpp>
#include <otpp/rate_limit.hpp>
#include <otpp/supervision.hpp>

using namespace otpp;
using namespace std::chrono_literals;

using stock_atom = caf::atom_constant<caf::atom("stock")>;

// The pooled worker: the stock of an item (a database connection in a real program).
caf::behavior inventory(caf::event_based_actor*) {
  return {[](stock_atom, const std::string& item) { return static_cast<int>(item.size()) * 4; }};
}

int main() {
  caf::actor_system_config cfg;
  add_otpp_types(cfg);
  caf::actor_system sys{cfg};

  rate_limit::limiter_config limit; // 2 calls at once, then one every 2 s per key
  limit.name = "per_user";
  limit.algorithm = rate_limit::algorithm::token_bucket;
  limit.capacity = 2;
  limit.rate_per_s = 0.5;
  pool::pool_config workers;
  workers.name = "inventory";
  workers.size = 2;
  workers.worker = "inventory"; // with a factory, only a label
  workers.factory = [](supervision::start_context& ctx, const supervision::arguments&) -> caf::expected<caf::actor> {
    return ctx.spawn(inventory);
  };
  breaker::breaker_config service; // opens when half of the last 10 calls failed
  service.name = "inventory_breaker";
  service.window_size = 10;
  service.minimum_calls = 10;
  service.wait_in_open = 30s;

  supervision::supervisor_config config;
  config.name = "shop";
  config.children = {rate_limit::limiter_child(limit, 60s), pool::pool_child(workers), breaker::breaker_child(service)};
  auto sup = supervision::start_supervisor(sys, config);
  if (!sup) {
    std::cerr << "could not start: " << supervision::describe(sup.error()) << "\n";
    return 1;
  }

  protection guard;
  guard.ns = "shop";
  guard.service = "inventory";
  guard.limiter = "per_user";
  guard.key = "user:42";
  guard.pool = "inventory";
  guard.breaker = "inventory_breaker";
  caf::scoped_actor self{sys};
  for (int call = 1; call <= 3; ++call) {
    auto stock = protected_operation(sys, guard, [&](const caf::actor& worker) {
      return thread_call<int>(self, worker, 1s, stock_atom::value, std::string{"apples"});
    });
    if (stock)
      std::cout << "call " << call << ": admitted, " << *stock << " apples in stock\n";
    else if (refused_by(stock.error()) == guard_errc::rate_limited)
      std::cout << "call " << call << ": rate limited, retry after " << *retry_after_ms(stock.error()) << " ms\n";
    else
      std::cout << "call " << call << ": failed: " << supervision::describe(stock.error()) << "\n";
  }
  auto breaker = breaker::find_breaker(sys, "inventory_breaker");
  std::cout << "breaker: " << breaker::to_string((*breaker)->state()) << ", calls recorded: "
            << (*breaker)->totals().calls << "\n";

  self->send_exit(*sup, caf::exit_reason::user_shutdown);
  return 0;
}
