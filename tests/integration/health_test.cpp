#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include <caf/actor_system.hpp>

#include "otpp/actors/breaker/breaker_owner.hpp"
#include "otpp/actors/health/health.hpp"
#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/rate_limit/limiter_owner.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/supervisor.hpp"
#include "otpp/supervision/supervisor_api.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/scripted_worker.hpp"
#include "tests/support/threaded.hpp"

using namespace otpp;
using namespace std::chrono_literals;
using health::status;

using otpp::test::eventually;

namespace {

constexpr uint64_t mib = 1024 * 1024;

// A root with the memory manager, a limiter, a pool of one worker, a breaker
// and a nested supervisor ("jobs", transient, intensity 0) with one worker.
struct node_under_test {
  test::threaded_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<std::atomic<uint64_t>> rss = std::make_shared<std::atomic<uint64_t>>(10 * mib);
  std::shared_ptr<test::event_log> log = std::make_shared<test::event_log>();
  caf::actor root;

  node_under_test() {
    memory::memory_config memory;
    memory.limit_mb = 100;
    memory.sample_interval = 5ms;
    rate_limit::limiter_config limit;
    limit.name = "calls";
    limit.algorithm = rate_limit::algorithm::fixed_window;
    limit.limit = 10;
    pool::pool_config workers;
    workers.name = "db";
    workers.size = 1;
    workers.max_overflow = 0;
    breaker::breaker_config service;
    service.name = "svc";
    supervision::supervisor_config jobs;
    jobs.name = "jobs";
    jobs.flags.intensity = 0;
    jobs.children = {test::worker_spec(log, "job")};
    auto nested = supervision::supervisor_child("jobs", jobs);
    nested.restart = supervision::restart_type::transient;
    supervision::supervisor_config config;
    config.name = "root";
    config.children = {memory::memory_child(memory, [r = rss] { return r->load(); }),
                       rate_limit::limiter_child(limit, 60s), pool::pool_child(workers),
                       breaker::breaker_child(service), nested};
    auto started = supervision::start_supervisor(sys, config);
    REQUIRE_MESSAGE(started, supervision::describe(started.error()));
    root = *started;
  }

  ~node_under_test() { caf::anon_send_exit(root, caf::exit_reason::user_shutdown); }

  // A generous bound on each supervisor's answer: sanitizer builds are slow.
  health::node check() { return health::check(sys, root, "root", 10s); }
};

const health::node* child(const health::node& n, const std::string& name) {
  for (auto& c : n.children)
    if (c.name == name)
      return &c;
  return nullptr;
}

} // namespace

TEST_SUITE("health") {

TEST_CASE("a healthy tree answers as one structure, every component with its kind") {
  node_under_test node;
  auto h = node.check();
  CHECK(h.state == status::healthy);
  REQUIRE(h.children.size() == 5);
  CHECK(child(h, "memory")->kind == "memory");
  CHECK(child(h, "calls")->kind == "limiter");
  CHECK(child(h, "db")->kind == "pool");
  CHECK(child(h, "svc")->kind == "breaker");
  REQUIRE(child(h, "jobs"));
  CHECK(child(h, "jobs")->kind == "supervisor");
  CHECK(child(*child(h, "jobs"), "job")->kind == "worker");
  CHECK(h.to_json().find("{\"name\":\"root\",\"kind\":\"supervisor\",\"status\":\"healthy\",\"reason\":\"\",\"restarts\":0,"
                         "\"last_reason\":\"\",\"children\":[")
        == 0);
}

TEST_CASE("an open breaker degrades its service and the node, with the reason") {
  node_under_test node;
  (*breaker::find_breaker(node.sys, "svc"))->force_open();
  auto h = node.check();
  CHECK(h.state == status::degraded);
  CHECK(h.reason == "svc: breaker forced_open");
}

TEST_CASE("memory at high degrades the node and at critical makes it unhealthy") {
  node_under_test node;
  *node.rss = 85 * mib;
  REQUIRE(eventually([&] { return node.check().state == status::degraded; }));
  CHECK(node.check().reason.find("memory: memory high") == 0);
  *node.rss = 99 * mib;
  REQUIRE(eventually([&] { return node.check().state == status::unhealthy; }));
}

TEST_CASE("a full pool with waiting callers is degraded") {
  node_under_test node;
  auto pool = *pool::find_pool(node.sys, "db");
  auto held = pool.checkout();
  REQUIRE(held);
  std::thread waiter([&] { auto w = pool.checkout(true, 5s); });
  REQUIRE(eventually([&] { return pool.status().waiting == 1; }));
  auto h = node.check();
  CHECK(h.state == status::degraded);
  CHECK(h.reason == "db: full, 1 callers waiting");
  held->release();
  waiter.join();
  CHECK(node.check().state == status::healthy);
}

TEST_CASE("a supervisor that gave up makes its subtree unhealthy") {
  node_under_test node;
  auto jobs = *supervision::blocking::which_children(node.sys, node.root);
  caf::actor jobs_sup;
  for (auto& c : jobs)
    if (c.id == "jobs")
      jobs_sup = c.handle;
  REQUIRE(jobs_sup);
  auto job = *supervision::blocking::which_children(node.sys, jobs_sup);
  caf::anon_send(job.front().handle, test::crash_atom::value); // intensity 0: "jobs" gives up
  // While it stops it may still be listed as running, then not answer; once
  // its parent saw it end (transient, shut down: not restarted) it has ended.
  REQUIRE(eventually([&] { return node.check().reason == "jobs: has ended"; }));
  auto h = node.check();
  CHECK(h.state == status::unhealthy);
  CHECK(child(h, "jobs")->state == status::unhealthy);
}

}
