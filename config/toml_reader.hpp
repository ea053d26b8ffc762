#pragma once

// Detail of the loader, not installed: typed reads of TOML values that
// collect every problem with its position.

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <toml++/toml.h>

#include "otpp/config/loader.hpp"
#include "otpp/supervision/arguments.hpp"
#include "otpp/supervision/child_spec.hpp"

namespace otpp::config {

/// `path.key`, or `key` at the top.
std::string join(const std::string& path, const std::string& key);

inline std::chrono::milliseconds ms(int64_t x) {
  return std::chrono::milliseconds{x};
}

/// The largest integer a double holds exactly: the bound of counts and limits.
constexpr int64_t big = int64_t{1} << 53;

/// The longest duration a file may give: the longest restart-intensity
/// period (366 days), in nanoseconds still far inside int64, so that no
/// conversion or sum of durations overflows.
constexpr int64_t max_duration_ms = supervision::max_period.count();

/// An error's text without its code name ("unknown child kind 'x' ...").
std::string text_of(const caf::error& err);

/// Reads one table after another, collecting every problem with its position.
class toml_reader {
public:
  /// `overridden`: dotted path -> the environment variable that set it.
  toml_reader(std::string source, std::map<std::string, std::string> overridden)
    : source_(std::move(source)), overridden_(std::move(overridden)) {}

  std::vector<problem> problems;

  void add(const toml::node* at, const std::string& path, std::string message);
  void add(const toml::source_region* at, const std::string& path, std::string message);

  /// Every key of `t` must be one of `allowed` (else "unknown key", with the closest).
  void only(const toml::table& t, const std::string& path, const std::vector<std::string>& allowed);

  const toml::table* table(const toml::table& t, const std::string& path, const char* key);
  std::optional<int64_t> integer(const toml::table& t, const std::string& path, const char* key, int64_t low,
                                 int64_t high);
  /// A number in [low, high]; `low_open`: in (low, high].
  std::optional<double> number(const toml::table& t, const std::string& path, const char* key, double low,
                               double high, bool low_open = false);
  std::optional<bool> boolean(const toml::table& t, const std::string& path, const char* key);
  std::optional<std::string> text(const toml::table& t, const std::string& path, const char* key);
  /// A string that must be one of `choices`.
  std::optional<std::string> choice(const toml::table& t, const std::string& path, const char* key,
                                    std::initializer_list<const char*> choices);

  /// A kind's arguments table at `path` checked against the kind's
  /// declaration, each problem at its key; the checked values, or nothing.
  std::optional<supervision::arguments> kind_arguments(const toml::table* args, const toml::node* owner,
                                                       const std::string& path,
                                                       const std::vector<supervision::argument_spec>& specs);

  /// A component's own validation, reported at its table.
  void check(const caf::error& err, const toml::table& t, const std::string& path);

private:
  std::string source_;
  std::map<std::string, std::string> overridden_;
};

/// Longest name of a node or component.
constexpr std::size_t max_name_length = 128;

/// Why `name` cannot name a node or component (it goes into log lines,
/// metrics and registered names), or "".
std::string invalid_name(const std::string& name);

/// Calls `fn(name, table, path)` for every table under `section` whose name
/// is valid, in file order.
void each_named(toml_reader& r, const toml::table& root, const char* section,
                const std::function<void(const std::string&, const toml::table&, const std::string&)>& fn);

} // namespace otpp::config
