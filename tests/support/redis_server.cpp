#include "tests/support/redis_server.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace otpp::test {

redis_server::redis_server() : port_(free_loopback_port()) {
  char pattern[] = "/tmp/otpp-redis-XXXXXX";
  if (::mkdtemp(pattern) == nullptr)
    throw std::runtime_error("cannot create a directory for redis-server");
  dir_ = pattern;
  start();
}

void redis_server::start() {
  if (process_)
    throw std::logic_error("redis-server is already running");
  auto port = std::to_string(port_);
  process_ = std::make_unique<child_process>(
    std::vector<std::string>{"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", dir_, "--daemonize", "no", "--protected-mode", "yes"},
    child_process::output::out);
  if (!process_->wait_for("Ready to accept connections")) {
    auto seen = process_->seen();
    stop();
    throw std::runtime_error("redis-server did not become ready on port " + port + ": " + seen);
  }
  process_->close_output(); // later log lines go nowhere; redis ignores SIGPIPE
}

void redis_server::stop() {
  if (!process_)
    return;
  process_->signal(SIGCONT); // in case it was paused
  process_->signal(SIGTERM);
  process_->wait();
  process_.reset();
}

void redis_server::pause() {
  process_->signal(SIGSTOP);
}

void redis_server::resume() {
  process_->signal(SIGCONT);
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
