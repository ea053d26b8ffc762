#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "otpp/config/loader.hpp"
#include "otpp/config/node.hpp"
#include "otpp/supervision/errors.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/loopback_socket.hpp"

using namespace otpp;

namespace {

// A node "main-node" with a pool "db" and an HTTP endpoint on a free port,
// with the extra [http] lines `http`.
std::unique_ptr<config::node> start_node(const std::string& http = "") {
  auto loaded = config::load_string("[node]\nname = \"main-node\"\n[logging]\nlevel = \"warn\"\n"
                                    "[pools.db]\nsize = 2\n[http]\nlisten = \"127.0.0.1:0\"\n" + http,
                                    "main.toml");
  REQUIRE_MESSAGE(loaded.config, (loaded.problems.empty() ? "" : loaded.problems.front().to_string()));
  auto started = config::node::start(*loaded.config);
  REQUIRE_MESSAGE(started, supervision::describe(started.error()));
  return std::move(*started);
}

std::string url_of(const config::node& n) {
  return "http://127.0.0.1:" + std::to_string(n.http_port());
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

} // namespace

TEST_SUITE("otpp-node command line") {

TEST_CASE("otpp-node --help and --version print and exit 0, an unknown option exits 64 with the usage") {
  auto help = test::run({OTPP_NODE_PATH, "--help"});
  CHECK(help.code == 0);
  CHECK(help.output.find("usage: otpp-node [--check] [--status-every SECONDS] CONFIG.toml\n") == 0);
  CHECK(help.output.find("otpp-node top [--token-file FILE]") != std::string::npos);
  auto version = test::run({OTPP_NODE_PATH, "--version"});
  CHECK(version.code == 0);
  CHECK(version.output.find("otpp-node (otpp) ") == 0);
  CHECK(version.output.find_first_of("0123456789") != std::string::npos);
  auto top_help = test::run({OTPP_NODE_PATH, "top", "--help"});
  CHECK(top_help.code == 0);
  CHECK(top_help.output.find("usage: otpp-node top [--token-file FILE]") == 0);
  auto bad = test::run({OTPP_NODE_PATH, "--bogus"});
  CHECK(bad.code == 64);
  CHECK(bad.output.find("usage: otpp-node") == 0);
}

TEST_CASE("otpp-node top prints one block of plain lines per poll when its output is not a terminal") {
  auto node = start_node();
  auto top = test::run({OTPP_NODE_PATH, "top", "--iterations", "2", url_of(*node)});
  CHECK(top.code == 0);
  CHECK(count(top.output, "otpp-node top  main-node  healthy  restarts 0  " + url_of(*node) + "\n") == 2);
  CHECK(count(top.output, "\nSUPERVISION TREE ") == 2);
  CHECK(count(top.output, "\n  db                       pool       healthy") == 2);
  CHECK(count(top.output, "\ndb                             2     2     0     0     0") == 2);
  CHECK(top.output.find("error") == std::string::npos);
}

TEST_CASE("otpp-node top sends the token of --token-file or OTPP_TOKEN, and says when it is missing") {
  ::setenv("OTPP_TEST_TOP_TOKEN", "top-secret", 1);
  auto node = start_node("token_env = \"OTPP_TEST_TOP_TOKEN\"\n");
  ::unsetenv("OTPP_TOKEN");
  auto refused = test::run({OTPP_NODE_PATH, "top", "--iterations", "1", url_of(*node)});
  CHECK(refused.code == 0);
  CHECK(refused.output.find("error: " + url_of(*node)
                            + "/status answered 401 (give the token with --token-file FILE or OTPP_TOKEN)")
        != std::string::npos);
  ::setenv("OTPP_TOKEN", "top-secret", 1);
  auto from_env = test::run({OTPP_NODE_PATH, "top", "--iterations", "1", url_of(*node)});
  ::unsetenv("OTPP_TOKEN");
  CHECK(from_env.output.find("otpp-node top  main-node  healthy") == 0);
  char file[] = "/tmp/otpp-top-token-XXXXXX";
  int fd = ::mkstemp(file);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "top-secret\n", 11) == 11);
  ::close(fd);
  auto from_file = test::run({OTPP_NODE_PATH, "top", "--iterations", "1", "--token-file", file, url_of(*node)});
  CHECK(from_file.output.find("otpp-node top  main-node  healthy") == 0);
  std::remove(file);
  auto missing = test::run({OTPP_NODE_PATH, "top", "--token-file", "/nonexistent/token", url_of(*node)});
  CHECK(missing.code == 64);
  CHECK(missing.output.find("otpp-node top: --token-file: cannot read '/nonexistent/token'") == 0);
}

TEST_CASE("otpp-node top keeps polling a node it cannot reach and shows why") {
  auto url = "http://127.0.0.1:" + std::to_string(test::free_loopback_port());
  auto top = test::run({OTPP_NODE_PATH, "top", "--iterations", "2", url});
  CHECK(top.code == 0);
  CHECK(count(top.output, "otpp-node top  " + url + "\nerror: cannot reach " + url + ": ") == 2);
}

TEST_CASE("otpp-node top refuses a bad URL or option with 64 and says why") {
  auto bad_url = test::run({OTPP_NODE_PATH, "top", "ftp://127.0.0.1:1"});
  CHECK(bad_url.code == 64);
  CHECK(bad_url.output.find("otpp-node top: bad URL 'ftp://127.0.0.1:1': the scheme must be http or https\n") == 0);
  CHECK(bad_url.output.find("usage: otpp-node top") != std::string::npos);
  auto bad_count = test::run({OTPP_NODE_PATH, "top", "--iterations", "0"});
  CHECK(bad_count.code == 64);
  CHECK(bad_count.output.find("--iterations needs a positive number, not '0'") != std::string::npos);
}

}
