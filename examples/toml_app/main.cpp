// A program with its own kinds, its tree in its own TOML file (shop.toml):
// a pool of "catalog" workers and an "order_router" child under a nested
// supervisor. Run it as `toml_app shop.toml`; SIGINT or SIGTERM stops the
// tree in reverse order and exits 0. `toml_app --check shop.toml` only
// validates the file, the kinds' arguments included.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <stdexcept>
#include <string>

#include <caf/all.hpp>
#include <otpp/node.hpp>
#include <otpp/pool.hpp>
#include <otpp/supervision.hpp>

using namespace otpp;
using namespace std::chrono_literals;
using supervision::arguments;
using supervision::start_context;

using price_atom = caf::atom_constant<caf::atom("price")>;

// A pool worker: prices in one region.
caf::behavior catalog(caf::event_based_actor*, std::string region) {
  return {[=](price_atom, const std::string& item) { return (region == "eu" ? 1.2 : 1.3) * item.size(); }};
}

// A supervised child: asks the catalog pool for a price when it starts. With
// `crash_once`, its first incarnation then fails, to show a restart.
caf::behavior order_router(caf::event_based_actor* self, pool::pool_ref prices, int64_t max_batch, bool crash_once) {
  static std::atomic<bool> crashed{false};
  self->request(prices.actor(), 1s, pool::checkout_atom::value, true, 1000ms).then([=](caf::actor& worker) {
    self->request(worker, 1s, price_atom::value, std::string{"apples"}).then([=](double price) {
      prices.checkin(worker);
      std::cout << "order_router: batches of " << max_batch << ", apples at " << price << std::endl;
      if (crash_once && !crashed.exchange(true))
        throw std::runtime_error("lost the connection to the order queue");
    });
  });
  return {[](const std::string& order) { return "routed " + order; }};
}

int main(int argc, char** argv) {
  pool::register_worker_kind("catalog", {supervision::choice_arg("region", {"eu", "us"}).required()},
                             [](start_context& ctx, const arguments& args) -> caf::expected<caf::actor> {
                               return ctx.spawn(catalog, args.get_string("region"));
                             });
  supervision::register_child_kind(
    "order_router",
    {supervision::integer_arg("max_batch", 1, 1000).defaults(50), supervision::boolean_arg("crash_once").defaults(false)},
    [](start_context& ctx, const arguments& args) -> caf::expected<caf::actor> {
      auto prices = pool::find_pool(ctx.system(), "catalog"); // started before it (see shop.toml)
      if (!prices)
        return prices.error();
      return ctx.spawn(order_router, *prices, args.get_int("max_batch"), args.get_bool("crash_once"));
    });
  return config::node_main(argc, argv);
}
