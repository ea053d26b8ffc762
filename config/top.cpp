#include "otpp/config/top.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <httplib.h>

#include "otpp/config/top_view.hpp"

namespace otpp::config {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr int exit_usage = 64; // EX_USAGE

struct options {
  std::string url = default_top_url;
  std::string token;
  std::string ca_file;
  long iterations = 0; ///< 0: until stopped
};

std::string trimmed(const std::string& s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// Throws std::runtime_error saying what is wrong.
options parse(int argc, char** argv) {
  options o;
  bool url_given = false;
  std::string token_file;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::runtime_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--token-file") {
      token_file = value();
    } else if (arg == "--ca-file") {
      o.ca_file = value();
    } else if (arg == "--iterations") {
      auto n = value();
      if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos || std::stol(n) < 1)
        throw std::runtime_error("--iterations needs a positive number, not '" + n + "'");
      o.iterations = std::stol(n);
    } else if (!url_given && !arg.empty() && arg[0] != '-') {
      o.url = arg;
      url_given = true;
    } else {
      throw std::runtime_error("unexpected argument '" + arg + "'");
    }
  }
  o.url = top::normalize_url(o.url);
  if (!token_file.empty()) {
    std::ifstream in{token_file};
    if (!in)
      throw std::runtime_error("--token-file: cannot read '" + token_file + "'");
    std::ostringstream text;
    text << in.rdbuf();
    o.token = trimmed(text.str());
    if (o.token.empty())
      throw std::runtime_error("--token-file: '" + token_file + "' holds no token");
  } else if (const char* env = std::getenv("OTPP_TOKEN")) {
    o.token = trimmed(env);
  }
  return o;
}

// Signals reach the loop as bytes on a pipe.
int signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int sig) {
  auto saved = errno;
  auto byte = static_cast<char>(sig);
  [[maybe_unused]] auto n = ::write(signal_pipe[1], &byte, 1);
  errno = saved;
}

// SIGINT, SIGTERM (and SIGWINCH) handled while it lives, the previous
// handlers restored after.
class signal_watch {
public:
  signal_watch() {
    if (::pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::runtime_error(std::string{"cannot create a pipe: "} + std::strerror(errno));
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i)
      ::sigaction(signals[i], &sa, &previous_[i]);
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals)
      sigaddset(&set, s);
    ::pthread_sigmask(SIG_UNBLOCK, &set, &mask_);
  }
  ~signal_watch() {
    ::pthread_sigmask(SIG_SETMASK, &mask_, nullptr);
    for (int i = 0; i < 3; ++i)
      ::sigaction(signals[i], &previous_[i], nullptr);
    ::close(signal_pipe[0]);
    ::close(signal_pipe[1]);
  }
  signal_watch(const signal_watch&) = delete;
  signal_watch& operator=(const signal_watch&) = delete;

  int fd() const { return signal_pipe[0]; }

private:
  static constexpr int signals[3] = {SIGINT, SIGTERM, SIGWINCH};
  struct sigaction previous_[3];
  sigset_t mask_;
};

// The terminal in raw mode on the alternate screen, cursor hidden, while it
// lives: keys arrive one by one, unechoed, Ctrl-C as a byte.
class raw_terminal {
public:
  raw_terminal() {
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0)
      throw std::runtime_error(std::string{"cannot read the terminal's mode: "} + std::strerror(errno));
    auto raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~static_cast<tcflag_t>(IXON | ICRNL);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0)
      throw std::runtime_error(std::string{"cannot set the terminal's mode: "} + std::strerror(errno));
    write_all("\x1b[?1049h\x1b[?25l");
  }
  ~raw_terminal() {
    write_all("\x1b[?25h\x1b[?1049l");
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  raw_terminal(const raw_terminal&) = delete;
  raw_terminal& operator=(const raw_terminal&) = delete;

  static void write_all(const std::string& text) {
    for (std::size_t done = 0; done < text.size();) {
      auto n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      done += static_cast<std::size_t>(n);
    }
  }

  // Draws `lines` from the top left corner, each line's rest and the
  // screen's rest cleared.
  static void draw(const std::vector<std::string>& lines) {
    std::string out = "\x1b[H";
    for (std::size_t i = 0; i < lines.size(); ++i)
      out += lines[i] + "\x1b[K" + (i + 1 < lines.size() ? "\r\n" : "");
    write_all(out + "\x1b[J");
  }

  static std::pair<std::size_t, std::size_t> size() {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
      return {ws.ws_col, ws.ws_row};
    return {80, 24};
  }

private:
  termios saved_{};
};

