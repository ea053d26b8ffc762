#include "tests/support/log_capture.hpp"

#include <algorithm>
#include <mutex>
#include <sstream>

#include <spdlog/sinks/base_sink.h>

#include "otpp/supervision/reports.hpp"

namespace otpp::test {

// Keeps the formatted records; read under the same lock the logging threads take.
class capture_sink : public spdlog::sinks::base_sink<std::mutex> {
public:
  std::string text() {
    std::lock_guard<std::mutex> guard{mutex_};
    return text_;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line; // "%v" and a newline, unless the report format changes the pattern
    formatter_->format(msg, line);
    text_.append(line.data(), line.size());
  }
  void flush_() override {}

private:
  std::string text_;
};

log_capture::log_capture() : sink_(std::make_shared<capture_sink>()) {
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
  std::vector<std::string> result;
  std::istringstream in{sink_->text()};
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
