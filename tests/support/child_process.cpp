#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

extern char** environ;

namespace otpp::test {

child_process::child_process(std::vector<std::string> args, output captured) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) // the copies on stdout/stderr stay open in the child, the originals do not
    throw std::runtime_error("cannot create a pipe for " + args.at(0));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (captured != output::err)
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  if (captured != output::out)
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    pid_ = -1;
    throw std::runtime_error("cannot start " + args[0] + " (is it installed?)");
  }
  out_ = pipe_fds[0];
}

child_process::~child_process() {
  close_output();
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool child_process::wait_for(const std::string& text, std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (seen_.find(text) == std::string::npos) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{out_, POLLIN, 0};
    char buf[4096];
    ssize_t n = 0;
    int ready = out_ >= 0 && left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0 || (n = ::read(out_, buf, sizeof buf)) <= 0)
      return false;
    seen_.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

const std::string& child_process::read_all() {
  char buf[4096];
  for (ssize_t n; out_ >= 0 && (n = ::read(out_, buf, sizeof buf)) > 0;)
    seen_.append(buf, static_cast<std::size_t>(n));
  close_output();
  return seen_;
}

void child_process::close_output() {
  if (out_ >= 0)
    ::close(out_);
  out_ = -1;
}

void child_process::signal(int sig) const {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

int child_process::wait() {
  if (pid_ <= 0)
    return -1;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

run_result run(std::vector<std::string> argv) {
  child_process p{std::move(argv)};
  auto output = p.read_all();
  return {p.wait(), output};
}

} // namespace otpp::test
