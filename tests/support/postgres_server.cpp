#include "tests/support/postgres_server.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/child_process.hpp"
#include "tests/support/loopback_socket.hpp"

namespace otpp::test {

namespace {

// Debian installs the server tools under /usr/lib/postgresql/<major>/bin; the newest wins.
std::string server_bin_dir() {
  int newest = 0;
  std::error_code ignored;
  for (auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ignored)) {
    auto name = entry.path().filename().string();
    if (std::filesystem::exists(entry.path() / "bin" / "pg_ctl") && name.find_first_not_of("0123456789") == std::string::npos)
      newest = std::max(newest, std::stoi(name));
  }
  if (newest == 0)
    throw std::runtime_error("PostgreSQL's server tools are not installed (Debian package postgresql)");
  return "/usr/lib/postgresql/" + std::to_string(newest) + "/bin";
}

// The server refuses to run as root: tools run as the `postgres` user then.
std::vector<std::string> as_server_user(std::vector<std::string> command) {
  if (::geteuid() != 0)
    return command;
  command.insert(command.begin(), {"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"});
  return command;
}

void run_or_throw(std::vector<std::string> command) {
  auto what = command.front();
  auto r = run(as_server_user(std::move(command)));
  if (r.code != 0)
    throw std::runtime_error(what + " failed (exit " + std::to_string(r.code) + "): " + r.output);
}

} // namespace

postgres_server::postgres_server() : bin_(server_bin_dir()), port_(free_loopback_port()) {
  char pattern[] = "/tmp/otpp-postgres-XXXXXX";
  if (::mkdtemp(pattern) == nullptr)
    throw std::runtime_error("cannot create a directory for PostgreSQL");
  dir_ = pattern;
  try {
    if (::geteuid() == 0 && run({"chown", "postgres:", dir_}).code != 0)
      throw std::runtime_error("cannot hand " + dir_ + " to the postgres user");
    run_or_throw({bin_ + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C", "--no-sync"});
    start();
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

postgres_server::~postgres_server() {
  try {
    if (running_)
      crash();
  } catch (const std::exception&) {
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void postgres_server::pg_ctl(std::vector<std::string> args) {
  args.insert(args.begin(), {bin_ + "/pg_ctl", "-D", dir_ + "/data", "-w", "-t", "30"});
  run_or_throw(std::move(args));
}

void postgres_server::start() {
  if (running_)
    throw std::logic_error("PostgreSQL is already running");
  try {
    pg_ctl({"-l", dir_ + "/server.log", "-o",
            "-p " + std::to_string(port_) + " -h 127.0.0.1 -k " + dir_ + " -c fsync=off -c max_connections=200",
            "start"});
  } catch (const std::runtime_error& failed) { // the server's own words
    std::ifstream log{dir_ + "/server.log"};
    std::stringstream text;
    text << log.rdbuf();
    throw std::runtime_error(std::string{failed.what()} + "\nserver.log:\n" + text.str());
  }
  running_ = true;
}

void postgres_server::stop() {
  resume();
  pg_ctl({"-m", "fast", "stop"});
  running_ = false;
}

void postgres_server::crash() {
  resume();
  pg_ctl({"-m", "immediate", "stop"});
  running_ = false;
}

namespace {

// The processes whose parent is `parent` (each server process is a session
// of its own, so a process group does not hold them).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> found;
  std::error_code ignored;
  for (auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream stat{entry.path() / "stat"};
    std::string line;
    std::getline(stat, line);
    auto after_name = line.rfind(')'); // "pid (comm) state ppid ..."
    if (after_name == std::string::npos)
      continue;
    std::istringstream rest{line.substr(after_name + 1)};
    char state = 0;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == parent)
      found.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return found;
}

} // namespace

void postgres_server::freeze() {
  std::ifstream pid_file{dir_ + "/data/postmaster.pid"};
  pid_t postmaster = 0;
  if (!(pid_file >> postmaster) || postmaster <= 0 || ::kill(postmaster, SIGSTOP) != 0)
    throw std::runtime_error("cannot freeze PostgreSQL's postmaster");
  frozen_ = {postmaster}; // first, so that it starts no one meanwhile
  for (auto child : children_of(postmaster))
    if (::kill(child, SIGSTOP) == 0)
      frozen_.push_back(child);
}

void postgres_server::resume() {
  for (auto pid : frozen_)
    ::kill(pid, SIGCONT);
  frozen_.clear();
}

std::string postgres_server::url() const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

} // namespace otpp::test
