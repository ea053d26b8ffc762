#include <doctest/doctest.h>

#include <hiredis/hiredis.h>

#include <memory>
#include <string>

#include "tests/support/redis_server.hpp"

namespace {

using connection = std::unique_ptr<redisContext, decltype(&redisFree)>;

connection connect_to(int port) {
  timeval timeout{1, 0};
  return connection{redisConnectWithTimeout("127.0.0.1", port, timeout), &redisFree};
}

} // namespace

TEST_SUITE("support.redis_server") {

TEST_CASE("the test helper runs a private redis-server on a free loopback port and stops it") {
  int port = 0;
  {
    otpp::test::redis_server server;
    port = server.port();
    CHECK(server.url() == "redis://127.0.0.1:" + std::to_string(port));
    auto c = connect_to(port);
    REQUIRE(c);
    REQUIRE(c->err == 0);
    auto* reply = static_cast<redisReply*>(redisCommand(c.get(), "PING"));
    REQUIRE(reply != nullptr);
    CHECK(std::string{reply->str, reply->len} == "PONG");
    freeReplyObject(reply);
  }
  auto after = connect_to(port);
  CHECK((!after || after->err != 0)); // nothing listens there any more
}

}
