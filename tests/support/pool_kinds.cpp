#include "tests/support/pool_kinds.hpp"

#include <map>
#include <memory>
#include <mutex>

#include "otpp/actors/pool/worker_kinds.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::test {

std::atomic<int> counted_live{0};

namespace {

caf::behavior counted_worker(caf::event_based_actor* self) {
  ++counted_live;
  self->attach_functor([] { --counted_live; });
  return {[](int x) { return x; }};
}

caf::behavior plain_worker(caf::event_based_actor*) {
  return {[](int x) { return x; }};
}

std::mutex tagged_mtx;
std::map<int64_t, int> tagged_counts; // guarded by tagged_mtx

void count_tagged(int64_t tag, int delta) {
  std::lock_guard<std::mutex> guard{tagged_mtx};
  tagged_counts[tag] += delta;
}

caf::behavior tagged_worker(caf::event_based_actor*, int64_t tag) {
  return {[tag](int) { return static_cast<int>(tag); }};
}

// Counted from its spawn (its body may run later, on a scheduler thread):
// from then on it takes requests.
caf::expected<caf::actor> start_tagged(supervision::start_context& ctx, const pool::worker_args& args) {
  auto tag = args.get_int("tag");
  auto w = ctx.spawn(tagged_worker, tag);
  count_tagged(tag, 1);
  caf::actor_cast<caf::abstract_actor*>(w)->attach_functor([tag] { count_tagged(tag, -1); });
  return w;
}

} // namespace

void register_counted_kind() {
  pool::register_worker_kind("test.counted", {}, [](supervision::start_context& ctx, const pool::worker_args&)
                                               -> caf::expected<caf::actor> { return ctx.spawn(counted_worker); });
}

void register_failing_kind(const std::string& kind, int failures) {
  auto left = std::make_shared<std::atomic<int>>(failures);
  pool::register_worker_kind(kind, {}, [left](supervision::start_context& ctx, const pool::worker_args&)
                                     -> caf::expected<caf::actor> {
    if (left->fetch_sub(1) > 0)
      return supervision::make_error(supervision::errc::start_failed, "scripted start failure");
    return ctx.spawn(plain_worker);
  });
}

void register_tagged_kind() {
  pool::register_worker_kind("test.tagged", {supervision::integer_arg("tag", 0, 1'000'000).defaults(0)}, start_tagged);
}

int tagged_live(int64_t tag) {
  std::lock_guard<std::mutex> guard{tagged_mtx};
  auto i = tagged_counts.find(tag);
  return i == tagged_counts.end() ? 0 : i->second;
}

int tagged_live_all() {
  std::lock_guard<std::mutex> guard{tagged_mtx};
  int live = 0;
  for (auto& [tag, n] : tagged_counts)
    live += n;
  return live;
}

} // namespace otpp::test
