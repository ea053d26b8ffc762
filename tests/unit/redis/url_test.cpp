#include <doctest/doctest.h>

#include "otpp/actors/redis/connection.hpp"
#include "otpp/supervision/errors.hpp"

using otpp::redis::parse_url;

TEST_SUITE("redis.url") {

TEST_CASE("a Redis URL gives host, port, credentials and database") {
  auto plain = parse_url("redis://127.0.0.1");
  REQUIRE(plain);
  CHECK(plain->host == "127.0.0.1");
  CHECK(plain->port == 6379);
  CHECK(plain->password.empty());
  CHECK(plain->db == 0);
  auto full = parse_url("redis://otpp:s3cr:et@localhost:6390/2");
  REQUIRE(full);
  CHECK(full->host == "localhost");
  CHECK(full->port == 6390);
  CHECK(full->user == "otpp");
  CHECK(full->password == "s3cr:et");
  CHECK(full->db == 2);
  auto password_only = parse_url("redis://:pw@h:1");
  REQUIRE(password_only);
  CHECK(password_only->user.empty());
  CHECK(password_only->password == "pw");
  auto slash_in_password = parse_url("redis://:a/b@h:1/3");
  REQUIRE(slash_in_password);
  CHECK(slash_in_password->password == "a/b");
  CHECK(slash_in_password->db == 3);
  auto trailing = parse_url("redis://h:1/");
  REQUIRE(trailing);
  CHECK(trailing->db == 0);
  auto v6 = parse_url("redis://[::1]:7000");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 7000);
}

TEST_CASE("a bad Redis URL is rejected with what is wrong") {
  auto message = [](const std::string& url) {
    auto e = parse_url(url);
    REQUIRE_FALSE(e);
    return otpp::supervision::describe(e.error());
  };
  CHECK(message("http://h") == "bad_url: bad Redis URL 'http://h': must start with redis://");
  CHECK(message("redis://") == "bad_url: bad Redis URL 'redis://': no host");
  CHECK(message("redis://h:0").find("the port must be a number in [1, 65535]") != std::string::npos);
  CHECK(message("redis://h:65536").find("the port must be a number in [1, 65535]") != std::string::npos);
  CHECK(message("redis://h:x").find("the port must be a number") != std::string::npos);
  CHECK(message("redis://h:").find("empty port") != std::string::npos);
  CHECK(message("redis://h/db").find("the database after '/' must be a number") != std::string::npos);
  CHECK(message("redis://[::1").find("'[' without ']'") != std::string::npos);
}

TEST_CASE("a sentinel's host:port needs its port") {
  using otpp::redis::parse_host_port;
  auto v4 = parse_host_port("10.0.0.1:26379");
  REQUIRE(v4);
  CHECK(v4->host == "10.0.0.1");
  CHECK(v4->port == 26379);
  auto v6 = parse_host_port("[::1]:26380");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 26380);
  auto message = [](const std::string& text) { return otpp::supervision::describe(parse_host_port(text).error()); };
  CHECK(message("h") == "bad_url: bad host:port 'h': no port");
  CHECK(message(":1") == "bad_url: bad host:port ':1': no host");
  CHECK(message("h:") == "bad_url: bad host:port 'h:': empty port");
  CHECK(message("h:70000") == "bad_url: bad host:port 'h:70000': the port must be a number in [1, 65535]");
}

}
