#include <doctest/doctest.h>

#include <caf/event_based_actor.hpp>

#include "otpp/actors/named_table.hpp"
#include "tests/support/deterministic.hpp"

using namespace otpp;

namespace {

// A unit argument: CAF 0.17 trips UBSan on function actors without arguments.
caf::behavior idle_actor(caf::event_based_actor*, caf::unit_t) {
  return {[](int) {}};
}

} // namespace

TEST_SUITE("named_table") {

TEST_CASE("a name put while an owner lives goes with the owner, also when the owner was already gone") {
  test::deterministic fx;
  named_table<int> table;
  auto spawn_owner = [&] { return fx.sys.spawn(idle_actor, caf::unit); };
  auto owner = spawn_owner();
  auto object = std::make_shared<int>(7);
  table.put_while(fx.sys, "x", object, owner);
  CHECK(table.find_fast(fx.sys, "x") == object);
  caf::anon_send_exit(owner, caf::exit_reason::kill);
  fx.run();
  CHECK(table.find(fx.sys, "x") == nullptr);
  CHECK(table.find_fast(fx.sys, "x") == nullptr); // the remembered answer is dropped too

  auto gone = spawn_owner();
  caf::anon_send_exit(gone, caf::exit_reason::kill);
  fx.run();
  table.put_while(fx.sys, "y", object, gone);
  CHECK(table.find(fx.sys, "y") == nullptr);
}

TEST_CASE("a successor's name is not erased by its predecessor's end") {
  test::deterministic fx;
  named_table<int> table;
  auto first = fx.sys.spawn(idle_actor, caf::unit);
  auto second = fx.sys.spawn(idle_actor, caf::unit);
  auto old_object = std::make_shared<int>(1);
  auto new_object = std::make_shared<int>(2);
  table.put_while(fx.sys, "x", old_object, first);
  table.put_while(fx.sys, "x", new_object, second);
  caf::anon_send_exit(first, caf::exit_reason::kill);
  fx.run();
  CHECK(table.find_fast(fx.sys, "x") == new_object);
  caf::anon_send_exit(second, caf::exit_reason::kill);
  fx.run();
}

}
