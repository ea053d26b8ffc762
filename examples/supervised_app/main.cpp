// A supervised application: a parser that crashes on bad input and a counter
// that keeps a running total, both under one one_for_one supervisor. The
// parser's crash is reported on stderr and the parser restarted; the counter
// keeps its state.
#include <chrono>
#include <future>
#include <memory>
#include <iostream>
#include <stdexcept>
#include <string>
#include <variant>

#include <caf/all.hpp>
#include <otpp/observe.hpp>
#include <otpp/supervision.hpp>

using namespace otpp::supervision;
using namespace std::chrono_literals;

using add_atom = caf::atom_constant<caf::atom("add")>;
using total_atom = caf::atom_constant<caf::atom("total")>;

// "42" -> 42; anything else throws, which ends this actor with the exception's text.
caf::behavior parser(caf::event_based_actor*) {
  return {[](const std::string& text) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument("not a number: '" + text + "'");
    return std::stoi(text);
  }};
}

caf::behavior counter(caf::event_based_actor*) {
  auto total = std::make_shared<int>(0);
  return {[=](add_atom, int n) { *total += n; }, [=](total_atom) { return *total; }};
}

// A permanent worker, registered under its id.
template <class F>
child_spec worker(std::string id, F body) {
  child_spec spec;
  spec.id = spec.name = id;
  spec.start = [body](start_context& ctx) -> caf::expected<caf::actor> { return ctx.spawn(body); };
  return spec;
}

int main() {
  caf::actor_system_config cfg;
  otpp::add_otpp_types(cfg); // otpp's errors render by name
  caf::actor_system sys{cfg};

  supervisor_config config;
  config.name = "app";
  config.flags.intensity = 3; // at most 3 restarts within period (5 s), else the supervisor gives up
  config.children = {worker("parser", parser), worker("counter", counter)};
  auto sup = start_supervisor(sys, config);
  if (!sup) {
    std::cerr << "could not start: " << describe(sup.error()) << "\n";
    return 1;
  }

  // Events are also values: wait for the one that says the parser is back.
  auto restarted = std::make_shared<std::promise<void>>();
  auto subscription = otpp::events::subscribe([restarted](const otpp::events::record& r) {
    auto* started = std::get_if<otpp::events::child_started>(&r.value);
    if (started && started->child == "parser" && started->restarts == 1)
      restarted->set_value();
  });

  caf::scoped_actor self{sys};
  auto parse = [&](const std::string& text) {
    self->request(whereis(sys, "parser"), 1s, text)
      .receive([&](int n) { self->send(whereis(sys, "counter"), add_atom::value, n); },
               [&](caf::error& err) { std::cout << "parser failed on '" << text << "': " << describe(err) << "\n"; });
  };
  parse("12");
  parse("oops"); // the parser crashes; its supervisor restarts it under the same name
  restarted->get_future().wait_for(2s);
  otpp::events::unsubscribe(subscription);
  parse("30");
  self->request(whereis(sys, "counter"), 1s, total_atom::value)
    .receive([](int total) { std::cout << "total: " << total << "\n"; },
             [](caf::error& err) { std::cout << "counter failed: " << describe(err) << "\n"; });

  if (auto counts = blocking::count_children(sys, *sup))
    std::cout << "children running: " << counts->active << "\n";
  self->send_exit(*sup, caf::exit_reason::user_shutdown); // stops the children in reverse order
  self->wait_for(*sup);
  return 0;
}
