#include "tests/support/redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace otpp::test {

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0)
      ::close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

redis_server::redis_server() : port_(free_loopback_port()) {
  char pattern[] = "/tmp/otpp-redis-XXXXXX";
  if (::mkdtemp(pattern) == nullptr)
    throw std::runtime_error("cannot create a directory for redis-server");
  dir_ = pattern;
  start();
}

void redis_server::start() {
  if (pid_ > 0)
    throw std::logic_error("redis-server is already running");
  int out[2];
  if (::pipe(out) != 0)
    throw std::runtime_error("cannot create a pipe for redis-server");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  auto port = std::to_string(port_);
  std::vector<std::string> args{"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", dir_, "--daemonize", "no", "--protected-mode", "yes"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawnp(&pid_, "redis-server", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    pid_ = -1;
    throw std::runtime_error("cannot start redis-server (is it installed?)");
  }
  // Wait for its "Ready to accept connections" line: an event, bounded.
  std::string seen;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (seen.find("Ready to accept connections") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    char buf[4096];
    ssize_t n = 0;
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0
        || (n = ::read(out[0], buf, sizeof buf)) <= 0) {
      ::close(out[0]);
      stop();
      throw std::runtime_error("redis-server did not become ready on port " + port + ": " + seen);
    }
    seen.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]); // later log lines go nowhere; redis ignores SIGPIPE
}

void redis_server::stop() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGCONT); // in case it was paused
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void redis_server::pause() {
  ::kill(pid_, SIGSTOP);
}

void redis_server::resume() {
  ::kill(pid_, SIGCONT);
}

redis_server::~redis_server() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string redis_server::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_);
}

} // namespace otpp::test
