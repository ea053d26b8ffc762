#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace otpp::test {

/// Why this machine cannot run the network-namespace tests (not root, no
/// CAP_NET_ADMIN, `ip netns add` fails, `nft` missing or refused), or empty
/// when it can. Probed once per process with a namespace of its own.
const std::string& netns_unavailable();

/// Deletes the namespaces `otpp-<pid>-*` left behind by test processes that
/// are gone (killed by a timeout, say), after killing what still runs in
/// them. Namespaces of living processes are left alone.
void remove_stale_namespaces();

/// A small network for one test: a "switch" namespace holding a bridge, and
/// one namespace per host, each joined to the bridge by a veth pair (the
/// host's `eth0`, the switch's port `p-<host>`) with an address of
/// 10.213.0.0/24. Names carry this process's id (`otpp-<pid>-<host>`,
/// `otpp-<pid>-sw`); all of them are deleted on destruction, and leftovers of
/// dead test processes at construction. Throws std::runtime_error when a step
/// fails.
class netns_lab {
public:
  /// `hosts`: host name to the last byte of its address.
  explicit netns_lab(std::map<std::string, int> hosts);
  ~netns_lab();
  netns_lab(const netns_lab&) = delete;
  netns_lab& operator=(const netns_lab&) = delete;

  /// The namespace of `host` ("sw": the switch).
  std::string ns(const std::string& host) const;
  /// The address of `host` on the bridge.
  std::string addr(const std::string& host) const;

  /// Takes the switch port of `host` down (the host is cut off from all others) or up again.
  void set_port(const std::string& host, bool up);
  /// Adds an nftables rule to the input hook of `host` (table `inet otpp`,
  /// chain `in`, created on first use), e.g. "ip saddr 10.213.0.12 drop".
  void add_input_rule(const std::string& host, const std::string& rule);
  /// Removes every rule added to `host`.
  void flush_rules(const std::string& host);
  /// The packets counted by the `counter` statements of `host`'s rules.
  long counted_packets(const std::string& host);

  /// Runs a command (argv) in `host`'s namespace; throws if it fails.
  void exec(const std::string& host, std::vector<std::string> argv);

private:
  void must(std::vector<std::string> argv);
  std::string prefix_;
  std::map<std::string, int> hosts_;
  std::vector<std::string> created_;
  std::map<std::string, bool> nft_ready_;
};

/// Runs `fn` on a thread that has entered the network namespace `ns` (its
/// sockets live there); throws std::runtime_error if it cannot enter it.
void in_netns(const std::string& ns, const std::function<void()>& fn);

/// A program with its stdin and stdout on pipes (line protocol) and its
/// stderr in a file. It gets SIGKILL when the test process dies (even by
/// SIGKILL), and on destruction.
class piped_process {
public:
  piped_process(std::vector<std::string> argv, std::string stderr_file);
  ~piped_process();
  piped_process(const piped_process&) = delete;
  piped_process& operator=(const piped_process&) = delete;

  /// Writes `line` and a newline to its stdin.
  void send(const std::string& line);
  /// The first line not taken yet that starts with `prefix`, taken; nothing
  /// if none came within `bound` (or the output closed).
  std::optional<std::string> take(const std::string& prefix, std::chrono::milliseconds bound);
  /// The same for the first line that contains `text` anywhere.
  std::optional<std::string> take_containing(const std::string& text, std::chrono::milliseconds bound);
  /// The stderr file's contents so far.
  std::string log() const;
  pid_t pid() const { return pid_; }

private:
  bool read_some(std::chrono::milliseconds bound);
  std::optional<std::string> take_if(const std::function<bool(const std::string&)>& fits,
                                     std::chrono::milliseconds bound);
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string stderr_file_;
  std::string partial_;
  bool closed_ = false;
  std::vector<std::string> lines_;
};

} // namespace otpp::test
