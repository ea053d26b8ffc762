#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "otpp/actors/spin_lock.hpp"

TEST_SUITE("spin_lock") {

TEST_CASE("a spin lock lets one thread in at a time") {
  otpp::spin_lock lock;
  long long counted = 0; // plain: only ever written under the lock
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        std::lock_guard<otpp::spin_lock> guard{lock};
        ++counted;
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(counted == 8 * 20000);
}

TEST_CASE("a thread waiting on a spin lock past its spinning gets it once the holder releases it") {
  using namespace std::chrono;
  otpp::spin_lock lock;
  std::atomic<bool> waiting{false};
  std::atomic<bool> got{false};
  lock.lock();
  std::thread waiter{[&] {
    waiting = true;
    std::lock_guard<otpp::spin_lock> guard{lock};
    got = true;
  }};
  auto until = steady_clock::now() + seconds(5);
  while (!waiting && steady_clock::now() < until)
    std::this_thread::yield();
  auto held_until = steady_clock::now() + milliseconds(5); // long past the spinning: the waiter sleeps
  while (steady_clock::now() < held_until)
    std::this_thread::yield();
  CHECK_FALSE(got);
  lock.unlock();
  until = steady_clock::now() + seconds(5);
  while (!got && steady_clock::now() < until)
    std::this_thread::yield();
  CHECK(got);
  waiter.join();
}

}
