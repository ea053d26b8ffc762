#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "otpp/actors/rate_limit/fixed_window.hpp"
#include "otpp/actors/rate_limit/memory_store.hpp"

using namespace otpp::rate_limit;
using detail::compact_key;
using detail::flat_table;
using detail::hash_key;
using detail::image_of;

namespace {

// Keys of every length from 0 to 40, made of all byte values.
std::vector<std::string> keys_of_every_length() {
  std::vector<std::string> keys;
  for (std::size_t n = 0; n <= 40; ++n) {
    std::string k;
    for (std::size_t i = 0; i < n; ++i)
      k += static_cast<char>((n * 31 + i * 7) % 256);
    keys.push_back(k);
  }
  return keys;
}

} // namespace

TEST_SUITE("rate_limit.memory_store") {

TEST_CASE("a compact key holds any bytes, inline below 16 bytes and on the heap above") {
  for (auto& k : keys_of_every_length()) {
    CAPTURE(k.size());
    compact_key c;
    CHECK(c.empty());
    c.assign(k);
    CHECK_FALSE(c.empty());
    CHECK(c.view() == k);
    if (k.size() < 16)
      CHECK(c.is(image_of(k)));
    else
      CHECK(c.is_long(k));
    c.clear();
    CHECK(c.empty());
  }
}

TEST_CASE("short keys that differ in any byte or in length have different images") {
  std::set<std::pair<uint64_t, uint64_t>> images;
  std::vector<std::string> keys{"", std::string(1, '\0'), std::string(2, '\0'), "a", "b", "ab", "ba", "abc", "abcd",
                                "abcde", "abcdf", "abcdefgh", "abcdefgi", "bbcdefgh", "abcdefghijklmno",
                                "abcdefghijklmnp", "abcdefghijklmn"};
  for (auto& k : keys) {
    auto img = image_of(k);
    images.insert({img.lo, img.hi});
  }
  CHECK(images.size() == keys.size());
  CHECK(image_of("key:1").lo == image_of(std::string{"key:1"}).lo);
}

TEST_CASE("a flat table finds, inserts and erases keys of any length, across growth") {
  flat_table<int> t;
  auto keys = keys_of_every_length();
  for (int round = 0; round < 3; ++round) { // erase and insert again: tombstones are reused
    for (std::size_t i = 0; i < keys.size(); ++i)
      t.find_or_insert(keys[i], hash_key(keys[i])) = static_cast<int>(i);
    for (int i = 0; i < 5000; ++i) { // many more keys: the index grows and is rebuilt
      auto k = "key:" + std::to_string(i);
      t.find_or_insert(k, hash_key(k)) = i;
    }
    CHECK(t.size() == keys.size() + 5000);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto* v = t.find(keys[i], hash_key(keys[i]));
      REQUIRE(v != nullptr);
      CHECK(*v == static_cast<int>(i));
    }
    for (int i = 0; i < 5000; i += 2) {
      auto k = "key:" + std::to_string(i);
      t.erase(k, hash_key(k));
      CHECK(t.find(k, hash_key(k)) == nullptr);
    }
    for (int i = 1; i < 5000; i += 2) {
      auto k = "key:" + std::to_string(i);
      REQUIRE(t.find(k, hash_key(k)) != nullptr);
      CHECK(*t.find(k, hash_key(k)) == i);
    }
    CHECK(t.erase_if([](int v) { return v % 2 == 1; }) > 0);
    CHECK(t.find("key:1", hash_key("key:1")) == nullptr);
  }
  auto left = t.size();
  CHECK(t.erase_if([](int) { return true; }) == left);
  CHECK(t.size() == 0);
  CHECK(t.find("anything", hash_key("anything")) == nullptr);
  t.find_or_insert("again", hash_key("again")) = 7; // usable after giving its memory back
  CHECK(*t.find("again", hash_key("again")) == 7);
}

TEST_CASE("a fresh key gets a fresh state, also where an erased key's entry is reused") {
  flat_table<fixed_window::state> t;
  auto& s = t.find_or_insert("a", hash_key("a"));
  s.count = 5;
  t.erase("a", hash_key("a"));
  auto& fresh = t.find_or_insert("b", hash_key("b"));
  CHECK(fresh.count == 0);
  CHECK(fresh.ends == fixed_window::none);
}

}
