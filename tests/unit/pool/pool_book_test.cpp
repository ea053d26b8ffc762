#include <doctest/doctest.h>

#include "tests/unit/pool/pool_book_helpers.hpp"

using namespace otpp::pool;
using book = otpp::test::int_book;
using otpp::test::with_idle;

TEST_SUITE("pool.book") {

TEST_CASE("checkout takes the head of the idle list") {
  auto b = with_idle(3, 0);
  auto r = b.checkout(0, true, 1);
  CHECK(r.kind == book::checkout_result::got);
  CHECK(r.worker == 1);
  CHECK(b.status().idle == 2);
  CHECK(b.status().busy == 1);
}

TEST_CASE("with no idle worker an overflow worker is started for the caller, even for a non-blocking call") {
  auto b = with_idle(1, 2);
  b.checkout(0, true, 1);
  auto r = b.checkout(7, false, 2);
  CHECK(r.kind == book::checkout_result::start);
  CHECK(b.status().overflow == 1);
  b.adopt(9, 7);
  CHECK(b.holder_of(9) == 7);
  CHECK(b.status().busy == 2);
}

TEST_CASE("a caller whose overflow start failed queues and gets the next started worker") {
  auto b = with_idle(1, 1);
  b.checkout(0, true, 1);
  CHECK(b.checkout(7, true, 2).kind == book::checkout_result::start);
  b.queue(2, 7);
  CHECK(b.status().waiting == 1);
  auto placed = b.started(9, start_purpose::for_overflow); // the retry keeps the failed start's reservation
  CHECK(placed.kind == book::free_result::handed);
  CHECK(placed.waiter == 2);
  CHECK(b.holder_of(9) == 7);
  CHECK(b.status().overflow == 1);
}

TEST_CASE("at max_overflow a non-blocking checkout is full and a blocking one queues") {
  auto b = with_idle(1, 0);
  b.checkout(0, true, 1);
  CHECK(b.checkout(0, false, 2).kind == book::checkout_result::full);
  auto r = b.checkout(0, true, 3);
  CHECK(r.kind == book::checkout_result::wait);
  CHECK(b.status().waiting == 1);
}

TEST_CASE("checkin hands the worker to the oldest waiter") {
  auto b = with_idle(1, 0);
  b.checkout(0, true, 1);
  b.checkout(7, true, 2);
  b.checkout(8, true, 3);
  auto r = b.checkin(1);
  CHECK(r.kind == book::free_result::handed);
  CHECK(r.waiter == 2);
  CHECK(b.holder_of(1) == 7);
  CHECK(b.status().waiting == 1);
}

TEST_CASE("checkin dismisses an overflow worker when nobody waits") {
  auto b = with_idle(1, 1);
  b.checkout(0, true, 1);
  b.checkout(0, true, 2);
  b.adopt(2, 0);
  CHECK(b.checkin(2).kind == book::free_result::dismissed);
  CHECK(b.status().overflow == 0);
}

TEST_CASE("lifo puts a checked-in worker at the head, fifo at the tail") {
  auto lifo = with_idle(2, 0, pool_strategy::lifo);
  lifo.checkout(0, true, 1); // takes 1
  lifo.checkin(1);
  CHECK(lifo.checkout(0, true, 2).worker == 1);
  auto fifo = with_idle(2, 0, pool_strategy::fifo);
  fifo.checkout(0, true, 1); // takes 1
  fifo.checkin(1);
  CHECK(fifo.checkout(0, true, 2).worker == 2);
}

TEST_CASE("checking in an unknown, idle or already checked-in worker does nothing") {
  auto b = with_idle(2, 0);
  b.checkout(0, true, 1);
  CHECK(b.checkin(42).kind == book::free_result::ignored);
  CHECK(b.checkin(2).kind == book::free_result::ignored);
  CHECK(b.checkin(1).kind == book::free_result::idled);
  CHECK(b.checkin(1).kind == book::free_result::ignored);
  CHECK(b.status().idle == 2);
}

TEST_CASE("status names follow poolboy") {
  CHECK(with_idle(1, 1).status().state == pool_state::ready);
  auto no_overflow = with_idle(1, 0);
  no_overflow.checkout(0, true, 1);
  CHECK(no_overflow.status().state == pool_state::full);
  auto some = with_idle(1, 2);
  some.checkout(0, true, 1);
  CHECK(some.status().state == pool_state::overflow); // overflow 0, none idle, max_overflow 2
  some.checkout(0, true, 2);
  some.adopt(2, 0);
  CHECK(some.status().state == pool_state::overflow); // overflow 1 < 2
  some.checkout(0, true, 3);
  some.adopt(3, 0);
  CHECK(some.status().state == pool_state::full); // overflow 2 == max
}

TEST_CASE("a crashed idle worker is replaced at the head of the idle list") {
  auto b = with_idle(3, 0, pool_strategy::fifo);
  auto starts = b.worker_down(2);
  REQUIRE(starts.size() == 1);
  CHECK(starts[0] == start_purpose::for_idle_head);
  b.started(9, starts[0]);
  CHECK(b.checkout(0, true, 1).worker == 9);
}

TEST_CASE("a crashed busy worker: the oldest waiter gets a new one, else overflow shrinks, else a new idle one") {
  auto waited = with_idle(1, 0);
  waited.checkout(0, true, 1);
  waited.checkout(5, true, 2);
  auto starts = waited.worker_down(1);
  REQUIRE(starts.size() == 1);
  auto placed = waited.started(9, starts[0]);
  CHECK(placed.kind == book::free_result::handed);
  CHECK(placed.waiter == 2);

  auto overflowing = with_idle(1, 1);
  overflowing.checkout(0, true, 1);
  overflowing.checkout(0, true, 2);
  overflowing.adopt(2, 0);
  CHECK(overflowing.worker_down(1).empty());
  CHECK(overflowing.status().overflow == 0);

  auto plain = with_idle(2, 0, pool_strategy::fifo);
  plain.checkout(0, true, 1);
  starts = plain.worker_down(1);
  REQUIRE(starts.size() == 1);
  CHECK(plain.started(9, starts[0]).kind == book::free_result::idled);
  CHECK(plain.status().idle == 2);
  CHECK(plain.checkout(0, true, 2).worker == 9); // at the head, as poolboy 1.5.2 does, even for fifo
}

TEST_CASE("a replacement that arrives after an overflow worker covered the gap is dismissed") {
  auto b = with_idle(1, 1);
  b.checkout(0, true, 1);
  auto starts = b.worker_down(1); // overflow 0: a replacement is started
  REQUIRE(starts.size() == 1);
  CHECK(b.checkout(0, true, 2).kind == book::checkout_result::start); // meanwhile: overflow 1
  b.adopt(8, 0);
  CHECK(b.started(9, starts[0]).kind == book::free_result::dismissed);
  CHECK(b.status().overflow == 0);
  CHECK(b.status().idle == 0);
  CHECK(b.checkin(8).kind == book::free_result::idled); // back to size
}

TEST_CASE("a cancelled waiter leaves the queue and a handed one must give its worker back") {
  auto b = with_idle(1, 0);
  b.checkout(0, true, 1);
  b.checkout(0, true, 2);
  b.checkout(0, true, 3);
  CHECK(b.cancel(2));
  CHECK(b.status().waiting == 1);
  b.checkin(1); // handed to ticket 3
  CHECK_FALSE(b.cancel(3));
  CHECK(b.status().busy == 1);
}

TEST_CASE("a handed-over worker is checked back in under its ticket only once") {
  auto b = with_idle(1, 0);
  b.checkout(0, true, 1);
  b.checkout(5, true, 2);
  b.checkin(1); // handed to ticket 2
  CHECK(b.checkin_handed(1, 3).kind == book::free_result::ignored);
  CHECK(b.checkin_handed(1, 2).kind == book::free_result::idled);
  b.checkout(0, true, 4); // checked out again by someone else
  CHECK(b.checkin_handed(1, 2).kind == book::free_result::ignored);
  CHECK(b.status().busy == 1);
}

TEST_CASE("a dead holder's workers and tickets are found") {
  auto b = with_idle(2, 0);
  b.checkout(4, true, 1);
  b.checkout(4, true, 2);
  b.checkout(4, true, 3);
  CHECK(b.held_by(4).size() == 2);
  CHECK(b.tickets_of(4) == std::vector<ticket>{3});
}

}
