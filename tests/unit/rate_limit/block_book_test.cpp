#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "otpp/actors/rate_limit/block_book.hpp"

using otpp::rate_limit::block_book;
using otpp::rate_limit::millis;
using namespace std::chrono_literals;

namespace {

auto far() { return std::chrono::steady_clock::now() + 10s; }

// Asks for `key` at `now`, with no other hit asking.
block_book::ask ask_at(block_book& book, const std::string& key, uint64_t cost, millis now) {
  return book.asking(key, cost, [now] { return now; }, far());
}

} // namespace

TEST_SUITE("rate_limit.block_book") {

TEST_CASE("a cold key asks for its cost alone; asked again within a lease it asks for a block") {
  block_book book{100, 50, false};
  auto first = ask_at(book, "k", 1, 1000);
  CHECK(first.want == 1);
  CHECK_FALSE(first.reserving);
  auto later = ask_at(book, "k", 1, 1100); // a lease or more after: still cold
  CHECK(later.want == 1);
  CHECK_FALSE(later.reserving);
  auto hot = ask_at(book, "k", 1, 1120);
  CHECK(hot.want == 2);
  CHECK(hot.reserving);
  book.answered("k", 0, 0, 0, 0); // the server had nothing to spare
  CHECK_FALSE(book.take("k", 1, 1121));
}

TEST_CASE("hits are taken from a block until it is used up or its local end comes, the count moving by each cost") {
  for (bool down : {false, true}) {
    CAPTURE(down);
    block_book book{100, 50, down};
    ask_at(book, "k", 1, 1000);
    REQUIRE(ask_at(book, "k", 1, 1010).reserving);
    book.answered("k", 3, 1060, 1110, 40); // 3 units beyond the hit's cost
    CHECK(book.take("k", 2, 1020) == (down ? 38u : 42u));
    CHECK(book.take("k", 1, 1059) == (down ? 37u : 43u));
    CHECK_FALSE(book.take("k", 1, 1059)); // used up
    CHECK_FALSE(book.take("other", 0, 1059));
  }
  block_book book{100, 50, false};
  ask_at(book, "k", 1, 1000);
  ask_at(book, "k", 1, 1010);
  book.answered("k", 3, 1060, 1110, 40);
  CHECK_FALSE(book.take("k", 1, 1060)); // its local end
  CHECK_FALSE(book.take("k", 4, 1020)); // more than is left
  CHECK(book.take("k", 0, 1020) == 40u);
}

TEST_CASE("a block used up within its lease doubles the next ask, up to the largest block") {
  block_book book{5, 50, false};
  ask_at(book, "k", 1, 1000);
  auto a = ask_at(book, "k", 1, 1001);
  CHECK(a.want == 2);
  book.answered("k", 1, 1051, 1101, 1);
  REQUIRE(book.take("k", 1, 1002));
  a = ask_at(book, "k", 1, 1003);
  CHECK(a.back.reserved == 1); // the used-up block goes back with the ask
  CHECK(a.back.unused == 0);
  CHECK(a.back.until == 1101);
  CHECK(a.want == 4);
  book.answered("k", 3, 1053, 1103, 2);
  for (int i = 0; i < 3; ++i)
    REQUIRE(book.take("k", 1, 1004));
  CHECK(ask_at(book, "k", 1, 1005).want == 5); // the largest block
}

TEST_CASE("a block that reaches its local end partly unused is due with its unused units and halves the next ask") {
  block_book book{64, 50, false};
  ask_at(book, "k", 1, 1000);
  ask_at(book, "k", 1, 1001);
  book.answered("k", 1, 1051, 1101, 1);
  REQUIRE(book.take("k", 1, 1002));
  REQUIRE(ask_at(book, "k", 1, 1003).want == 4);
  book.answered("k", 3, 1030, 1103, 2); // a local end before the lease's: a window ending
  REQUIRE(book.take("k", 1, 1004));
  CHECK(book.due(1029).empty());
  auto due = book.due(1030);
  REQUIRE(due.size() == 1);
  CHECK(due[0].first == "k");
  CHECK(due[0].second.reserved == 3);
  CHECK(due[0].second.unused == 2);
  CHECK(due[0].second.until == 1103);
  CHECK(ask_at(book, "k", 1, 1031).want == 2); // halved from 4
}

TEST_CASE("keys asked for no more within a lease and holding no block are forgotten") {
  block_book book{64, 50, false};
  ask_at(book, "a", 1, 1000);
  ask_at(book, "b", 1, 1040);
  CHECK(book.size() == 2);
  CHECK(book.due(1050).empty());
  CHECK(book.size() == 1);
  CHECK_FALSE(ask_at(book, "a", 1, 1060).reserving); // cold again
}

TEST_CASE("release takes a key's block out to give back, release_all every block") {
  block_book book{64, 50, false};
  for (auto key : {"a", "b"}) {
    ask_at(book, key, 1, 1000);
    ask_at(book, key, 1, 1001);
    book.answered(key, 1, 1051, 1101, 1);
  }
  auto a = book.release("a");
  CHECK(a.reserved == 1);
  CHECK(a.unused == 1);
  CHECK_FALSE(book.take("a", 1, 1002));
  CHECK(book.release("a").reserved == 0);
  CHECK(book.release("unknown").reserved == 0);
  auto all = book.release_all();
  REQUIRE(all.size() == 1);
  CHECK(all[0].first == "b");
  CHECK_FALSE(book.take("b", 1, 1002));
}

TEST_CASE("while one hit asks for a key's block the node's other hits wait for its answer and take from the block") {
  block_book book{64, 50, false};
  ask_at(book, "k", 1, 1000);
  REQUIRE(ask_at(book, "k", 1, 1001).reserving);
  std::atomic<bool> waiting_done{false};
  block_book::ask other;
  std::thread t{[&] {
    other = ask_at(book, "k", 1, 1002);
    waiting_done = true;
  }};
  // The answer comes whether or not the other thread is waiting yet: it
  // either waits for it or finds the block.
  book.answered("k", 5, 1051, 1101, 1);
  t.join();
  CHECK(waiting_done);
  CHECK(other.admitted == 2u);
  CHECK_FALSE(other.reserving);
}

TEST_CASE("a hit that waits longer than its bound for another hit's ask asks for its cost alone") {
  block_book book{64, 50, false};
  ask_at(book, "k", 1, 1000);
  REQUIRE(ask_at(book, "k", 1, 1001).reserving);
  auto a = book.asking("k", 1, [] { return millis{1002}; }, std::chrono::steady_clock::now() + 20ms);
  CHECK(a.want == 1);
  CHECK_FALSE(a.reserving);
  CHECK_FALSE(a.admitted);
}

TEST_CASE("sixteen threads taking from blocks of one key never take more than the blocks held") {
  block_book book{1000, 1'000'000, false};
  std::atomic<uint64_t> reserved{0}, taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (book.take("k", 1, 5000))
          ++taken;
        else {
          auto a = book.asking("k", 1, [] { return millis{5000}; }, far());
          if (a.admitted)
            ++taken;
          else if (a.reserving) {
            reserved += a.want - 1;
            book.answered("k", a.want - 1, 10'000, 20'000, 0);
          }
        }
      }
    });
  for (auto& t : threads)
    t.join();
  auto left = book.release("k").unused;
  CHECK(taken + left == reserved);
}

} // TEST_SUITE
