#include "otpp/actors/events/event.hpp"

namespace otpp::events {

const char* to_string(level x) {
  switch (x) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warning: return "warning";
    case level::error: return "error";
  }
  return "unknown";
}

const char* name_of(const event& e) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::name; }, e);
}

level level_of(const event& e) {
  return std::visit([](const auto& x) { return x.severity(); }, e);
}

} // namespace otpp::events
