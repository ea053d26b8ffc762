#include "otpp/config/loader.hpp"

#include <algorithm>
#include <fstream>

#include <openssl/evp.h>

#include "otpp/config/sections.hpp"
#include "otpp/config/shape_check.hpp"

namespace otpp::config {

std::string problem::to_string() const {
  return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + path + ": " + message;
}

namespace {

constexpr std::size_t max_file_bytes = 1024 * 1024;

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i)
    out += {hex[digest[i] >> 4], hex[digest[i] & 0xf]};
  return out;
}

node_config read(toml_reader& r, const toml::table& root) {
  node_config c;
  r.only(root, "", {"node", "logging", "supervisor", "supervisors", "children", "rate_limiting", "rate_limiters",
                    "pools", "breakers", "memory", "http", "cluster", "demo"});
  read_node(r, root, c);
  read_rate_limiting(r, root, c);
  read_limiters(r, root, c);
  read_pools(r, root, c);
  read_breakers(r, root, c);
  read_memory(r, root, c);
  read_cluster(r, root, c);
  read_tree(r, root, c);
  return c;
}

} // namespace

load_result load_string(const std::string& text, const std::string& source, const environment& env) {
  load_result result;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    result.problems.push_back({source, 1, 1, "", "the file is empty"});
    return result;
  }
  if (auto bad_shape = check_shape(text, source)) {
    result.problems.push_back(std::move(*bad_shape));
    return result;
  }
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    result.problems.push_back({source, static_cast<int>(e.source().begin.line),
                               static_cast<int>(e.source().begin.column), "", std::string{e.description()}});
    return result;
  }
  std::vector<problem> env_problems;
  auto overridden = apply_overrides(root, env, env_problems);
  toml_reader r{source, overridden};
  auto config = read(r, root);
  // In file order, as a compiler reports; those without a position after them.
  std::stable_sort(r.problems.begin(), r.problems.end(), [](const problem& a, const problem& b) {
    return std::pair{a.line == 0, std::pair{a.line, a.column}} < std::pair{b.line == 0, std::pair{b.line, b.column}};
  });
  result.problems = std::move(env_problems);
  result.problems.insert(result.problems.end(), r.problems.begin(), r.problems.end());
  if (result.problems.empty())
    result.config = std::move(config);
  return result;
}

load_result load_file(const std::string& path, const environment& env) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return {std::nullopt, {{path, 0, 0, "", "cannot read the file"}}, {}};
  std::string text(max_file_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_file_bytes)
    return {std::nullopt, {{path, 0, 0, "", "the file is larger than 1 MiB"}}, {}};
  auto result = load_string(text, path, env);
  result.sha256 = sha256_hex(text);
  return result;
}

} // namespace otpp::config
