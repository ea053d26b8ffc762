#include <doctest/doctest.h>

#include <algorithm>

#include "tests/unit/pool/pool_book_helpers.hpp"

using namespace otpp::pool;
using book = otpp::test::int_book;
using otpp::test::with_idle;

namespace {

/// Live workers the book holds (idle and checked out).
std::size_t held(const book& b) {
  auto s = b.status();
  return s.idle + s.busy;
}

bool idle_has(const book& b, int w) {
  auto idle = b.idle();
  return std::find(idle.begin(), idle.end(), w) != idle.end();
}

} // namespace

TEST_SUITE("pool.book.reconfigure") {

TEST_CASE("a larger size asks for the workers it adds, and they go to the waiting callers first") {
  auto b = with_idle(2, 0);
  b.checkout(0, true, 1);
  b.checkout(0, true, 2);
  b.checkout(7, true, 3); // waits
  auto r = b.resize(4, 0);
  CHECK(r.starts == 2);
  CHECK(r.dismiss.empty());
  CHECK(b.status().size == 4);
  auto first = b.started(10, start_purpose::for_pool);
  CHECK(first.kind == book::free_result::handed);
  CHECK(first.waiter == 3);
  CHECK(b.started(11, start_purpose::for_pool).kind == book::free_result::idled);
  CHECK(held(b) == 4);
}

TEST_CASE("a smaller size dismisses idle workers now and checked-out ones as they come back, before any waiter") {
  auto b = with_idle(6, 0);
  for (ticket t = 1; t <= 4; ++t)
    b.checkout(0, true, t); // 1..4 out, 5 and 6 idle
  auto r = b.resize(2, 0);
  CHECK(r.starts == 0);
  CHECK(r.dismiss.size() == 2);
  CHECK(b.status().idle == 0);
  CHECK(b.status().size == 2);
  CHECK(b.checkout(7, true, 5).kind == book::checkout_result::wait);
  auto first = b.checkin(1);
  CHECK(first.kind == book::free_result::dismissed);
  CHECK(first.why == dismissal::resized);
  CHECK(b.checkin(2).kind == book::free_result::dismissed);
  CHECK(b.status().waiting == 1); // the waiter waits on: nobody's checkout fails
  auto third = b.checkin(3);
  CHECK(third.kind == book::free_result::handed);
  CHECK(third.waiter == 5);
  CHECK(held(b) == 2);
  CHECK(b.checkin(4).kind == book::free_result::idled);
}

TEST_CASE("a worker that ends while the pool owes dismissals is not replaced, and starts arriving then are dismissed") {
  auto b = with_idle(3, 0);
  b.checkout(0, true, 1);
  b.checkout(0, true, 2);
  b.checkout(0, true, 3);
  b.resize(1, 0); // owes 2
  CHECK(b.worker_down(1).empty());
  auto starts = b.worker_down(2);
  CHECK(starts.empty());
  CHECK(b.worker_down(3) == std::vector<start_purpose>{start_purpose::for_idle_head}); // now it needs one
  CHECK(b.started(9, start_purpose::for_idle_head).kind == book::free_result::idled);
  CHECK(held(b) == 1);
}

TEST_CASE("a larger size after a smaller one first cancels the dismissals still owed") {
  auto b = with_idle(4, 0);
  for (ticket t = 1; t <= 4; ++t)
    b.checkout(0, true, t);
  b.resize(2, 0); // owes 2
  auto r = b.resize(5, 0);
  CHECK(r.starts == 1);
  CHECK(b.checkin(1).kind == book::free_result::idled);
}

TEST_CASE("the same size and max_overflow change nothing") {
  auto b = with_idle(3, 2);
  b.checkout(0, true, 1);
  auto r = b.resize(3, 2);
  CHECK(r.starts == 0);
  CHECK(r.dismiss.empty());
  CHECK(b.status().idle == 2);
  CHECK(b.checkin(1).kind == book::free_result::idled);
}

TEST_CASE("a larger max_overflow starts overflow workers for the callers waiting beyond it") {
  auto b = with_idle(1, 0);
  b.checkout(0, true, 1);
  b.checkout(7, true, 2);
  b.checkout(8, true, 3);
  b.checkout(9, true, 4);
  auto r = b.resize(1, 2);
  CHECK(r.starts == 0);
  CHECK(r.overflow_starts == 2);
  CHECK(b.status().overflow == 2);
  CHECK(b.started(10, start_purpose::for_overflow).waiter == 2);
  CHECK(b.started(11, start_purpose::for_overflow).waiter == 3);
  CHECK(b.status().waiting == 1);
  CHECK(b.status().state == pool_state::full);
}

TEST_CASE("a smaller max_overflow dismisses overflow workers beyond it as they come back, before any waiter") {
  auto b = with_idle(1, 3);
  for (ticket t = 1; t <= 4; ++t)
    if (b.checkout(0, true, t).kind == book::checkout_result::start)
      b.adopt(static_cast<int>(t) + 10, 0); // overflow workers 12, 13, 14
  REQUIRE(b.status().overflow == 3);
  b.resize(1, 1);
  CHECK(b.status().max_overflow == 1);
  CHECK(b.status().state == pool_state::full);
  CHECK(b.checkout(0, false, 5).kind == book::checkout_result::full); // no new overflow beyond the new maximum
  CHECK(b.checkout(7, true, 6).kind == book::checkout_result::wait);
  auto r = b.checkin(12);
  CHECK(r.kind == book::free_result::dismissed);
  CHECK(r.why == dismissal::resized);
  CHECK(b.checkin(13).kind == book::free_result::dismissed);
  CHECK(b.status().overflow == 1);
  CHECK(b.checkin(14).kind == book::free_result::handed); // within the maximum: poolboy's rule again
}

TEST_CASE("a new strategy places the next check-in") {
  auto b = with_idle(2, 0, pool_strategy::lifo);
  b.set_strategy(pool_strategy::fifo);
  b.checkout(0, true, 1); // takes 1
  b.checkin(1);           // to the tail
  CHECK(b.checkout(0, true, 2).worker == 2);
}

TEST_CASE("retired idle workers are replaced one at a time, the next once its predecessor's successor runs") {
  auto b = with_idle(3, 0);
  b.retire_all();
  CHECK(b.retired() == 3);
  auto first = b.next_replacement();
  REQUIRE(first);
  CHECK(b.status().idle == 2);
  CHECK_FALSE(b.next_replacement()); // one out of service at most
  CHECK(b.started(10, start_purpose::for_replacement).kind == book::free_result::idled);
  CHECK(b.status().idle == 3);
  auto second = b.next_replacement();
  REQUIRE(second);
  CHECK(*second != *first);
  b.started(11, start_purpose::for_replacement);
  REQUIRE(b.next_replacement());
  b.started(12, start_purpose::for_replacement);
  CHECK_FALSE(b.next_replacement());
  CHECK(b.retired() == 0);
  CHECK(idle_has(b, 10));
  CHECK(idle_has(b, 11));
  CHECK(idle_has(b, 12));
}

TEST_CASE("a retired checked-out worker is replaced when it comes back, even with callers waiting, one at a time") {
  auto b = with_idle(2, 0);
  b.checkout(0, true, 1);
  b.checkout(0, true, 2);
  b.retire_all();
  b.checkout(7, true, 3); // waits
  CHECK(b.checkin(1).kind == book::free_result::replaced);
  auto r = b.checkin(2); // a replacement is under way: this one serves the waiter meanwhile
  CHECK(r.kind == book::free_result::handed);
  CHECK(b.retired() == 1);
  CHECK(b.started(10, start_purpose::for_replacement).kind == book::free_result::idled);
  CHECK(b.checkin(2).kind == book::free_result::replaced);
  CHECK(b.started(11, start_purpose::for_replacement).kind == book::free_result::idled);
  CHECK(b.retired() == 0);
  CHECK(held(b) == 2);
}

TEST_CASE("a retired overflow worker coming back with nobody waiting is just dismissed") {
  auto b = with_idle(1, 1);
  b.checkout(0, true, 1);
  b.checkout(0, true, 2);
  b.adopt(5, 0);
  b.retire_all();
  auto r = b.checkin(5);
  CHECK(r.kind == book::free_result::dismissed);
  CHECK(r.why == dismissal::overflow);
  CHECK_FALSE(b.replacing());
  CHECK(b.checkin(1).kind == book::free_result::replaced);
}

TEST_CASE("a replacement whose start a shrink settles lets the next replacement go") {
  auto b = with_idle(3, 0);
  b.retire_all();
  REQUIRE(b.next_replacement());
  b.checkout(0, true, 1);
  b.checkout(0, true, 2); // both remaining workers out
  b.resize(2, 0);         // owes 1: the successor under way is not needed
  CHECK(b.started(10, start_purpose::for_replacement).kind == book::free_result::dismissed);
  CHECK_FALSE(b.replacing());
  auto back = b.checkin(b.held_by(0).front());
  CHECK(back.kind == book::free_result::replaced);
}

TEST_CASE("a successor that ended before it ran keeps the replacement under way until one runs") {
  pool_book<int, bool (*)(const int&)> b{2, 0, pool_strategy::lifo, [](const int& w) { return w != 10; }};
  b.add_initial(1);
  b.add_initial(2);
  b.retire_all();
  REQUIRE(b.next_replacement());
  CHECK(b.started(10, start_purpose::for_replacement).kind == decltype(b)::free_result::ignored);
  CHECK(b.replacing());
  CHECK(b.worker_down(10) == std::vector<start_purpose>{start_purpose::for_replacement});
  b.started(11, start_purpose::for_replacement);
  CHECK_FALSE(b.replacing());
}

TEST_CASE("a worker started from an older configuration is retired in its turn") {
  auto b = with_idle(1, 0);
  b.retire(42); // unknown: nothing
  CHECK(b.retired() == 0);
  b.retire(1);
  CHECK(b.retired() == 1);
  REQUIRE(b.next_replacement() == 1);
}

TEST_CASE("an overflow start still under way is no overflow worker: a check-in is not dismissed for it") {
  auto b = with_idle(1, 1);
  b.checkout(0, true, 1); // takes 1
  REQUIRE(b.checkout(7, false, 2).kind == book::checkout_result::start);
  CHECK(b.status().overflow == 1); // poolboy's count includes the start
  CHECK(b.checkin(1).kind == book::free_result::idled);
  b.unreserve(); // the start failed
  CHECK(b.status().overflow == 0);
  CHECK(b.status().state == pool_state::ready);
  b.checkout(0, true, 3);
  CHECK(b.checkin(1).kind == book::free_result::idled); // the pool does not drain
  CHECK(held(b) == 1);
}

TEST_CASE("a smaller max_overflow during an overflow start dismisses no worker of the size, and a failed start undoes nothing else") {
  auto b = with_idle(1, 1);
  b.checkout(0, true, 1);
  REQUIRE(b.checkout(7, true, 2).kind == book::checkout_result::start);
  b.resize(1, 0);
  CHECK(b.checkin(1).kind == book::free_result::idled);
  b.unreserve();
  b.unreserve(); // more than reserved: nothing to give back
  CHECK(b.status().overflow == 0);
  b.checkout(0, true, 3);
  CHECK(b.checkin(1).kind == book::free_result::idled);
  CHECK(held(b) == 1);
}

TEST_CASE("a busy worker that ends during an overflow start is replaced: the start is not one of the pool's workers yet") {
  auto b = with_idle(1, 1);
  b.checkout(0, true, 1);
  REQUIRE(b.checkout(7, false, 2).kind == book::checkout_result::start);
  CHECK(b.worker_down(1) == std::vector<start_purpose>{start_purpose::for_idle_head});
  b.unreserve();
  CHECK(b.status().overflow == 0);
}

TEST_CASE("a reserved overflow start that runs after its caller left fills its reservation and is dismissed as overflow") {
  auto b = with_idle(1, 1);
  b.checkout(0, true, 1);
  REQUIRE(b.checkout(7, true, 2).kind == book::checkout_result::start);
  auto r = b.started(9, start_purpose::for_overflow);
  CHECK(r.kind == book::free_result::dismissed);
  CHECK(r.why == dismissal::overflow);
  CHECK(b.status().overflow == 0);
}

TEST_CASE("a smaller size cancels a restart under way before it dismisses a live idle worker") {
  auto b = with_idle(2, 0);
  REQUIRE(b.worker_down(2) == std::vector<start_purpose>{start_purpose::for_idle_head}); // restarting (its database is down)
  auto r = b.resize(1, 0);
  CHECK(r.dismiss.empty());
  CHECK(b.status().idle == 1); // the only live worker stays
  auto late = b.started(9, start_purpose::for_idle_head);
  CHECK(late.kind == book::free_result::dismissed);
  CHECK(late.why == dismissal::resized);
  CHECK(held(b) == 1);
}

TEST_CASE("a smaller size during a rolling replacement cancels the successor and keeps the idle workers") {
  auto b = with_idle(3, 0);
  b.retire_all();
  REQUIRE(b.next_replacement());
  auto r = b.resize(2, 0);
  CHECK(r.dismiss.empty());
  CHECK(b.status().idle == 2);
  CHECK(b.started(10, start_purpose::for_replacement).kind == book::free_result::dismissed);
  CHECK_FALSE(b.replacing());
  REQUIRE(b.next_replacement()); // the rolling replacement goes on
  CHECK(b.started(11, start_purpose::for_replacement).kind == book::free_result::idled);
  CHECK(held(b) == 2);
}

TEST_CASE("a cancelled start that ended before it ran needs no restart") {
  pool_book<int, bool (*)(const int&)> b{2, 0, pool_strategy::lifo, [](const int& w) { return w != 9; }};
  b.add_initial(1);
  b.add_initial(2);
  REQUIRE(b.worker_down(2).size() == 1);
  b.resize(1, 0);
  CHECK(b.started(9, start_purpose::for_idle_head).kind == decltype(b)::free_result::ignored);
  CHECK(b.worker_down(9).empty());
  CHECK(b.status().idle == 1);
}

TEST_CASE("a start the owner retries on its own is cancelled by a smaller size like the book's") {
  book b{2, 0, pool_strategy::lifo};
  b.add_initial(1);
  b.expect_start(); // the second initial worker failed to start
  CHECK(b.resize(1, 0).dismiss.empty());
  CHECK(b.started(9, start_purpose::for_pool).kind == book::free_result::dismissed);
  CHECK(b.status().idle == 1);
}

TEST_CASE("a larger size after a smaller one first revives the starts it cancelled") {
  auto b = with_idle(2, 0);
  b.worker_down(2);
  b.resize(1, 0); // cancels the restart
  auto r = b.resize(2, 0);
  CHECK(r.starts == 0);
  CHECK(b.started(9, start_purpose::for_idle_head).kind == book::free_result::idled);
  CHECK(held(b) == 2);
}

TEST_CASE("new callers queue behind waiting ones even when max_overflow leaves room") {
  auto b = with_idle(2, 0);
  b.checkout(0, true, 1);
  b.checkout(0, true, 2);
  REQUIRE(b.checkout(7, true, 3).kind == book::checkout_result::wait);
  auto r = b.resize(1, 2); // owes 1: no overflow start while a worker is to be dismissed
  CHECK(r.overflow_starts == 0);
  CHECK(b.checkout(8, true, 4).kind == book::checkout_result::wait);
  CHECK(b.checkout(9, false, 5).kind == book::checkout_result::full);
  CHECK(b.checkin(1).kind == book::free_result::dismissed);
  auto next = b.checkin(2);
  CHECK(next.kind == book::free_result::handed);
  CHECK(next.waiter == 3); // the first caller first
}

}
