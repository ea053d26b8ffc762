#include <doctest/doctest.h>

#include "otpp/supervision/child_spec.hpp"
#include "otpp/supervision/errors.hpp"

using namespace otpp::supervision;
using namespace std::chrono_literals;

namespace {

child_spec valid_spec(std::string id) {
  child_spec spec;
  spec.id = std::move(id);
  spec.start = [](start_context&) -> caf::expected<caf::actor> {
    return caf::actor{};
  };
  return spec;
}

std::string text(const caf::error& err) {
  return describe(err);
}

} // namespace

TEST_SUITE("supervision.child_spec") {

TEST_CASE("defaults are OTP's: one_for_one, intensity 1, period 5 s, permanent worker") {
  supervisor_flags flags;
  CHECK(flags.strategy == strategy::one_for_one);
  CHECK(flags.intensity == 1);
  CHECK(flags.period == 5000ms);
  CHECK(flags.auto_shutdown == auto_shutdown::never);
  auto spec = valid_spec("w");
  CHECK(spec.restart == restart_type::permanent);
  CHECK(spec.type == child_type::worker);
  CHECK_FALSE(spec.significant);
}

TEST_CASE("shutdown defaults to 5000 ms for workers and infinity for supervisors") {
  auto spec = valid_spec("w");
  CHECK(effective_shutdown(spec).how == shutdown_policy::kind::timeout);
  CHECK(effective_shutdown(spec).timeout == 5000ms);
  spec.type = child_type::supervisor;
  CHECK(effective_shutdown(spec).how == shutdown_policy::kind::infinity);
  spec.shutdown = shutdown_policy::brutal_kill();
  CHECK(effective_shutdown(spec).how == shutdown_policy::kind::brutal_kill);
}

TEST_CASE("invalid flags are rejected naming the field and value") {
  supervisor_flags flags;
  flags.intensity = -1;
  auto err = validate(flags);
  CHECK(is(err, errc::invalid_flags));
  CHECK(text(err) == "invalid_flags: intensity must be >= 0, got -1");
  flags.intensity = 1;
  flags.period = 0ms;
  CHECK(text(validate(flags)) == "invalid_flags: period must be in [1, 31622400000] ms, got 0");
  flags.period = std::chrono::milliseconds{10'000'000'000'000}; // would overflow the window's nanoseconds
  CHECK(text(validate(flags)) == "invalid_flags: period must be in [1, 31622400000] ms, got 10000000000000");
  flags.period = 1000ms;
  flags.strategy = strategy::simple_one_for_one;
  flags.auto_shutdown = auto_shutdown::any_significant;
  CHECK(is(validate(flags), errc::invalid_flags));
}

TEST_CASE("invalid child specs are rejected naming the child, field and value") {
  supervisor_flags flags;
  auto spec = valid_spec("");
  CHECK(text(validate(spec, flags)) == "invalid_spec: child '': id must not be empty");
  spec = valid_spec("db");
  spec.start = nullptr;
  CHECK(text(validate(spec, flags)) == "invalid_spec: child 'db': start function is missing");
  spec = valid_spec("db");
  spec.shutdown = shutdown_policy::after(0ms);
  CHECK(text(validate(spec, flags)) == "invalid_spec: child 'db': shutdown timeout must be > 0 ms, got 0");
  spec = valid_spec("db");
  spec.backoff = backoff_options{0ms, 10ms, 2.0, 0.0, 0ms};
  CHECK(text(validate(spec, flags)).find("backoff.min must be > 0 ms, got 0") != std::string::npos);
}

TEST_CASE("a child spec whose restart, type or shutdown is out of range is refused naming the value") {
  supervisor_flags flags;
  auto spec = valid_spec("db");
  spec.restart = static_cast<restart_type>(7);
  CHECK(text(validate(spec, flags))
        == "invalid_spec: child 'db': restart must be permanent, transient or temporary, got 7");
  CHECK(is(validate(flags, {spec}), errc::invalid_spec));
  spec = valid_spec("db");
  spec.type = static_cast<child_type>(2);
  CHECK(text(validate(spec, flags)) == "invalid_spec: child 'db': type must be worker or supervisor, got 2");
  spec = valid_spec("db");
  spec.shutdown = shutdown_policy{static_cast<shutdown_policy::kind>(9), 10ms};
  CHECK(text(validate(spec, flags))
        == "invalid_spec: child 'db': shutdown must be brutal_kill, a timeout or infinity, got 9");
  for (auto restart : {restart_type::permanent, restart_type::transient, restart_type::temporary}) {
    spec = valid_spec("db");
    spec.restart = restart;
    CHECK_FALSE(validate(spec, flags));
  }
}

TEST_CASE("supervisor flags whose strategy or auto_shutdown is out of range are refused naming the value") {
  supervisor_flags flags;
  flags.strategy = static_cast<strategy>(4);
  CHECK(text(validate(flags)) == "invalid_flags: strategy must be one_for_one, one_for_all, rest_for_one or "
                                 "simple_one_for_one, got 4");
  CHECK(is(validate(flags, {valid_spec("a")}), errc::invalid_flags));
  flags = supervisor_flags{};
  flags.auto_shutdown = static_cast<auto_shutdown>(3);
  CHECK(text(validate(flags))
        == "invalid_flags: auto_shutdown must be never, any_significant or all_significant, got 3");
}

TEST_CASE("significant children must be transient or temporary under an auto_shutdown supervisor") {
  supervisor_flags flags;
  auto spec = valid_spec("job");
  spec.significant = true;
  spec.restart = restart_type::transient;
  CHECK(is(validate(spec, flags), errc::invalid_spec)); // auto_shutdown never
  flags.auto_shutdown = auto_shutdown::any_significant;
  CHECK_FALSE(validate(spec, flags));
  spec.restart = restart_type::permanent;
  CHECK(text(validate(spec, flags)).find("significant requires restart transient or temporary") != std::string::npos);
}

TEST_CASE("duplicate child ids are rejected") {
  auto err = validate(supervisor_flags{}, {valid_spec("a"), valid_spec("b"), valid_spec("a")});
  CHECK(is(err, errc::duplicate_child));
  CHECK(text(err) == "duplicate_child: child id 'a' appears twice");
}

TEST_CASE("simple_one_for_one takes exactly one child spec") {
  supervisor_flags flags;
  flags.strategy = strategy::simple_one_for_one;
  CHECK_FALSE(validate(flags, {valid_spec("t")}));
  CHECK(is(validate(flags, {}), errc::invalid_spec));
  CHECK(is(validate(flags, {valid_spec("a"), valid_spec("b")}), errc::invalid_spec));
}

}
