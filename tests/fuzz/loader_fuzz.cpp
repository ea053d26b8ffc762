// Fuzz target: the TOML loader with environment overrides.
//
// An input is a TOML text, optionally followed by a line `#--env--` and
// environment overrides, one `NAME=value` per line (NAME gets the OTPP__
// prefix if it lacks it). The loader must never crash, hang or leak, and must
// answer either a configuration or at least one problem, each with a message.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "otpp/config/loader.hpp"

namespace {

constexpr std::string_view env_separator = "#--env--\n";
constexpr std::string_view env_prefix = "OTPP__";

struct loader_input {
  std::string toml;
  otpp::config::environment env;
};

// The overrides of `lines`: one NAME=value per line, lines without '=' skipped.
otpp::config::environment overrides(std::string_view lines) {
  otpp::config::environment env;
  while (!lines.empty()) {
    auto end = lines.find('\n');
    auto line = lines.substr(0, end);
    lines = end == std::string_view::npos ? std::string_view{} : lines.substr(end + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      continue;
    std::string name{line.substr(0, eq)};
    if (name.rfind(env_prefix, 0) != 0)
      name.insert(0, env_prefix);
    env[name] = std::string{line.substr(eq + 1)};
  }
  return env;
}

loader_input split(std::string_view data) {
  auto at = data.rfind(env_separator);
  if (at == std::string_view::npos || (at > 0 && data[at - 1] != '\n'))
    return {std::string{data}, {}};
  return {std::string{data.substr(0, at)}, overrides(data.substr(at + env_separator.size()))};
}

void require(bool holds, const char* what) {
  if (holds)
    return;
  std::fprintf(stderr, "loader_fuzz: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto input = split({reinterpret_cast<const char*>(data), size});
  auto result = otpp::config::load_string(input.toml, "fuzz.toml", input.env);
  require(result.config.has_value() == result.problems.empty(), "a configuration and problems, or neither");
  for (auto& p : result.problems) {
    require(!p.message.empty(), "a problem without a message");
    require(p.line >= 0 && p.column >= 0, "a problem at a negative position");
    require(!p.to_string().empty(), "a problem that renders empty");
  }
  return 0;
}
