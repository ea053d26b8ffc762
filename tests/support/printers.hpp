#pragma once

#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace doctest {

/// Prints string lists in failed checks, e.g. {"start:a", "stop:a:killed"}.
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& xs) {
    std::string out = "{";
    for (const auto& x : xs)
      out += (out.size() > 1 ? ", \"" : "\"") + x + "\"";
    return (out + "}").c_str();
  }
};

} // namespace doctest
