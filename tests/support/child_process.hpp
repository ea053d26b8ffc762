#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>

namespace otpp::test {

/// A program run by a test, its stdout and/or stderr read through one pipe.
/// Killed (SIGKILL) and reaped on destruction if still running.
class child_process {
public:
  enum class output { out, err, both };

  /// Starts argv[0] (looked up in PATH) with its arguments; throws
  /// std::runtime_error if it cannot start.
  explicit child_process(std::vector<std::string> argv, output captured = output::both);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Reads the output until `text` appears (true), or `bound` passed or the
  /// output closed (false).
  bool wait_for(const std::string& text, std::chrono::milliseconds bound = std::chrono::seconds(10));
  /// Reads the output until it closes (the program exits or closes it).
  const std::string& read_all();
  /// Stops reading: later output goes nowhere (a program that ignores SIGPIPE keeps running).
  void close_output();
  /// All output read so far.
  const std::string& seen() const { return seen_; }

  void signal(int sig) const;
  /// Waits for the exit: the exit code, or -1 if a signal ended it.
  int wait();
  pid_t pid() const { return pid_; }

private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string seen_;
};

/// Runs a program to its end: its exit code (-1 if a signal ended it) and its output.
struct run_result {
  int code;
  std::string output;
};
run_result run(std::vector<std::string> argv);

} // namespace otpp::test
