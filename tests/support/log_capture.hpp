#pragma once

#include <memory>
#include <string>
#include <vector>

#include <spdlog/common.h>

namespace otpp::test {

class capture_sink;

/// Captures the report logger's records while alive (raw messages, one per
/// line), at level info and above whatever the level was before. Reading
/// is safe while other threads log.
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
  std::shared_ptr<capture_sink> sink_;
  spdlog::level::level_enum level_;
};

} // namespace otpp::test
