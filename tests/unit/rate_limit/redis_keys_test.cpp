#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "otpp/actors/rate_limit/redis_keys.hpp"

using otpp::rate_limit::escape_part;
using otpp::rate_limit::hash_tag;
using otpp::rate_limit::redis_keys;

TEST_SUITE("rate_limit.redis_keys") {

TEST_CASE("both keys of a user key share one hash tag made of the prefix and the key") {
  redis_keys keys{"otpp", "api", "sliding_window"};
  CHECK(keys.state("user:42") == "{otpp:user%3A42}:api:sliding_window:h");
  CHECK(keys.log("user:42") == "{otpp:user%3A42}:api:sliding_window:z");
  CHECK(hash_tag(keys.state("user:42")) == "otpp:user%3A42");
  CHECK(hash_tag(keys.log("user:42")) == hash_tag(keys.state("user:42")));
}

TEST_CASE("braces in a prefix, key or name never open or close the hash tag") {
  redis_keys keys{"p{x}", "n}{", "fixed_window"};
  for (auto key : std::vector<std::string>{"{", "}", "}{", "{a}", "a}b{c", std::string("\0{}\xff", 4), ""}) {
    CAPTURE(key);
    auto state = keys.state(key);
    CHECK(state.front() == '{');
    auto tag = hash_tag(state);
    CHECK(tag.find('}') == std::string::npos);
    CHECK(tag.find('{') == std::string::npos);
    CHECK(state.compare(1, tag.size(), tag) == 0); // the first {...} is the tag
    CHECK(hash_tag(keys.log(key)) == tag);
  }
}

TEST_CASE("distinct prefixes, names, kinds and keys give distinct keys") {
  std::vector<std::string> parts{"", ":", "a", "a:", ":a", "a:b", "%", "%3A", "{", "}", "%7B", "a}", "{a"};
  std::set<std::string> seen;
  std::size_t made = 0;
  for (auto& prefix : parts)
    for (auto& name : parts)
      for (auto& key : parts)
        for (auto kind : {"fixed_window", "token_bucket:u1000"}) {
          redis_keys keys{prefix, name, kind};
          seen.insert(keys.state(key));
          seen.insert(keys.log(key));
          made += 2;
        }
  CHECK(seen.size() == made);
}

TEST_CASE("escaping writes only percent, colon and braces as hex") {
  CHECK(escape_part("a%b:c{d}e") == "a%25b%3Ac%7Bd%7De");
  CHECK(escape_part(std::string("\0\xff", 2)) == std::string("\0\xff", 2));
}

TEST_CASE("hash tags follow Redis Cluster's rule") {
  CHECK(hash_tag("{user1000}.following") == "user1000");
  CHECK(hash_tag("foo{}{bar}") == "foo{}{bar}"); // an empty first tag: the whole key
  CHECK(hash_tag("foo{{bar}}zap") == "{bar");
  CHECK(hash_tag("foo{bar}{zap}") == "bar");
  CHECK(hash_tag("no tag") == "no tag");
}

TEST_CASE("the state pattern matches this limiter's state keys only") {
  redis_keys keys{"p*", "n?", "fixed_window"};
  CHECK(keys.state_pattern() == "{p\\*:*}:n\\?:fixed_window:h");
}

}
