// `otpp-node top` on a real terminal: tmux runs it in a detached 80x24
// session against a node process, the test reads the screen with
// `capture-pane`, crashes a child of the node, sees the restart appear, and
// presses q. Prints "SKIPPED: ..." where tmux is not installed (CTest
// reports it as skipped, see tests/top_properties.cmake).
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"

using namespace otpp;
using namespace std::chrono_literals;

namespace {

bool tmux_installed() {
  try {
    return test::run({"tmux", "-V"}).code == 0;
  } catch (const std::exception&) {
    return false;
  }
}

// A tmux server of its own (its own socket), killed with the test.
class tmux {
public:
  tmux() : socket_("otpp-top-test-" + std::to_string(::getpid())) {}
  ~tmux() { run({"kill-server"}); }
  tmux(const tmux&) = delete;
  tmux& operator=(const tmux&) = delete;

  test::run_result run(std::vector<std::string> args) const {
    args.insert(args.begin(), {"tmux", "-L", socket_, "-f", "/dev/null"});
    return test::run(std::move(args));
  }

  std::string screen() const { return run({"capture-pane", "-p", "-t", "top"}).output; }

private:
  std::string socket_;
};

// The port of the node's HTTP endpoint, from its JSON log's http_listening line.
int listening_port(const std::string& log) {
  std::istringstream lines{log};
  for (std::string line; std::getline(lines, line);) {
    auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_object() && record.value("event", "") == "http_listening")
      return record.value("port", 0);
  }
  return 0;
}

// Whether the process `pid` has ended (gone, or a zombie not reaped yet).
bool exited(int pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (!std::getline(stat, line))
    return true;
  auto state = line.find(") ");
  return state == std::string::npos || line.compare(state + 2, 1, "Z") == 0;
}

} // namespace

TEST_SUITE("otpp-node top in tmux") {

TEST_CASE("otpp-node top in an 80x24 tmux pane shows a child's restart and quits on q") {
  if (!tmux_installed()) {
    MESSAGE("SKIPPED: tmux is not installed (apt-get install tmux)");
    return;
  }
  char dir_template[] = "/tmp/otpp-top-XXXXXX";
  REQUIRE(::mkdtemp(dir_template));
  std::string dir = dir_template;
  auto trigger = dir + "/crash-now";
  auto config = dir + "/node.toml";
  std::ofstream{config} << "[node]\nname = \"top-node\"\n"
                        << "[logging]\nformat = \"json\"\nlevel = \"info\"\n"
                        << "[supervisor]\nintensity = 10\n"
                        << "[http]\nlisten = \"127.0.0.1:0\"\n"
                        << "[pools.db]\nsize = 2\n"
                        << "[children.crasher]\nkind = \"test.crash_on_file\"\n"
                        << "[children.crasher.args]\nfile = \"" << trigger << "\"\n";
  test::child_process node{{OTPP_CRASH_NODE_PATH, config}, test::child_process::output::err};
  REQUIRE(node.wait_for("node_started", 10s)); // logged after http_listening
  auto port = listening_port(node.seen());
  REQUIRE_MESSAGE(port > 0, node.seen());
  auto url = "http://127.0.0.1:" + std::to_string(port);

  tmux t;
  auto started = t.run({"new-session", "-d", "-s", "top", "-x", "80", "-y", "24", std::string{OTPP_NODE_PATH} + " top " + url,
                        ";", "set-option", "-w", "-t", "top", "remain-on-exit", "on"});
  REQUIRE_MESSAGE(started.code == 0, started.output);
  std::string screen;
  auto shows = [&](const std::regex& pattern) {
    return test::eventually(
      [&] {
        screen = t.screen();
        return std::regex_search(screen, pattern);
      },
      10s);
  };
  REQUIRE_MESSAGE(shows(std::regex{"\n  crasher +worker +healthy "}), screen);
  CHECK(screen.rfind("otpp-node top  top-node  healthy  restarts 0  " + url, 0) == 0);
  CHECK(std::regex_search(screen, std::regex{"\ndb +2 +2 +0 +0 +0 "}));
  std::istringstream rows{screen};
  int count = 0;
  for (std::string row; std::getline(rows, row); ++count)
    CHECK(row.size() <= 80);
  CHECK(count == 24);
  CHECK(std::regex_search(screen, std::regex{"\nq: quit\\s*$"})); // the footer on the last row

  std::ofstream{trigger} << "now";
  CHECK_MESSAGE(shows(std::regex{"\n  crasher +worker +healthy +1  exception: crashed"}), screen);
  CHECK(screen.rfind("otpp-node top  top-node  healthy  restarts 1  " + url, 0) == 0);

  // The pane's process is otpp-node top itself (sh -c execs a lone command).
  auto pid = std::stoi(t.run({"display-message", "-p", "-t", "top", "#{pane_pid}"}).output);
  REQUIRE(!exited(pid));
  t.run({"send-keys", "-t", "top", "q"});
  CHECK(test::eventually([&] { return exited(pid); }, 5s));
  // tmux marks the pane dead, with the exit status 0 once it has reaped the
  // process (tmux 3.3a sometimes leaves it a zombie: the status stays unknown).
  std::string dead;
  CHECK_MESSAGE(test::eventually(
                  [&] {
                    dead = t.run({"display-message", "-p", "-t", "top", "#{pane_dead} #{pane_dead_status}"}).output;
                    return dead == "1 0\n" || dead == "1 \n";
                  },
                  5s),
                dead);
  node.signal(SIGTERM);
  CHECK(node.wait() == 0);
  std::remove(trigger.c_str());
  std::remove(config.c_str());
  ::rmdir(dir.c_str());
}

}
