#include "tests/support/redis_server.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace otpp::test {

namespace {

std::string temporary_directory() {
  char pattern[] = "/tmp/otpp-redis-XXXXXX";
  if (::mkdtemp(pattern) == nullptr)
    throw std::runtime_error("cannot create a directory for redis-server");
  return pattern;
}

} // namespace

redis_server::redis_server(std::vector<std::string> extra)
  : port_(free_loopback_port()), dir_(temporary_directory()), extra_(std::move(extra)) {
  start();
}

void redis_server::start() {
  if (process_)
    throw std::logic_error("redis-server is already running");
  auto port = std::to_string(port_);
  std::vector<std::string> args{"redis-server", "--port",      port,   "--bind",      "127.0.0.1", "--save",
                                "",             "--appendonly", "no",   "--dir",       dir_,        "--daemonize",
                                "no",           "--protected-mode", "yes"};
  args.insert(args.end(), extra_.begin(), extra_.end());
  process_ = std::make_unique<child_process>(args, child_process::output::out);
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

void redis_server::kill() {
  if (!process_)
    return;
  process_->signal(SIGKILL);
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

redis_sentinel::redis_sentinel(const redis_server& master, const std::string& name, int down_after_ms)
  : port_(free_loopback_port()), dir_(temporary_directory()) {
  auto file = dir_ + "/sentinel.conf"; // the sentinel rewrites it
  std::ofstream{file} << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_ << "\nsentinel monitor " << name << " "
                      << master.host() << " " << master.port() << " 1\nsentinel down-after-milliseconds " << name
                      << " " << down_after_ms << "\nsentinel failover-timeout " << name << " " << 4 * down_after_ms
                      << "\n";
  process_ = std::make_unique<child_process>(std::vector<std::string>{"redis-server", file, "--sentinel"},
                                             child_process::output::out);
  if (!process_->wait_for("+monitor master")) {
    auto seen = process_->seen();
    process_.reset();
    throw std::runtime_error("redis-sentinel did not start on port " + std::to_string(port_) + ": " + seen);
  }
}

redis_sentinel::~redis_sentinel() {
  process_->signal(SIGTERM);
  process_->wait();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

bool redis_sentinel::wait_for(const std::string& event, std::chrono::milliseconds bound) {
  return process_->wait_for(event, bound);
}

std::string redis_sentinel::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

} // namespace otpp::test