// One poll of /status into the view.
void poll_status(httplib::Client& client, top::view& v) {
  auto res = client.Get("/status");
  if (!res) {
    v.fail("cannot reach " + v.url + ": " + httplib::to_string(res.error()));
    return;
  }
  if (res->status != 200) {
    v.fail(v.url + "/status answered " + std::to_string(res->status)
           + (res->status == 401 ? " (give the token with --token-file FILE or OTPP_TOKEN)" : ""));
    return;
  }
  try {
    auto at = std::chrono::duration<double>(clock_type::now().time_since_epoch()).count();
    v.update(top::read_status(res->body, at));
  } catch (const std::exception& e) {
    v.fail(e.what());
  }
}

enum class key_action { none, quit, redraw };

// Applies the keys in `input` to `scroll`.
key_action keys(const std::string& input, std::size_t& scroll, std::size_t page) {
  auto action = key_action::none;
  for (std::size_t i = 0; i < input.size(); ++i) {
    auto rest = input.substr(i);
    auto is = [&](const char* seq) {
      if (rest.compare(0, std::strlen(seq), seq) != 0)
        return false;
      i += std::strlen(seq) - 1;
      return true;
    };
    char c = input[i];
    if (c == 'q' || c == 'Q' || c == 3 || c == 4) // Ctrl-C, Ctrl-D
      return key_action::quit;
    if (is("\x1b[A") || c == 'k')
      scroll = scroll > 0 ? scroll - 1 : 0;
    else if (is("\x1b[B") || c == 'j')
      ++scroll;
    else if (is("\x1b[5~"))
      scroll = scroll > page ? scroll - page : 0;
    else if (is("\x1b[6~") || c == ' ')
      scroll += page;
    else if (is("\x1b[H") || c == 'g')
      scroll = 0;
    else if (is("\x1b[F") || c == 'G')
      scroll = static_cast<std::size_t>(-1) / 2;
    else
      continue;
    action = key_action::redraw;
  }
  return action;
}

int run(const options& o) {
  bool terminal = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  signal_watch signals;
  std::unique_ptr<raw_terminal> raw;
  if (terminal)
    raw = std::make_unique<raw_terminal>();
  httplib::Client client{o.url};
  client.set_connection_timeout(std::chrono::seconds{1});
  client.set_read_timeout(std::chrono::seconds{2});
  client.set_write_timeout(std::chrono::seconds{2});
  if (!o.token.empty())
    client.set_bearer_token_auth(o.token);
  if (!o.ca_file.empty())
    client.set_ca_cert_path(o.ca_file);
  top::view v;
  v.url = o.url;
  std::size_t scroll = 0;
  auto draw = [&] {
    if (terminal) {
      auto [width, height] = raw_terminal::size();
      raw_terminal::draw(top::screen(v, width, height, scroll));
      return;
    }
    std::string out;
    for (auto& line : top::lines(v))
      out += line + "\n";
    std::cout << out << std::endl;
  };
  auto next_poll = clock_type::now();
  for (long polls = 0;;) {
    if (clock_type::now() >= next_poll) {
      poll_status(client, v);
      draw();
      next_poll = std::max(next_poll + std::chrono::seconds{1}, clock_type::now());
      if (o.iterations > 0 && ++polls >= o.iterations)
        return 0;
    }
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_poll - clock_type::now()).count();
    pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {terminal ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(std::max<long long>(wait_ms, 0))) <= 0)
      continue;
    if (fds[0].revents != 0) {
      char sig = 0;
      while (::read(signals.fd(), &sig, 1) == 1)
        if (sig != SIGWINCH)
          return 0;
      draw();
    }
    if (fds[1].revents != 0) {
      char buf[64];
      auto n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0)
        return 0; // the terminal is gone
      auto [width, height] = raw_terminal::size();
      (void) width;
      auto action = keys(std::string(buf, static_cast<std::size_t>(n)), scroll, height > 4 ? height - 4 : 1);
      if (action == key_action::quit)
        return 0;
      if (action == key_action::redraw)
        draw();
    }
  }
}

} // namespace

int top_main(int argc, char** argv) {
  auto usage = std::string{"usage: otpp-node top [--token-file FILE] [--ca-file FILE] [--iterations N] [URL]\n"}
               + "       URL defaults to " + default_top_url + "; the token may also come from OTPP_TOKEN\n";
  if (argc == 2 && std::strcmp(argv[1], "--help") == 0) {
    std::cout << usage;
    return 0;
  }
  options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "otpp-node top: " << e.what() << "\n" << usage;
    return exit_usage;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "otpp-node top: " << e.what() << "\n";
    return 1;
  }
}

} // namespace otpp::config
