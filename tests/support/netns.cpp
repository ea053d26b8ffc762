#include "tests/support/netns.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/child_process.hpp"

namespace otpp::test {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (auto& a : argv)
    out += (out.empty() ? "" : " ") + a;
  return out;
}

// `run`, or code 127 if the program cannot start.
run_result try_run(std::vector<std::string> argv) {
  try {
    return run(std::move(argv));
  } catch (const std::exception& e) {
    return {127, e.what()};
  }
}

std::vector<std::string> namespaces() {
  std::vector<std::string> out;
  std::istringstream lines{try_run({"ip", "netns", "list"}).output};
  for (std::string line; std::getline(lines, line);)
    if (auto name = line.substr(0, line.find(' ')); !name.empty())
      out.push_back(name);
  return out;
}

// Kills what runs in `ns` and deletes it.
void delete_namespace(const std::string& ns) {
  std::istringstream pids{try_run({"ip", "netns", "pids", ns}).output};
  for (std::string pid; pids >> pid;)
    if (auto p = std::atoi(pid.c_str()); p > 1 && p != ::getpid())
      ::kill(p, SIGKILL);
  try_run({"ip", "netns", "del", ns});
}

// Whether `pid` runs (a zombie, killed and not yet reaped, does not).
bool alive(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno != EPERM)
    return false;
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')'); // "pid (comm) state ..."
  return close == std::string::npos || line.size() < close + 3 || line[close + 2] != 'Z';
}

} // namespace

const std::string& netns_unavailable() {
  static const std::string reason = []() -> std::string {
    std::string who = ::geteuid() == 0 ? "" : " (not running as root)";
    if (try_run({"ip", "-V"}).code != 0)
      return "the ip command (iproute2) is not installed";
    if (try_run({"nft", "--version"}).code != 0)
      return "the nft command (nftables) is not installed";
    auto probe = "otpp-" + std::to_string(::getpid()) + "-probe";
    auto r = try_run({"ip", "netns", "add", probe});
    if (r.code != 0)
      return "ip netns add failed" + who + ": " + trimmed(r.output);
    std::string why;
    for (auto& step : std::vector<std::vector<std::string>>{
           {"ip", "-n", probe, "link", "add", "br0", "type", "bridge"},
           {"ip", "-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"},
           {"ip", "netns", "exec", probe, "nft", "add", "table", "inet", "otpp"}}) {
      r = try_run(step);
      if (r.code != 0) {
        why = "'" + joined(step) + "' failed" + who + ": " + trimmed(r.output);
        break;
      }
    }
    delete_namespace(probe);
    return why;
  }();
  return reason;
}

void remove_stale_namespaces() {
  static const std::regex ours{"^otpp-([0-9]+)-.*"};
  for (auto& ns : namespaces()) {
    std::smatch m;
    if (!std::regex_match(ns, m, ours))
      continue;
    auto pid = static_cast<pid_t>(std::stol(m[1]));
    if (pid == ::getpid() || alive(pid))
      continue; // its test still runs
    delete_namespace(ns);
  }
}

netns_lab::netns_lab(std::map<std::string, int> hosts)
  : prefix_("otpp-" + std::to_string(::getpid()) + "-"), hosts_(std::move(hosts)) {
  remove_stale_namespaces();
  try {
    auto sw = ns("sw");
    must({"ip", "netns", "add", sw});
    created_.push_back(sw);
    must({"ip", "-n", sw, "link", "add", "br0", "type", "bridge"});
    must({"ip", "-n", sw, "link", "set", "br0", "up"});
    for (auto& [host, last] : hosts_) {
      auto n = ns(host);
      must({"ip", "netns", "add", n});
      created_.push_back(n);
      must({"ip", "-n", n, "link", "set", "lo", "up"});
      must({"ip", "link", "add", "eth0", "netns", n, "type", "veth", "peer", "name", "p-" + host, "netns", sw});
      must({"ip", "-n", sw, "link", "set", "p-" + host, "master", "br0"});
      must({"ip", "-n", sw, "link", "set", "p-" + host, "up"});
      must({"ip", "-n", n, "addr", "add", addr(host) + "/24", "dev", "eth0"});
      must({"ip", "-n", n, "link", "set", "eth0", "up"});
    }
  } catch (...) {
    for (auto i = created_.rbegin(); i != created_.rend(); ++i)
      delete_namespace(*i);
    throw;
  }
}

netns_lab::~netns_lab() {
  for (auto i = created_.rbegin(); i != created_.rend(); ++i)
    delete_namespace(*i);
}

std::string netns_lab::ns(const std::string& host) const {
  return prefix_ + host;
}

std::string netns_lab::addr(const std::string& host) const {
  return "10.213.0." + std::to_string(hosts_.at(host));
}

