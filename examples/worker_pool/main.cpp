// A pool of the program's own worker kind, "pricer", used from a plain thread
// (`transaction`) and from an actor (checkout and checkin messages).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <otpp/pool.hpp>
#include <otpp/supervision.hpp>

using namespace otpp;
using namespace std::chrono_literals;
using supervision::arguments;
using supervision::start_context;

using price_atom = caf::atom_constant<caf::atom("price")>;

// A worker: the gross price of a net amount, as text.
caf::behavior pricer(caf::event_based_actor*, std::string currency, int64_t vat_percent) {
  return {[=](price_atom, double net) {
    char gross[64];
    std::snprintf(gross, sizeof gross, "%.2f %s", net * (100 + vat_percent) / 100, currency.c_str());
    return std::string{gross};
  }};
}

// An actor that prices through the pool: it checks a worker out, asks it, and checks it in.
caf::behavior cashier(caf::event_based_actor* self, pool::pool_ref prices) {
  return {[=](price_atom, double net) -> caf::result<std::string> {
    auto rp = self->make_response_promise<std::string>();
    self->request(prices.actor(), 1s, pool::checkout_atom::value, true, 1000ms)
      .then(
        [=](caf::actor& worker) mutable {
          self->request(worker, 1s, price_atom::value, net)
            .then(
              [=](std::string& gross) mutable {
                prices.checkin(worker);
                rp.deliver(gross);
              },
              [=](caf::error& err) mutable {
                prices.checkin(worker);
                rp.deliver(err);
              });
        },
        [=](caf::error& err) mutable { rp.deliver(err); });
    return rp;
  }};
}

int main() {
  // The kind declares its arguments; a pool's `args` are checked against them when it starts.
  pool::register_worker_kind(
    "pricer",
    {supervision::choice_arg("currency", {"EUR", "USD"}).required(),
     supervision::integer_arg("vat_percent", 0, 100).defaults(20)},
    [](start_context& ctx, const arguments& args) -> caf::expected<caf::actor> {
      return ctx.spawn(pricer, args.get_string("currency"), args.get_int("vat_percent"));
    });

  caf::actor_system_config cfg;
  add_otpp_types(cfg);
  caf::actor_system sys{cfg};

  pool::pool_config config;
  config.name = "prices";
  config.size = 2;
  config.max_overflow = 1;
  config.worker = "pricer";
  config.args = arguments{{{"currency", std::string{"EUR"}}}};
  auto prices = pool::start_pool(sys, config);
  if (!prices) {
    std::cerr << "could not start the pool: " << supervision::describe(prices.error()) << "\n";
    return 1;
  }

  // From a plain thread: the worker is checked in when the function returns.
  caf::scoped_actor self{sys};
  auto gross = prices->transaction([&](const caf::actor& worker) {
    auto reply = thread_call<std::string>(self, worker, 1s, price_atom::value, 10.0);
    return reply ? *reply : "error: " + supervision::describe(reply.error());
  });
  std::cout << "from a thread: " << (gross ? *gross : supervision::describe(gross.error())) << "\n";

  // From an actor.
  auto desk = sys.spawn(cashier, *prices);
  self->request(desk, 2s, price_atom::value, 2.5)
    .receive([](std::string& gross) { std::cout << "from an actor: " << gross << "\n"; },
             [](caf::error& err) { std::cout << "from an actor: " << supervision::describe(err) << "\n"; });

  auto status = prices->status();
  std::cout << "idle workers: " << status.idle << ", busy: " << status.busy << "\n";
  self->send_exit(desk, caf::exit_reason::user_shutdown);
  self->send_exit(prices->actor(), caf::exit_reason::user_shutdown); // the workers end with the pool
  return 0;
}
