#include "tests/support/prometheus_text.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/child_process.hpp"

namespace otpp::test {

namespace {

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

// Reads a line of the exposition; `at` moves past what it read.
class line_reader {
public:
  line_reader(const std::string& line, std::size_t number) : line_(line), number_(number) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("line " + std::to_string(number_) + ": " + what + ": " + line_);
  }
  bool at_end() const { return at_ == line_.size(); }
  char peek() const { return at_end() ? '\0' : line_[at_]; }
  void expect(char c) {
    if (peek() != c)
      fail(std::string{"expected '"} + c + "'");
    ++at_;
  }
  std::string name() {
    auto start = at_;
    while (!at_end() && name_char(line_[at_], at_ == start))
      ++at_;
    if (at_ == start)
      fail("expected a name");
    return line_.substr(start, at_ - start);
  }
  // A quoted label value; `\\`, `\"` and `\n` are the only escapes.
  std::string quoted() {
    expect('"');
    std::string out;
    for (;;) {
      if (at_end())
        fail("unterminated label value");
      char c = line_[at_++];
      if (c == '"')
        return out;
      if (c == '\n')
        fail("raw newline in a label value");
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = peek();
      ++at_;
      if (e == '\\' || e == '"')
        out += e;
      else if (e == 'n')
        out += '\n';
      else
        fail("unknown escape in a label value");
    }
  }
  std::string rest() {
    auto out = line_.substr(at_);
    at_ = line_.size();
    return out;
  }

private:
  const std::string& line_;
  std::size_t number_;
  std::size_t at_ = 0;
};

std::string unescape_help(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '\\' || text[i + 1] == 'n')) {
      out += text[++i] == 'n' ? '\n' : '\\';
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs{path ? path : "/usr/bin:/bin"};
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0)
      return dir + "/" + program;
  return {};
}

} // namespace

prometheus_text parse_prometheus(const std::string& text) {
  if (!text.empty() && text.back() != '\n')
    throw std::runtime_error("the text does not end with a newline");
  prometheus_text out;
  std::istringstream lines{text};
  std::size_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    line_reader r{line, ++number};
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      bool help = line[2] == 'H';
      r.expect('#');
      r.expect(' ');
      r.name();
      r.expect(' ');
      auto family = r.name();
      r.expect(' ');
      auto value = r.rest();
      if (help)
        out.helps[family] = unescape_help(value);
      else if (value == "counter" || value == "gauge" || value == "histogram" || value == "summary" || value == "untyped")
        out.types[family] = value;
      else
        r.fail("unknown type");
      continue;
    }
    if (line.empty() || line[0] == '#')
      r.fail("an empty line or a comment");
    prometheus_sample s;
    s.name = r.name();
    if (r.peek() == '{') {
      r.expect('{');
      while (r.peek() != '}') {
        auto label = r.name();
        r.expect('=');
        s.labels.emplace_back(label, r.quoted());
        if (r.peek() == ',')
          r.expect(',');
        else if (r.peek() != '}')
          r.fail("expected ',' or '}'");
      }
      r.expect('}');
    }
    r.expect(' ');
    s.value = r.rest();
    if (s.value.empty() || s.value.find(' ') != std::string::npos)
      r.fail("expected one value");
    out.samples.push_back(std::move(s));
  }
  return out;
}

std::optional<promtool_result> promtool_check(const std::string& text) {
  auto promtool = find_in_path("promtool");
  if (promtool.empty())
    return std::nullopt;
  char name[] = "/tmp/otpp-metrics-XXXXXX";
  int fd = ::mkstemp(name);
  if (fd < 0)
    throw std::runtime_error("cannot create a temporary file for promtool");
  ::close(fd);
  std::ofstream{name, std::ios::binary} << text;
  auto r = run({"sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool, name});
  ::unlink(name);
  return promtool_result{r.code, r.output};
}

} // namespace otpp::test