void netns_lab::must(std::vector<std::string> argv) {
  auto r = try_run(argv);
  if (r.code != 0)
    throw std::runtime_error("'" + joined(argv) + "' failed: " + trimmed(r.output));
}

void netns_lab::exec(const std::string& host, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"ip", "netns", "exec", ns(host)});
  must(std::move(argv));
}

void netns_lab::set_port(const std::string& host, bool up) {
  must({"ip", "-n", ns("sw"), "link", "set", "p-" + host, up ? "up" : "down"});
}

void netns_lab::add_input_rule(const std::string& host, const std::string& rule) {
  if (!nft_ready_[host]) {
    exec(host, {"nft", "add", "table", "inet", "otpp"});
    exec(host, {"nft", "add", "chain", "inet", "otpp", "in", "{ type filter hook input priority 0; policy accept; }"});
    nft_ready_[host] = true;
  }
  std::vector<std::string> argv{"nft", "add", "rule", "inet", "otpp", "in"};
  std::istringstream words{rule};
  for (std::string w; words >> w;)
    argv.push_back(w);
  exec(host, argv);
}

void netns_lab::flush_rules(const std::string& host) {
  if (nft_ready_[host])
    exec(host, {"nft", "flush", "chain", "inet", "otpp", "in"});
}

long netns_lab::counted_packets(const std::string& host) {
  if (!nft_ready_[host])
    return 0;
  auto r = try_run({"ip", "netns", "exec", ns(host), "nft", "list", "chain", "inet", "otpp", "in"});
  static const std::regex counter{"counter packets ([0-9]+)"};
  long sum = 0;
  for (auto i = std::sregex_iterator(r.output.begin(), r.output.end(), counter); i != std::sregex_iterator(); ++i)
    sum += std::stol((*i)[1]);
  return sum;
}

void in_netns(const std::string& ns, const std::function<void()>& fn) {
  std::exception_ptr failed;
  std::thread t([&] {
    try {
      int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        throw std::runtime_error("cannot open namespace " + ns + ": " + std::strerror(errno));
      int rc = ::setns(fd, CLONE_NEWNET);
      int err = errno;
      ::close(fd);
      if (rc != 0)
        throw std::runtime_error("cannot enter namespace " + ns + ": " + std::strerror(err));
      fn();
    } catch (...) {
      failed = std::current_exception();
    }
  });
  t.join();
  if (failed)
    std::rethrow_exception(failed);
}

piped_process::piped_process(std::vector<std::string> argv, std::string stderr_file)
  : stderr_file_(std::move(stderr_file)) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    throw std::runtime_error("pipe failed");
  }
  int err = ::open(stderr_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  auto parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) { // only async-signal-safe calls until exec
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    if (err >= 0)
      ::dup2(err, STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  if (err >= 0)
    ::close(err);
  if (pid_ < 0) {
    ::close(in[1]);
    ::close(out[0]);
    throw std::runtime_error("cannot start " + argv.at(0));
  }
  in_ = in[1];
  out_ = out[0];
}

piped_process::~piped_process() {
  if (in_ >= 0)
    ::close(in_);
  if (out_ >= 0)
    ::close(out_);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void piped_process::send(const std::string& line) {
  auto text = line + "\n";
  for (std::size_t done = 0; done < text.size();) {
    auto n = ::write(in_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw std::runtime_error("cannot write to process " + std::to_string(pid_));
    done += static_cast<std::size_t>(n);
  }
}

bool piped_process::read_some(std::chrono::milliseconds bound) {
  pollfd p{out_, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(std::max<long>(0, bound.count())));
  if (ready <= 0)
    return false;
  char buf[4096];
  auto n = ::read(out_, buf, sizeof buf);
  if (n < 0 && errno == EINTR)
    return true;
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  partial_.append(buf, static_cast<std::size_t>(n));
  for (std::size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
    lines_.push_back(partial_.substr(0, nl));
    partial_.erase(0, nl + 1);
  }
  return true;
}

std::optional<std::string> piped_process::take(const std::string& prefix, std::chrono::milliseconds bound) {
  return take_if([&](const std::string& line) { return line.compare(0, prefix.size(), prefix) == 0; }, bound);
}

std::optional<std::string> piped_process::take_containing(const std::string& text, std::chrono::milliseconds bound) {
  return take_if([&](const std::string& line) { return line.find(text) != std::string::npos; }, bound);
}

std::optional<std::string> piped_process::take_if(const std::function<bool(const std::string&)>& fits,
                                                  std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    for (auto i = lines_.begin(); i != lines_.end(); ++i)
      if (fits(*i)) {
        auto line = *i;
        lines_.erase(i);
        return line;
      }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || closed_)
      return std::nullopt;
    read_some(left);
  }
}

std::string piped_process::log() const {
  std::ifstream in{stderr_file_};
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

} // namespace otpp::test
