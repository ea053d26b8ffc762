#include "tests/support/pool_kinds.hpp"

#include <memory>

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

} // namespace otpp::test
