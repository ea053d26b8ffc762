#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace otpp::events {

/// `text` with every byte that is not part of valid UTF-8 written as the four
/// characters `\xNN` (lower-case hex); valid UTF-8 is kept as it is. Logs,
/// JSON and the Prometheus exposition pass names and reasons through it, so
/// that any bytes come out as valid UTF-8.
std::string printable(std::string_view text);

/// A duration as log lines and reasons write it: "5 s" for whole seconds,
/// else "250 ms".
std::string duration_text(std::chrono::milliseconds d);

/// `t` in RFC 3339, UTC, with microseconds: `2026-12-02T17:29:49.965069Z`.
std::string rfc3339(std::chrono::system_clock::time_point t);

} // namespace otpp::events
