#pragma once

// Detail of the loader, not installed: bounds on a file's shape, checked
// before toml++ parses it (its parser recurses once per key part and per
// nesting level, so a deep enough file would overflow the stack).

#include <optional>
#include <string>

#include "otpp/config/loader.hpp"

namespace otpp::config {

/// Most parts a dotted key or table header may have (`a.b.c` has 3).
constexpr int max_key_parts = 64;

/// Most levels arrays and inline tables may nest.
constexpr int max_nesting = 64;

/// The first place where `text` exceeds a bound, as a problem of `source`, or nothing.
std::optional<problem> check_shape(const std::string& text, const std::string& source);

} // namespace otpp::config
