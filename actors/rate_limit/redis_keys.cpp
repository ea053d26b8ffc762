#include "otpp/actors/rate_limit/redis_keys.hpp"

namespace otpp::rate_limit {

namespace {

// The glob pattern that matches `text` literally.
std::string glob_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

} // namespace

redis_keys::redis_keys(const std::string& prefix, const std::string& name, const std::string& kind)
  : head_("{" + escape_part(prefix) + ":"), suffix_("}:" + escape_part(name) + ":" + kind + ":") {}

std::string redis_keys::tagged(const std::string& key) const {
  std::string out;
  out.reserve(head_.size() + key.size() + suffix_.size() + 1);
  out += head_;
  out += escape_part(key);
  return out;
}

std::string redis_keys::state_pattern() const {
  // The escaped key holds no '}': '*' cannot reach into the suffix.
  return glob_escape(head_) + "*" + glob_escape(suffix_ + "h");
}

std::string escape_part(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '%': out += "%25"; break;
      case ':': out += "%3A"; break;
      case '{': out += "%7B"; break;
      case '}': out += "%7D"; break;
      default: out += c;
    }
  }
  return out;
}

std::string hash_tag(const std::string& key) {
  auto open = key.find('{');
  if (open == std::string::npos)
    return key;
  auto close = key.find('}', open + 1);
  if (close == std::string::npos || close == open + 1)
    return key;
  return key.substr(open + 1, close - open - 1);
}

} // namespace otpp::rate_limit
