#include <doctest/doctest.h>

#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

#include "otpp/supervision/errors.hpp"

using namespace otpp::supervision;

TEST_SUITE("supervision.errors") {

TEST_CASE("reasons render the way an OTP user reads them") {
  CHECK(describe(caf::error{}) == "normal");
  CHECK(describe(caf::exit_reason::normal) == "normal");
  CHECK(describe(caf::exit_reason::user_shutdown) == "shutdown");
  CHECK(describe(caf::exit_reason::kill) == "killed");
  CHECK(describe(make_error(errc::exception, "boom")) == "exception: boom");
  CHECK(describe(make_error(errc::not_found)) == "not_found");
  CHECK(describe(caf::sec::request_timeout) == "request_timeout");
}

TEST_CASE("normal, shutdown and shutdown with a reason are normal exits and the rest are not") {
  CHECK(is_normal_exit(caf::error{}));
  CHECK(is_normal_exit(caf::exit_reason::normal));
  CHECK(is_normal_exit(caf::exit_reason::user_shutdown));
  CHECK(is_normal_exit(make_error(errc::shutdown, "reached_max_restart_intensity")));
  CHECK_FALSE(is_normal_exit(caf::exit_reason::kill));
  CHECK_FALSE(is_normal_exit(make_error(errc::exception, "boom")));
  CHECK_FALSE(is_normal_exit(caf::exit_reason::unhandled_exception));
}

}
