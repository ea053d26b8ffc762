#include "tests/support/log_capture.hpp"

#include <algorithm>

#include "supervision/reports.hpp"

namespace otpp::test {

log_capture::log_capture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
  sink_->set_pattern("%v");
  auto logger = supervision::report_logger();
  logger->sinks().push_back(sink_);
  level_ = logger->level();
  logger->set_level(spdlog::level::info); // whatever an earlier test (a node's [logging]) left
}

log_capture::~log_capture() {
  auto& sinks = supervision::report_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  supervision::report_logger()->set_level(level_);
}

std::vector<std::string> log_capture::lines() const {
  sink_->flush();
  std::vector<std::string> result;
  std::istringstream in{out_.str()};
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

std::vector<std::string> log_capture::of_kind(const std::string& kind) const {
  std::vector<std::string> result;
  for (auto& line : lines())
    if (line.compare(0, kind.size() + 1, kind + " ") == 0)
      result.push_back(line);
  return result;
}

} // namespace otpp::test
