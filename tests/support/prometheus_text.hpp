#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace otpp::test {

/// One sample line of the Prometheus text format: its metric name, its
/// labels (values unescaped) in the order written, and its value as written.
struct prometheus_sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string value;
};

/// A text exposition read line by line, strictly.
struct prometheus_text {
  std::vector<prometheus_sample> samples;
  std::map<std::string, std::string> types; ///< family -> its `# TYPE`
  std::map<std::string, std::string> helps; ///< family -> its `# HELP` text, unescaped
};

/// Parses `text` (version 0.0.4); throws std::runtime_error naming the line
/// when a line is neither `# HELP`, `# TYPE` nor a well-formed sample.
prometheus_text parse_prometheus(const std::string& text);

/// What `promtool check metrics` said about `text`: its exit code and its
/// output (empty when clean); nullopt when promtool is not installed.
struct promtool_result {
  int code;
  std::string output;
};
std::optional<promtool_result> promtool_check(const std::string& text);

} // namespace otpp::test
