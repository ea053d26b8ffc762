#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/events/log_sink.hpp"

using namespace otpp;

namespace {

/// A debug-level event (below the process log's level): `text` tells them apart.
events::database_notice notice(std::string text) {
  return events::database_notice{"test", "bus", std::move(text)};
}

/// The records a handler received, thread-safe.
struct received {
  void add(const events::record& r) {
    std::lock_guard<std::mutex> guard{mtx};
    records.push_back(r);
  }
  std::vector<std::string> texts() {
    std::lock_guard<std::mutex> guard{mtx};
    std::vector<std::string> out;
    for (auto& r : records)
      if (auto* n = std::get_if<events::database_notice>(&r.value))
        out.push_back(n->text);
    return out;
  }
  std::mutex mtx;
  std::vector<events::record> records;
};

using texts = std::vector<std::string>;

} // namespace

TEST_SUITE("events.bus") {

TEST_CASE("a subscriber receives each event emitted while it is subscribed, stamped with the time and its level") {
  auto got = std::make_shared<received>();
  events::emit(notice("before"));
  auto before = std::chrono::system_clock::now();
  auto id = events::subscribe([got](const events::record& r) { got->add(r); });
  CHECK(id != 0);
  CHECK(events::has_subscribers());
  events::emit(notice("during"));
  events::emit(events::pool_waiters{"bus.pool", 3});
  CHECK(events::unsubscribe(id));
  events::emit(notice("after"));
  CHECK(got->texts() == texts{"during"});
  std::lock_guard<std::mutex> guard{got->mtx};
  REQUIRE(got->records.size() == 2);
  CHECK(got->records[0].severity == events::level::debug);
  CHECK(got->records[0].time >= before);
  CHECK(got->records[0].time <= std::chrono::system_clock::now());
  auto* waiters = std::get_if<events::pool_waiters>(&got->records[1].value);
  REQUIRE(waiters);
  CHECK(waiters->pool == "bus.pool");
  CHECK(waiters->waiting == 3);
  CHECK(got->records[1].severity == events::level::warning);
}

TEST_CASE("each of several subscribers receives every event until it unsubscribes, once") {
  auto first = std::make_shared<received>();
  auto second = std::make_shared<received>();
  auto a = events::subscribe([first](const events::record& r) { first->add(r); });
  auto b = events::subscribe([second](const events::record& r) { second->add(r); });
  CHECK(a != b);
  events::emit(notice("one"));
  CHECK(events::unsubscribe(a));
  CHECK_FALSE(events::unsubscribe(a));
  events::emit(notice("two"));
  CHECK(events::unsubscribe(b));
  events::emit(notice("three"));
  CHECK(first->texts() == texts{"one"});
  CHECK(second->texts() == texts{"one", "two"});
  CHECK_FALSE(events::unsubscribe(0));
}

TEST_CASE("a handler may unsubscribe itself or subscribe another from inside its call") {
  auto got = std::make_shared<received>();
  auto late = std::make_shared<received>();
  auto own_id = std::make_shared<std::atomic<events::subscription>>(0);
  auto late_id = std::make_shared<std::atomic<events::subscription>>(0);
  own_id->store(events::subscribe([got, late, own_id, late_id](const events::record& r) {
    got->add(r);
    CHECK(events::unsubscribe(own_id->load()));
    late_id->store(events::subscribe([late](const events::record& x) { late->add(x); }));
  }));
  events::emit(notice("first"));  // the handler leaves and brings the late one in
  events::emit(notice("second")); // only the late one
  CHECK(got->texts() == texts{"first"});
  CHECK(late->texts() == texts{"second"});
  CHECK(events::unsubscribe(late_id->load()));
}

TEST_CASE("an exception escaping a handler is dropped and the other handlers still receive the event") {
  auto got = std::make_shared<received>();
  auto thrower = events::subscribe([](const events::record&) { throw std::runtime_error("handler bug"); });
  auto odd = events::subscribe([](const events::record&) { throw 42; });
  auto id = events::subscribe([got](const events::record& r) { got->add(r); });
  CHECK_NOTHROW(events::emit(notice("through")));
  events::unsubscribe(thrower);
  events::unsubscribe(odd);
  events::unsubscribe(id);
  CHECK(got->texts() == texts{"through"});
}

TEST_CASE("has_subscribers is false once the process log is off and the last subscriber left") {
  events::disable_log();
  auto id = events::subscribe([](const events::record&) {});
  CHECK(events::has_subscribers());
  CHECK(events::unsubscribe(id));
  CHECK_FALSE(events::has_subscribers());
  events::emit(notice("nobody")); // does not start the process log again
  CHECK_FALSE(events::has_subscribers());
  events::configure_log({}); // the default log again
  CHECK(events::has_subscribers());
}

TEST_CASE("threads emitting while others subscribe and unsubscribe: a steady subscriber gets every event") {
  constexpr int emitters = 4;
  constexpr int per_thread = 5000;
  std::atomic<int> counted{0};
  auto steady = events::subscribe([&counted](const events::record&) { counted.fetch_add(1); });
  std::atomic<bool> stop{false};
  std::atomic<int> churn_calls{0};
  std::thread churn{[&] {
    while (!stop) {
      auto id = events::subscribe([&churn_calls](const events::record&) { churn_calls.fetch_add(1); });
      events::unsubscribe(id);
    }
  }};
  std::vector<std::thread> threads;
  for (int t = 0; t < emitters; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < per_thread; ++i)
        events::emit(notice(std::to_string(t)));
    });
  for (auto& t : threads)
    t.join();
  stop = true;
  churn.join();
  events::unsubscribe(steady);
  CHECK(counted == emitters * per_thread);
  CHECK(churn_calls <= emitters * per_thread);
}

}
