#pragma once

#include <string>

namespace otpp::rate_limit {

/// The Redis keys of one limiter, ready for Redis Cluster: both keys of a
/// user key (the state hash and the sliding window's log) are
/// `{<prefix>:<key>}:<name>:<kind>:h` and `...:z`, so that they share one hash
/// tag, the first `{...}`. Prefix, key and name are escaped (`escape_part`),
/// so the tag never holds a brace and distinct (prefix, name, kind, key)
/// never give the same key.
class redis_keys {
public:
  /// `kind`: the algorithm and anything else that changes what is stored
  /// (no glob characters).
  redis_keys(const std::string& prefix, const std::string& name, const std::string& kind);

  /// The state hash of `key`.
  std::string state(const std::string& key) const { return tagged(key) + suffix_ + "h"; }

  /// The sliding window's log of `key`.
  std::string log(const std::string& key) const { return tagged(key) + suffix_ + "z"; }

  /// A SCAN MATCH pattern that matches the state hashes of this limiter and no other key.
  std::string state_pattern() const;

private:
  std::string tagged(const std::string& key) const;

  std::string head_;   ///< "{" + escaped prefix + ":"
  std::string suffix_; ///< "}:" + escaped name + ":" + kind + ":"
};

/// `text` with '%', '{', '}' and ':' written as %25, %7B, %7D and %3A.
std::string escape_part(const std::string& text);

/// The part of `key` Redis Cluster hashes: between the first '{' and the
/// next '}' when that is not empty, else the whole key.
std::string hash_tag(const std::string& key);

} // namespace otpp::rate_limit
