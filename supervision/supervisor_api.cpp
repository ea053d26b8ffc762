#include "otpp/supervision/supervisor_api.hpp"

#include <caf/scoped_actor.hpp>

namespace otpp::supervision::blocking {

namespace {

template <class T, class... Ts>
caf::expected<T> ask(caf::actor_system& sys, const caf::actor& sup, timeout_type timeout, Ts&&... xs) {
  caf::expected<T> result{caf::error{}};
  caf::scoped_actor self{sys};
  self->request(sup, timeout, std::forward<Ts>(xs)...)
    .receive([&](T& value) { result = std::move(value); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

template <class... Ts>
caf::error ask_ok(caf::actor_system& sys, const caf::actor& sup, timeout_type timeout, Ts&&... xs) {
  auto result = ask<caf::ok_atom>(sys, sup, timeout, std::forward<Ts>(xs)...);
  return result ? caf::error{} : result.error();
}

} // namespace

caf::expected<caf::actor> start_child(caf::actor_system& sys, const caf::actor& sup, child_spec spec,
                                      timeout_type timeout) {
  return ask<caf::actor>(sys, sup, timeout, start_child_atom::value, std::move(spec));
}

caf::expected<caf::actor> start_child(caf::actor_system& sys, const caf::actor& sup,
                                      caf::message extra_args, timeout_type timeout) {
  return ask<caf::actor>(sys, sup, timeout, start_child_atom::value, std::move(extra_args));
}

caf::error terminate_child(caf::actor_system& sys, const caf::actor& sup, const std::string& id,
                           timeout_type timeout) {
  return ask_ok(sys, sup, timeout, terminate_child_atom::value, id);
}

caf::error terminate_child(caf::actor_system& sys, const caf::actor& sup, const caf::actor& child,
                           timeout_type timeout) {
  return ask_ok(sys, sup, timeout, terminate_child_atom::value, child);
}

caf::expected<caf::actor> restart_child(caf::actor_system& sys, const caf::actor& sup,
                                        const std::string& id, timeout_type timeout) {
  return ask<caf::actor>(sys, sup, timeout, restart_child_atom::value, id);
}

caf::error delete_child(caf::actor_system& sys, const caf::actor& sup, const std::string& id,
                        timeout_type timeout) {
  return ask_ok(sys, sup, timeout, delete_child_atom::value, id);
}

caf::expected<std::vector<child_info>> which_children(caf::actor_system& sys, const caf::actor& sup,
                                                      timeout_type timeout) {
  return ask<std::vector<child_info>>(sys, sup, timeout, which_children_atom::value);
}

caf::expected<child_counts> count_children(caf::actor_system& sys, const caf::actor& sup,
                                           timeout_type timeout) {
  return ask<child_counts>(sys, sup, timeout, count_children_atom::value);
}

caf::error update_flags(caf::actor_system& sys, const caf::actor& sup, supervisor_flags flags,
                        timeout_type timeout) {
  return ask_ok(sys, sup, timeout, update_flags_atom::value, std::move(flags));
}

caf::error update_child(caf::actor_system& sys, const caf::actor& sup, child_spec spec, timeout_type timeout) {
  return ask_ok(sys, sup, timeout, update_child_atom::value, std::move(spec));
}

} // namespace otpp::supervision::blocking
