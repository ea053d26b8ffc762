#include "otpp/actors/pool/worker_kinds.hpp"

#include <deque>
#include <memory>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>

namespace otpp::pool {

namespace {

caf::behavior echo_worker(caf::event_based_actor* self) {
  self->set_default_handler([](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
    return x.move_content_to_message();
  });
  return {[](int x) { return x; }};
}

using wake_atom = caf::atom_constant<caf::atom("wake")>;

caf::behavior sleep_worker(caf::event_based_actor* self, std::chrono::milliseconds delay) {
  self->set_default_handler([](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
    return x.move_content_to_message();
  });
  // Equal delays fire in order, so the oldest promise is always the one due.
  auto pending = std::make_shared<std::deque<caf::response_promise>>();
  return {
    [self, delay, pending](sleep_atom) {
      pending->push_back(self->make_response_promise());
      self->delayed_send(self, delay, wake_atom::value);
      return pending->back();
    },
    [pending](wake_atom) {
      pending->front().deliver(sleep_atom::value);
      pending->pop_front();
    },
  };
}

supervision::kind_table& table() {
  static supervision::kind_table instance{"worker kind"};
  static const bool builtins = [] {
    instance.add("echo", {{}, [](supervision::start_context& ctx, const worker_args&) -> caf::expected<caf::actor> {
                     return ctx.spawn(echo_worker);
                   }});
    instance.add("sleep", {{supervision::integer_arg("delay_ms", 0, 86'400'000).defaults(10)},
                    [](supervision::start_context& ctx, const worker_args& args) -> caf::expected<caf::actor> {
                      return ctx.spawn(sleep_worker, std::chrono::milliseconds{args.get_int("delay_ms")});
                    }});
    return true;
  }();
  (void) builtins;
  return instance;
}

} // namespace

void register_worker_kind(const std::string& name, std::vector<supervision::argument_spec> arguments,
                          worker_factory factory) {
  table().add(name, {std::move(arguments), std::move(factory)});
}

caf::expected<supervision::kind> find_worker_kind(const std::string& name) {
  return table().find(name);
}

std::vector<std::string> worker_kinds() {
  return table().names();
}

} // namespace otpp::pool
