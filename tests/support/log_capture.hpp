#pragma once

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>

namespace otpp::test {

/// Captures the report logger's records while alive (raw messages, one per
/// line), at level info and above whatever the level was before.
class log_capture {
public:
  log_capture();
  ~log_capture();
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  std::vector<std::string> lines() const;
  /// Lines that start with `kind` (text format).
  std::vector<std::string> of_kind(const std::string& kind) const;

private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::level::level_enum level_;
};

} // namespace otpp::test
